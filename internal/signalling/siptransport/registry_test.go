package siptransport

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// flowConn is a Conn with a flow ID of its own.
type flowConn struct{ id string }

func (c *flowConn) Transport() string          { return WS }
func (c *flowConn) LocalAddr() netip.AddrPort  { return netip.MustParseAddrPort("127.0.0.1:8080") }
func (c *flowConn) RemoteAddr() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:40000") }
func (c *flowConn) FlowID() string             { return c.id }
func (c *flowConn) Send(sip.Message) error     { return nil }

// TestRegistryConcurrent adds, looks up and removes connections from
// several goroutines: Len and Conns follow, and Remove of a connection
// that was replaced under its flow ID leaves the new one.
func TestRegistryConcurrent(t *testing.T) {
	r := NewRegistry(RegistryConfig{})
	const workers, each = 8, 100
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				c := &flowConn{id: r.NewFlowID("ws-")}
				r.Add(c)
				if got, ok := r.Lookup(c.id); !ok || got != c {
					t.Errorf("Lookup(%s) = %v, %v, want the connection just added", c.id, got, ok)
				}
				r.Remove(c)
				r.Add(c)
			}
		})
	}
	wg.Wait()
	if got, want := r.Len(), workers*each; got != want || len(r.Conns()) != want {
		t.Fatalf("Len %d, Conns %d, want %d", got, len(r.Conns()), want)
	}
	old := r.Conns()[0]
	replacement := &flowConn{id: old.FlowID()}
	r.Add(replacement)
	r.Remove(old)
	if got, ok := r.Lookup(old.FlowID()); !ok || got != replacement {
		t.Errorf("after removing a replaced connection got %v, %v, want the replacement", got, ok)
	}
	if got, want := r.Len(), workers*each; got != want {
		t.Errorf("Len %d after replace and stale remove, want %d", got, want)
	}
	for _, c := range r.Conns() {
		r.Remove(c)
	}
	if got := r.Len(); got != 0 {
		t.Errorf("Len %d after removing every connection, want 0", got)
	}
}
