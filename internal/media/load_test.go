package media

import (
	"testing"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// TestLoadReadsTheSharedSocket checks an idle engine's reading: nothing
// queued or dropped, the mux queue's bound, and the real socket's limit;
// once closed, the socket's fields are zero.
func TestLoadReadsTheSharedSocket(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, nil)
	l := e.Load()
	if l.MuxQueued != 0 || l.MuxDropped != 0 || l.SocketUsed != 0 || l.SocketDropped != 0 {
		t.Errorf("idle engine: got %+v, want nothing queued or dropped", l)
	}
	if l.MuxQueueCap != muxQueue || l.SocketLimit == 0 {
		t.Errorf("idle engine: got mux cap %d and socket limit %d, want %d and the socket's", l.MuxQueueCap, l.SocketLimit, muxQueue)
	}
	e.Close()
	if l := e.Load(); l.SocketLimit != 0 {
		t.Errorf("closed engine: got socket limit %d, want 0", l.SocketLimit)
	}
}
