package gateway

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/switchboard-gw/switchboard/internal/config"
)

// publicIPs are the addresses the media bridge offers browsers as ICE
// candidates, from media.public_ips: the listed ones; for "auto", the
// webrtc_listen IP, or on a wildcard every address of its family that
// hostIPs reads from the machine's interfaces.
func publicIPs(m config.Media, hostIPs func() ([]netip.Addr, error)) ([]netip.Addr, error) {
	listen := m.WebRTCListen.Addr()
	if !m.PublicIPs.Auto || !listen.IsUnspecified() {
		return m.PublicIPs.IPs, nil // empty: the engine offers the listen IP
	}
	all, err := hostIPs()
	if err != nil {
		return nil, fmt.Errorf(`media.public_ips: "auto": %w`, err)
	}
	ips := autoIPs(listen, all)
	if len(ips) == 0 {
		return nil, fmt.Errorf(`media.public_ips: "auto": no usable %s address on any interface that is up`, family(listen))
	}
	return ips, nil
}

// autoIPs keeps the addresses of all that a socket bound to the wildcard
// listen receives on and a browser can use: listen's family, neither
// link-local (which would need a zone) nor multicast. Loopback stays, first,
// for browsers that pair only loopback with loopback (Chromium without an
// interface, Firefox with media.peerconnection.ice.loopback); the others
// serve a browser that uses the machine's own addresses (Firefox, which
// never pairs a non-loopback address with a loopback candidate).
func autoIPs(listen netip.Addr, all []netip.Addr) []netip.Addr {
	var loop, other []netip.Addr
	for _, ip := range all {
		ip = ip.Unmap()
		switch {
		case ip.Is4() != listen.Is4(), ip.IsLinkLocalUnicast(), ip.IsMulticast(), ip.IsUnspecified():
		case ip.IsLoopback():
			loop = append(loop, ip)
		default:
			other = append(other, ip)
		}
	}
	return append(loop, other...)
}

func family(ip netip.Addr) string {
	if ip.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// interfaceIPs reads the addresses of the machine's interfaces that are up.
func interfaceIPs() ([]netip.Addr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", iface.Name, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					ips = append(ips, ip.Unmap())
				}
			}
		}
	}
	return ips, nil
}
