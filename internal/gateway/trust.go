package gateway

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
)

// trusted is whom the proxy trusts by address: security.trusted_networks,
// the IP-literal hosts of the PBX (upstream mode) or of the trunks
// (registrar mode), and the built-in services' own socket, by its address
// and port rather than all of loopback.
func (g *Gateway) trusted() sipproxy.Trusted {
	cfg := g.cfg
	t := sipproxy.Trusted{Networks: slices.Clone(cfg.Security.TrustedNetworks)}
	var peers []sip.Uri
	var keys []string
	if cfg.Mode == config.ModeUpstream {
		peers, keys = append(peers, cfg.Upstream.URI), append(keys, "upstream.uri")
	} else {
		for _, r := range cfg.Routes {
			peers, keys = append(peers, r.URI), append(keys, "routes[].uri")
		}
	}
	for i, u := range peers {
		ip, err := netip.ParseAddr(strings.Trim(u.Host, "[]"))
		if err != nil {
			g.log.Warn("a peer named by host name is not trusted: list its addresses in security.trusted_networks",
				"key", keys[i], "host", u.Host)
			continue
		}
		ip = ip.Unmap()
		t.Networks = append(t.Networks, netip.PrefixFrom(ip, ip.BitLen()))
	}
	if g.services != nil {
		t.Addrs = append(t.Addrs, g.services.Addr())
	}
	return t
}
