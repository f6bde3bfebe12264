package registrar

import (
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestOverFlow: a Contact is used as registered unless outbound was asked
// for, the REGISTER came over a connection, or NAT is detected.
func TestOverFlow(t *testing.T) {
	udp := func(src string) Flow {
		return Flow{ID: "udp:" + src, Transport: "UDP", Remote: netip.MustParseAddrPort(src)}
	}
	tests := []struct {
		name     string
		contact  string
		flow     Flow
		outbound bool
		want     bool
	}{
		{"same host, another port", "sip:uas@127.0.0.1:5090", udp("127.0.0.1:5091"), false, false},
		{"same host and port", "sip:bob@192.0.2.7:5060", udp("192.0.2.7:5060"), false, false},
		{"same host, no port", "sip:bob@192.0.2.7", udp("192.0.2.7:5060"), false, false},
		{"IPv6 same host", "sip:bob@[2001:db8::7]:5070", udp("[2001:db8::7]:5060"), false, false},
		{"private Contact behind NAT", "sip:bob@192.168.1.20:5060", udp("203.0.113.9:40312"), false, true},
		{"another public host", "sip:bob@198.51.100.4:5060", udp("203.0.113.9:5060"), false, true},
		{"host name", "sip:bob@phone.example.com", udp("203.0.113.9:5060"), false, true},
		{"outbound", "sip:uas@127.0.0.1:5090;ob", udp("127.0.0.1:5091"), true, true},
		{"TCP", "sip:bob@192.0.2.7:5060;transport=tcp", Flow{ID: "tcp-3", Transport: "TCP", Remote: netip.MustParseAddrPort("192.0.2.7:40000")}, false, true},
		{"WebSocket", "sip:x@df7jal23ls0d.invalid;transport=ws", Flow{ID: "ws-1", Transport: "WS", Remote: netip.MustParseAddrPort("192.0.2.7:40000")}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u sip.Uri
			if err := sip.ParseUri(tt.contact, &u); err != nil {
				t.Fatal(err)
			}
			b := Binding{Contact: &u, Flow: tt.flow, Outbound: tt.outbound}
			if got := b.OverFlow(); got != tt.want {
				t.Errorf("OverFlow: got %v, want %v", got, tt.want)
			}
		})
	}
}
