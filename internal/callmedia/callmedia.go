// Package callmedia runs the offer/answer exchange (RFC 3264) of the calls
// whose media switchboard anchors: one media.Bridge per call, and every SDP
// translated by sdprewrite in the direction it travels. It implements
// sipproxy.Media.
//
// A leg is WebRTC when it runs over a WebSocket or its SDP is
// UDP/TLS/RTP/SAVPF with a fingerprint; a call is anchored when exactly one
// leg is WebRTC. Other calls' SDP passes through untouched.
package callmedia

import (
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/sdprewrite"
	"github.com/switchboard-gw/switchboard/internal/sipproxy"
)

// Manager keeps the anchored calls.
type Manager struct {
	engine *media.Engine
	log    *slog.Logger
	// onEnd, when set, is called when a call's bridge ended by itself
	// (media timeout): the owner ends the call's SIP legs.
	onEnd func(callID, reason string)

	// mu guards calls.
	mu    sync.Mutex
	calls map[string]*call
}

var _ sipproxy.Media = (*Manager)(nil)

// New returns a manager whose bridges come from engine. onEnd, which may be
// nil, hears of calls whose bridge ended by itself (media timeout).
func New(engine *media.Engine, log *slog.Logger, onEnd func(callID, reason string)) *Manager {
	return &Manager{engine: engine, log: log, onEnd: onEnd, calls: map[string]*call{}}
}

// side names a leg of a call.
type side int

const (
	none side = iota
	browserSide
	plainSide
)

// call is one anchored call's offer/answer state.
type call struct {
	id      string
	bridge  *media.Bridge
	created time.Time

	// mu guards the fields below; Rewrite calls for one call are ordered
	// by the proxy, but Snapshot reads concurrently.
	mu           sync.Mutex
	offerFrom    side   // the leg whose offer awaits its final answer
	browserOffer []byte // the browser's last offer, to answer it
	plainOffer   []byte // the plain leg's last offer, to answer it
	browser      sdprewrite.WebRTCRemote
	started      bool // the WebRTC leg (ICE, DTLS) is running
	browserUfrag string
	codec        string
}

// Rewrite translates one SDP body, RFC 3264 offer or answer, for the leg it
// goes to.
func (m *Manager) Rewrite(msg sipproxy.MediaMessage) ([]byte, error) {
	fromWebRTC := msg.FromWebRTC || sdprewrite.IsWebRTC(msg.Body)
	c := m.lookup(msg.CallID)
	if c == nil && fromWebRTC == msg.ToWebRTC {
		return msg.Body, nil // WebRTC⇄WebRTC or plain⇄plain: not anchored
	}
	from := plainSide
	if fromWebRTC {
		from = browserSide
	}
	fresh := c == nil
	if fresh {
		var err error
		if c, err = m.create(msg.CallID); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	out, err := c.translate(from, msg.Body, final(msg))
	c.mu.Unlock()
	if err != nil && fresh {
		m.End(msg.CallID, "SDP refused") // the request is answered 488: no call to keep
	}
	return out, err
}

// final reports whether msg settles an offer: anything but a provisional
// response (RFC 3262 reliable provisionals aside).
func final(msg sipproxy.MediaMessage) bool { return msg.Status == 0 || msg.Status >= 200 }

func (m *Manager) lookup(callID string) *call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[callID]
}

func (m *Manager) create(callID string) (*call, error) {
	b, err := m.engine.NewBridge(callID, func(reason string) { m.bridgeEnded(callID, reason) })
	if err != nil {
		if errors.Is(err, media.ErrNoPorts) {
			return nil, errNoPorts
		}
		return nil, err
	}
	c := &call{id: callID, bridge: b, created: time.Now()}
	m.mu.Lock()
	m.calls[callID] = c
	m.mu.Unlock()
	return c, nil
}

// End releases a call's bridge and logs what its media did.
func (m *Manager) End(callID, reason string) {
	m.mu.Lock()
	c := m.calls[callID]
	delete(m.calls, callID)
	m.mu.Unlock()
	if c == nil {
		return
	}
	st := c.state()
	_ = c.bridge.Close()
	m.log.Info("call media ended", "call_id", callID, "reason", reason, "verdict", st.Verdict,
		"codec", st.Codec, "duration", time.Since(c.created).Round(time.Millisecond), "media", st.Media)
}

func (m *Manager) bridgeEnded(callID, reason string) {
	if m.onEnd != nil && m.lookup(callID) != nil {
		m.onEnd(callID, reason)
	}
}

// Close ends every call.
func (m *Manager) Close() {
	m.mu.Lock()
	ids := make([]string, 0, len(m.calls))
	for id := range m.calls {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		m.End(id, "shutdown")
	}
}

// Snapshot returns the state of every anchored call, oldest first.
func (m *Manager) Snapshot() []CallState {
	m.mu.Lock()
	calls := make([]*call, 0, len(m.calls))
	for _, c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	out := make([]CallState, 0, len(calls))
	for _, c := range calls {
		out = append(out, c.state())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}
