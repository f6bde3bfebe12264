package siptransport

import (
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
)

// Registry knows every live connection-oriented flow (TCP, TLS, WS, WSS) by
// its flow ID, and enforces the connection limits. It is how a request for a
// browser finds the browser's WebSocket.
type Registry struct {
	maxTotal int
	maxPerIP int
	next     atomic.Uint64

	// mu guards the fields below.
	mu    sync.Mutex
	conns map[string]Conn
	perIP map[netip.Addr]int
	total int
}

// RegistryConfig holds a Registry's connection limits.
type RegistryConfig struct {
	// MaxConnections is the most connections admitted at once; zero means
	// no limit.
	MaxConnections int
	// MaxConnectionsPerIP is the most connections admitted at once from
	// one IP address; zero means no limit.
	MaxConnectionsPerIP int
}

// NewRegistry returns an empty registry enforcing cfg. A Registry has no
// collaborators, so it takes no Deps.
func NewRegistry(cfg RegistryConfig) *Registry {
	return &Registry{maxTotal: cfg.MaxConnections, maxPerIP: cfg.MaxConnectionsPerIP,
		conns: map[string]Conn{}, perIP: map[netip.Addr]int{}}
}

// NewFlowID returns a flow ID never returned before by this registry.
func (r *Registry) NewFlowID(prefix string) string {
	return prefix + strconv.FormatUint(r.next.Add(1), 36)
}

// Admit reserves a connection slot for ip. The caller must call the returned
// release exactly once when the connection ends.
func (r *Registry) Admit(ip netip.Addr) (release func(), err error) {
	ip = ip.Unmap()
	r.mu.Lock()
	defer r.mu.Unlock()
	if (r.maxTotal > 0 && r.total >= r.maxTotal) || (r.maxPerIP > 0 && r.perIP[ip] >= r.maxPerIP) {
		return nil, ErrTooManyConnections
	}
	r.total++
	r.perIP[ip]++
	var once sync.Once
	return func() { once.Do(func() { r.releaseSlot(ip) }) }, nil
}

func (r *Registry) releaseSlot(ip netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total--
	if r.perIP[ip]--; r.perIP[ip] <= 0 {
		delete(r.perIP, ip)
	}
}

// Add makes c findable by its flow ID.
func (r *Registry) Add(c Conn) {
	r.mu.Lock()
	r.conns[c.FlowID()] = c
	r.mu.Unlock()
}

// Remove forgets c.
func (r *Registry) Remove(c Conn) {
	r.mu.Lock()
	if r.conns[c.FlowID()] == c {
		delete(r.conns, c.FlowID())
	}
	r.mu.Unlock()
}

// Lookup returns the live connection with the given flow ID.
func (r *Registry) Lookup(flowID string) (Conn, bool) {
	r.mu.Lock()
	c, ok := r.conns[flowID]
	r.mu.Unlock()
	return c, ok
}

// Conns returns a snapshot of the live connections.
func (r *Registry) Conns() []Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Conn, 0, len(r.conns))
	for _, c := range r.conns {
		out = append(out, c)
	}
	return out
}

// Len returns the number of live connections.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}
