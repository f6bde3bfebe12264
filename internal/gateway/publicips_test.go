package gateway

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/config"
)

func TestPublicIPs(t *testing.T) {
	host := func() ([]netip.Addr, error) {
		return addrs("::1", "10.213.0.2", "fe80::1", "127.0.0.1", "169.254.7.7", "2001:db8::5", "::ffff:192.0.2.9", "127.0.0.2"), nil
	}
	tests := []struct {
		name    string
		media   config.Media
		hostIPs func() ([]netip.Addr, error)
		want    []netip.Addr
		wantErr string
	}{
		{"auto on 0.0.0.0: IPv4, loopback first, no link-local", mediaBlock("0.0.0.0:10000", config.PublicIPs{Auto: true}), host,
			addrs("127.0.0.1", "127.0.0.2", "10.213.0.2", "192.0.2.9"), ""},
		{"auto on ::: IPv6", mediaBlock("[::]:10000", config.PublicIPs{Auto: true}), host,
			addrs("::1", "2001:db8::5"), ""},
		{"auto on one address: that address (the engine's default)", mediaBlock("127.0.0.1:10000", config.PublicIPs{Auto: true}), nil,
			nil, ""},
		{"a list is offered as written", mediaBlock("0.0.0.0:10000", config.PublicIPs{IPs: addrs("203.0.113.5")}), nil,
			addrs("203.0.113.5"), ""},
		{"auto with only link-local", mediaBlock("0.0.0.0:10000", config.PublicIPs{Auto: true}),
			func() ([]netip.Addr, error) { return addrs("169.254.1.1", "::1"), nil },
			nil, `media.public_ips: "auto": no usable IPv4 address`},
		{"interfaces unreadable", mediaBlock("0.0.0.0:10000", config.PublicIPs{Auto: true}),
			func() ([]netip.Addr, error) { return nil, errors.New("netlink: permission denied") },
			nil, `media.public_ips: "auto": netlink: permission denied`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := publicIPs(tt.media, tt.hostIPs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestInterfaceIPsHasLoopback: the machine's own interfaces are read, lo's
// 127.0.0.1 among them (every test machine has lo up).
func TestInterfaceIPsHasLoopback(t *testing.T) {
	ips, err := interfaceIPs()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ips, netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("interface addresses %v lack 127.0.0.1", ips)
	}
}

func mediaBlock(listen string, p config.PublicIPs) config.Media {
	return config.Media{WebRTCListen: netip.MustParseAddrPort(listen), PublicIPs: p}
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}
