// Package callmedia runs the offer/answer exchange (RFC 3264) of the calls
// whose media switchboard anchors, and translates every SDP with sdprewrite
// in the direction it travels. It implements sipproxy.Media (the gateway
// hands it to the proxy) without importing the proxy: the messages it reads
// are sipmsg.SDPMessage.
//
// A leg is WebRTC when it runs over a WebSocket or its SDP is
// UDP/TLS/RTP/SAVPF with a fingerprint. A WebRTC ⇄ plain call is always
// anchored: one media.Bridge. WebRTC ⇄ WebRTC and plain ⇄ plain calls pass
// through untouched unless the Manager anchors all calls (Config.AnchorAll): then
// the first gets two media.Bridges back to back, so that each browser runs
// ICE and DTLS-SRTP with switchboard, and the second a media.PlainRelay.
package callmedia

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

// Manager keeps the anchored calls.
type Manager struct {
	engine    *media.Engine
	relays    Relays
	log       *slog.Logger
	metrics   *Metrics
	anchorAll bool
	gate      *gate
	// onEnd, when set, is called when a call's media ended by itself
	// (media timeout, ICE or DTLS failure): the owner ends the call's SIP
	// legs.
	onEnd func(callID, reason string)

	// mu guards calls and ended.
	mu    sync.Mutex
	calls map[string]*call
	ended packetCounts // the packets of the calls that ended

	// stopGate stops the gate's sampler, gateDone says it stopped.
	stopGate  chan struct{}
	gateDone  chan struct{}
	closeOnce sync.Once
}

// Config says which calls a Manager anchors.
type Config struct {
	// AnchorAll anchors WebRTC ⇄ WebRTC and plain ⇄ plain calls too
	// (media.anchor_all); when false only WebRTC ⇄ plain calls are.
	AnchorAll bool
	// MaxCalls is the most calls anchored at once (media.max_calls); a
	// new call beyond it is refused with 503. Zero: no ceiling.
	MaxCalls int
	// RefuseOverload refuses new calls with 503 while the engine's
	// browser-leg queues show saturation (media.refuse_overload).
	RefuseOverload bool
}

// Deps are a Manager's collaborators.
type Deps struct {
	// Engine makes the bridges and relays. Required.
	Engine *media.Engine
	// Logger logs each anchored call's end.
	Logger *slog.Logger
	// Metrics counts the calls; nil counts nothing. A Metrics serves one
	// Manager.
	Metrics *Metrics
	// Relays, which may be nil, is switchboard's own TURN server: the
	// calls' stats tell a browser relayed through it, and how it reaches it.
	Relays Relays
	// OnEnd, which may be nil, hears of calls whose media ended by itself
	// (media timeout, ICE or DTLS failure), so that it can end their SIP
	// legs.
	OnEnd func(callID, reason string)
}

// New returns a manager whose bridges and relays come from deps.Engine.
func New(cfg Config, deps Deps) *Manager {
	var load func() media.Load
	if cfg.RefuseOverload {
		load = deps.Engine.Load
	}
	m := &Manager{engine: deps.Engine, relays: deps.Relays, log: deps.Logger, metrics: deps.Metrics, anchorAll: cfg.AnchorAll,
		gate: newGate(cfg.MaxCalls, load), onEnd: deps.OnEnd, calls: map[string]*call{},
		stopGate: make(chan struct{}), gateDone: make(chan struct{})}
	m.metrics.watch(m)
	if load == nil {
		close(m.gateDone)
		return m
	}
	go func() {
		defer close(m.gateDone)
		m.gate.run(m.stopGate)
	}()
	return m
}

// Rewrite translates one SDP body, RFC 3264 offer or answer, for the leg it
// goes to. An SDP from a browser is checked (sdprewrite.ValidateWebRTC)
// before it is forwarded, translated or not; every refusal is counted.
func (m *Manager) Rewrite(msg sipmsg.SDPMessage) ([]byte, error) {
	out, err := m.rewrite(msg)
	switch {
	case isShed(err):
		m.metrics.shed(err)
	case err != nil:
		m.metrics.refused(err)
	}
	return out, err
}

