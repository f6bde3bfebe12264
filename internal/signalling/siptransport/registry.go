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

	// conns maps flow IDs to live connections. It is read for every
	// request towards a connection, from every core, so it is a sync.Map
	// rather than a map behind the admission mutex; n counts it.
	conns sync.Map // string → Conn
	n     atomic.Int64

	// mu guards the admission counts below, taken once per connection.
	mu    sync.Mutex
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
		perIP: map[netip.Addr]int{}}
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
	if _, replaced := r.conns.Swap(c.FlowID(), c); !replaced {
		r.n.Add(1)
	}
}

// Remove forgets c.
func (r *Registry) Remove(c Conn) {
	if r.conns.CompareAndDelete(c.FlowID(), c) {
		r.n.Add(-1)
	}
}

// Lookup returns the live connection with the given flow ID.
func (r *Registry) Lookup(flowID string) (Conn, bool) {
	c, ok := r.conns.Load(flowID)
	if !ok {
		return nil, false
	}
	return c.(Conn), true
}

// Conns returns a snapshot of the live connections.
func (r *Registry) Conns() []Conn {
	out := make([]Conn, 0, r.n.Load())
	r.conns.Range(func(_, c any) bool {
		out = append(out, c.(Conn))
		return true
	})
	return out
}

// Len returns the number of live connections.
func (r *Registry) Len() int { return int(r.n.Load()) }
