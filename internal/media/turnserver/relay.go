package turnserver

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/turn/v5"
)

var (
	errQuota    = errors.New("turnserver: allocation quota reached")
	errTCPRelay = errors.New("turnserver: TCP relays (RFC 6062) are not offered")
)

// relays allocates the relay sockets: it keeps the quotas, counts what
// each relays and refuses to send to a denied peer, whatever pion decided.
// Each listener's pion/turn RelayAddressGenerator is a listenerRelays on it.
type relays struct {
	ports      *turn.RelayAddressGeneratorPortRange
	policy     *PeerPolicy
	maxTotal   int
	maxPerUser int
	log        *slog.Logger
	metrics    *Metrics

	mu sync.Mutex
	// live are the open relay sockets; perUser counts them by user, and
	// byAddr finds them by relay address (the one advertised and the one
	// bound). All are guarded by mu.
	live    map[*relayConn]struct{}
	perUser map[string]int
	byAddr  map[netip.AddrPort]*relayConn
	// ended adds up the traffic of the closed relay sockets.
	ended traffic
}

// traffic is what a relay socket carried.
type traffic struct {
	toPeerBytes, toPeerPackets     atomic.Uint64
	fromPeerBytes, fromPeerPackets atomic.Uint64
}

func (t *traffic) add(o *traffic) {
	t.toPeerBytes.Add(o.toPeerBytes.Load())
	t.toPeerPackets.Add(o.toPeerPackets.Load())
	t.fromPeerBytes.Add(o.fromPeerBytes.Load())
	t.fromPeerPackets.Add(o.fromPeerPackets.Load())
}

func (r *relays) Validate() error { return r.ports.Validate() }

// quota is pion's QuotaHandler: it answers an Allocate 486 (RFC 8656
// §7.2) when the user or the server is full.
func (r *relays) quota(user, _ string, _ net.Addr) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.roomLocked(user)
}

func (r *relays) roomLocked(user string) bool {
	switch {
	case r.maxTotal > 0 && len(r.live) >= r.maxTotal:
		r.metrics.allocations.WithLabelValues("quota_total").Inc()
		return false
	case r.maxPerUser > 0 && r.perUser[user] >= r.maxPerUser:
		r.metrics.allocations.WithLabelValues("quota_user").Inc()
		return false
	}
	return true
}

// listenerRelays is the RelayAddressGenerator of one listener: the relays,
// and the transport its clients reach the server over.
type listenerRelays struct {
	*relays
	proto string // "udp", "tcp" or "tls"
}

func (l listenerRelays) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	return l.allocate(conf, l.proto)
}

// allocate opens a relay socket for a client that came over proto.
func (r *relays) allocate(conf turn.AllocateListenerConfig, proto string) (net.PacketConn, net.Addr, error) {
	if conf.Realm == "" {
		// pion probing for an even port (EVEN-PORT, RFC 8656 §14.6): the
		// socket is closed at once and relays nothing.
		return r.ports.AllocatePacketConn(conf)
	}
	r.mu.Lock()
	if !r.roomLocked(conf.UserID) { // two Allocates raced past quota
		r.mu.Unlock()
		return nil, nil, errQuota
	}
	c := &relayConn{r: r, user: conf.UserID, proto: proto, started: time.Now()}
	r.live[c] = struct{}{}
	r.perUser[conf.UserID]++
	r.mu.Unlock()
	pc, addr, err := r.ports.AllocatePacketConn(conf)
	if err != nil {
		r.release(c)
		r.metrics.allocations.WithLabelValues("failed").Inc()
		return nil, nil, err
	}
	c.PacketConn, c.relay = pc, addr
	r.mu.Lock()
	for _, a := range []net.Addr{addr, pc.LocalAddr()} {
		if ua, ok := a.(*net.UDPAddr); ok {
			c.addrs = append(c.addrs, unmapped(ua.AddrPort()))
			r.byAddr[unmapped(ua.AddrPort())] = c
		}
	}
	r.mu.Unlock()
	r.metrics.allocations.WithLabelValues("created").Inc()
	return c, addr, nil
}

func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// protocol returns the transport of the client of the live relay at addr.
func (r *relays) protocol(addr netip.AddrPort) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.byAddr[unmapped(addr)]
	if !ok {
		return "", false
	}
	return c.proto, true
}

func (r *relays) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errTCPRelay
}

func (r *relays) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errTCPRelay
}

// release forgets a relay socket; its traffic joins the totals in the same
// step, so that the counters never go back.
func (r *relays) release(c *relayConn) {
	r.mu.Lock()
	r.ended.add(&c.traffic)
	delete(r.live, c)
	for _, a := range c.addrs {
		if r.byAddr[a] == c {
			delete(r.byAddr, a)
		}
	}
	if r.perUser[c.user]--; r.perUser[c.user] <= 0 {
		delete(r.perUser, c.user)
	}
	r.mu.Unlock()
}

// count returns the live relay sockets.
func (r *relays) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live)
}

// total adds up the traffic of every relay socket, closed or open.
func (r *relays) total() *traffic {
	var t traffic
	r.mu.Lock()
	t.add(&r.ended)
	for c := range r.live {
		t.add(&c.traffic)
	}
	r.mu.Unlock()
	return &t
}

// relayConn is one allocation's relay socket. Pion reads it on the
// allocation's goroutine (from peers) and writes it on the listener's
// (to peers); the counters are the allocation's own.
type relayConn struct {
	net.PacketConn
	r       *relays
	user    string
	proto   string // how the client reaches the server: udp, tcp or tls
	relay   net.Addr
	addrs   []netip.AddrPort // relay and the bound address, in byAddr
	started time.Time
	traffic traffic
	once    sync.Once
}

func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if err == nil {
		c.traffic.fromPeerBytes.Add(uint64(n))
		c.traffic.fromPeerPackets.Add(1)
	}
	return n, addr, err
}

// WriteTo sends to a peer the policy permits and drops the rest: the gate
// has refused their permissions and channels already, so this is the
// second lock on the same door.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || !c.r.policy.PermitAddr(ua.AddrPort()) {
		return len(p), nil
	}
	n, err := c.PacketConn.WriteTo(p, addr)
	if err == nil {
		c.traffic.toPeerBytes.Add(uint64(n))
		c.traffic.toPeerPackets.Add(1)
	}
	return n, err
}

// Close ends the allocation's accounts: its traffic joins the totals and
// one log line gives the user's share.
func (c *relayConn) Close() error {
	err := c.PacketConn.Close()
	c.once.Do(func() {
		c.r.release(c)
		c.r.log.Info("turn allocation ended", "user", c.user, "relay", addrString(c.relay),
			"duration", time.Since(c.started).Round(time.Second),
			"bytes_to_peer", c.traffic.toPeerBytes.Load(), "packets_to_peer", c.traffic.toPeerPackets.Load(),
			"bytes_from_peer", c.traffic.fromPeerBytes.Load(), "packets_from_peer", c.traffic.fromPeerPackets.Load())
	})
	return err
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