func (m *Manager) rewrite(msg sipmsg.SDPMessage) ([]byte, error) {
	fromWebRTC := msg.FromWebRTC || sdprewrite.IsWebRTC(msg.Body)
	c := m.lookup(msg.CallID)
	fresh := c == nil
	if fresh {
		kind := anchorOf(fromWebRTC, msg.ToWebRTC)
		if kind != webrtcPlain && !m.anchorAll {
			return passThrough(msg, fromWebRTC) // WebRTC⇄WebRTC or plain⇄plain: not anchored
		}
		var err error
		if c, err = m.create(msg, kind, fromWebRTC); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	out, err := c.translateLocked(c.legOf(msg, fromWebRTC), msg.Body, settles(msg))
	c.mu.Unlock()
	if err != nil && fresh {
		m.End(msg.CallID, "SDP refused") // the request is answered 488: no call to keep
	}
	return out, err
}

// passThrough returns the body of an SDP that crosses untranslated, once
// checked if a browser sent it.
func passThrough(msg sipmsg.SDPMessage, fromWebRTC bool) ([]byte, error) {
	if fromWebRTC {
		if err := sdprewrite.ValidateWebRTC(msg.Body); err != nil {
			return nil, sdpError(err)
		}
	}
	return msg.Body, nil
}

// settles reports whether msg settles an offer: anything but a provisional
// response (RFC 3262 reliable provisionals aside).
func settles(msg sipmsg.SDPMessage) bool { return msg.Status == 0 || msg.Status >= 200 }

func (m *Manager) lookup(callID string) *call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[callID]
}

// create anchors a call from its first SDP, msg. A new call (an initial
// request's offer) passes the gate first; a call whose media starts in a
// response or within a dialog is anchored whatever the load, because its
// other end has already accepted it.
func (m *Manager) create(msg sipmsg.SDPMessage, kind anchor, fromWebRTC bool) (*call, error) {
	if msg.Status == 0 && !msg.InDialog {
		if err := m.gate.admit(); err != nil {
			return nil, err
		}
	} else {
		m.gate.count()
	}
	c, err := m.newCall(msg, kind, fromWebRTC)
	if err != nil {
		m.gate.release()
	}
	if errors.Is(err, media.ErrNoPorts) {
		return nil, errNoPorts
	}
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.calls[msg.CallID] = c
	m.mu.Unlock()
	m.metrics.started(kind)
	return c, nil
}

// End releases a call's media and logs what it did.
func (m *Manager) End(callID, reason string) {
	m.mu.Lock()
	c := m.calls[callID]
	delete(m.calls, callID)
	if c != nil {
		m.ended.add(c.packets()) // under mu, so that packet counters never go back
	}
	m.mu.Unlock()
	if c == nil {
		return
	}
	m.gate.release()
	st := c.state()
	c.close()
	m.metrics.ended(st, reason)
	level := slog.LevelInfo
	if reason == "challenged" {
		level = slog.LevelDebug // an authentication round, not a call: its retry is the call
	}
	m.log.Log(context.Background(), level, "call media ended", "call_id", callID, "from", st.From, "to", st.To, "reason", reason, "anchor", st.Anchor, "verdict", st.Verdict,
		"codec", st.Codec, "duration", time.Since(c.created).Round(time.Millisecond), "media", st.Media, "relay", st.Relay)
}

// mediaEnded hears from a call's bridge or relay that it ended by itself.
func (m *Manager) mediaEnded(callID, reason string) {
	if m.onEnd != nil && m.lookup(callID) != nil {
		m.onEnd(callID, reason)
	}
}

// Close stops the overload gate's sampler and ends every call.
func (m *Manager) Close() {
	m.closeOnce.Do(func() {
		close(m.stopGate)
		<-m.gateDone
	})
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

// State returns the state of the anchored call callID; false when no such
// call is anchored.
func (m *Manager) State(callID string) (CallState, bool) {
	c := m.lookup(callID)
	if c == nil {
		return CallState{}, false
	}
	return c.state(), true
}

// packetTotals is the RTP packets of every call, ended and live, for the
// metrics.
func (m *Manager) packetTotals() packetCounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	total := m.ended
	for _, c := range m.calls {
		total.add(c.packets())
	}
	return total
}
