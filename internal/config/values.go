package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// valueParser decodes one scalar of a typed key; its error is the message
// shown after the key.
type valueParser func(s string) (reflect.Value, error)

// valueTypes are the types decoded from a string by a parser of their own,
// with the words error messages use for them.
var valueTypes = map[reflect.Type]struct {
	parse valueParser
	name  string
}{
	reflect.TypeFor[netip.AddrPort](): {wrap(parseListenAddr), "host:port"},
	reflect.TypeFor[netip.Addr]():     {wrap(parseIP), "an IP address"},
	reflect.TypeFor[sip.Uri]():        {wrap(parseSIPURI), "a SIP URI"},
	reflect.TypeFor[netip.Prefix]():   {wrap(parsePrefix), "a CIDR prefix"},
}

func wrap[T any](parse func(string) (T, error)) valueParser {
	return func(s string) (reflect.Value, error) {
		v, err := parse(s)
		return reflect.ValueOf(v), err
	}
}

// parseListenAddr decodes a listen address: "host:port" with an IP address
// or nothing as host. An empty host means all interfaces and becomes
// 0.0.0.0, on which Go listens as on an empty host (on every IPv4 and,
// where the system allows, IPv6 address). "" is the zero AddrPort: off.
func parseListenAddr(s string) (netip.AddrPort, error) {
	if s == "" {
		return netip.AddrPort{}, nil
	}
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is not host:port (write IPv6 hosts in brackets, like \"[::1]:5060\")", s)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q is not a number from 0 to 65535", portStr)
	}
	ip := netip.IPv4Unspecified()
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("host %q in %q is not an IP address", host, s)
		}
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// parseIP decodes an IP address; "" is the zero Addr.
func parseIP(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	return ip, nil
}

// parsePrefix decodes a network as a CIDR prefix, "10.0.0.0/8", or a single
// address, "192.0.2.7", which is the prefix of that address alone. A prefix
// with bits set past its length is refused: "10.0.0.5/24" is a typo for
// "10.0.0.5" or "10.0.0.0/24", and which one matters.
func parsePrefix(s string) (netip.Prefix, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a network like \"10.0.0.0/24\" or an IP address", s)
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("%q has bits set past its length: write %q for the network, or the address alone", s, p.Masked().String())
	}
	return p, nil
}

// parseSIPURI decodes a sip: or sips: URI naming a host, with no transport
// parameter or one of udp, tcp and tls. "" is the zero Uri: not set.
func parseSIPURI(s string) (sip.Uri, error) {
	var u sip.Uri
	if s == "" {
		return u, nil
	}
	err := sip.ParseUri(s, &u)
	if err != nil || (u.Scheme != "sip" && u.Scheme != "sips") || u.Host == "" || u.Wildcard {
		return sip.Uri{}, fmt.Errorf("%q is not a sip: or sips: URI like \"sip:pbx.example.com:5060;transport=udp\"", s)
	}
	var errs []error
	if u.Port < 0 || u.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d in %q is not from 0 to 65535", u.Port, s))
	}
	for _, p := range u.UriParams {
		if !strings.EqualFold(p.K, "transport") {
			continue
		}
		if t := strings.ToLower(p.V); t != "udp" && t != "tcp" && t != "tls" {
			errs = append(errs, fmt.Errorf("transport %q in %q is not udp, tcp or tls", p.V, s))
		}
	}
	if len(errs) > 0 {
		return sip.Uri{}, errors.Join(errs...)
	}
	return u, nil
}

// isSet reports whether u was set: the zero Uri has no host.
func isSet(u sip.Uri) bool { return u.Host != "" }

// quoteAddr quotes a listen address as the file would write it, "" for
// zero.
func quoteAddr(a netip.AddrPort) string {
	if !a.IsValid() {
		return `""`
	}
	return strconv.Quote(a.String())
}
