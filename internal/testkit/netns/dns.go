package netns

import (
	"errors"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// resolverAddr is where a namespace's own DNS server listens, on its
// loopback; Hosts points the namespace's resolv.conf at it.
const resolverAddr = "127.0.0.53:53"

// resolver answers DNS queries over UDP for the names a namespace's hosts
// file gives, the way a network's own resolver would: A records for them,
// no records of other types, NXDOMAIN at once for every other name.
//
// Why a server and not only the hosts file: Chromium's own DNS client
// queries the nameserver of resolv.conf even for a name the hosts file
// has. The machine's nameserver is unreachable from a namespace; the
// router's ICMP errors say so for the first few queries, then the
// kernel's ICMP rate limit silences them and Chromium waits for its
// timeouts, 8 to 13 s, before it falls back. A TURN-over-TLS candidate
// gathered that late made a call through TCP443Only silent now and then.
type resolver struct {
	conn    *net.UDPConn
	records map[string]netip.Addr // by lower-case fully qualified name
}

// startResolver listens on resolverAddr inside n and answers for records.
func (n *NS) startResolver(records map[string]netip.Addr) (*resolver, error) {
	r := &resolver{records: records}
	err := n.Do(func() error {
		var err error
		r.conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(resolverAddr)))
		return err
	})
	if err != nil {
		return nil, err
	}
	go r.serve()
	return r, nil
}

func (r *resolver) close() { r.conn.Close() }

func (r *resolver) serve() {
	buf := make([]byte, 1500)
	for {
		size, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		if reply, ok := r.answer(buf[:size]); ok {
			_, _ = r.conn.WriteToUDPAddrPort(reply, from)
		}
	}
}

// answer is the reply to one query, or false for what is not a query.
func (r *resolver) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	addr, known := r.records[strings.ToLower(q.Name.String())]
	rcode := dnsmessage.RCodeSuccess
	if !known {
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true, RCode: rcode,
	})
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	if known && q.Type == dnsmessage.TypeA && q.Class == dnsmessage.ClassINET && addr.Is4() {
		rh := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60}
		if b.AResource(rh, dnsmessage.AResource{A: addr.As4()}) != nil {
			return nil, false
		}
	}
	reply, err := b.Finish()
	return reply, err == nil
}
