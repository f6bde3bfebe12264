package media

import "github.com/switchboard-gw/switchboard/internal/media/sock"

// Load is a reading of the queues in front of the engine's browser-leg
// packet path, where saturation shows first: packets that wait, then
// packets that are dropped. An overload gate reads it when a call would be
// anchored (callmedia); reading it costs a getsockopt per socket and a few
// atomic loads, and the packet path pays nothing for it beyond the atomic
// adds it already makes when it drops.
type Load struct {
	// MuxQueued is the datagrams waiting for pion's mux reader (STUN,
	// DTLS, and media of legs not yet on the direct relay); MuxQueueCap is
	// the most that may wait; MuxTaken counts those queued since the
	// engine started, and MuxDropped those dropped because the queue was
	// full.
	MuxQueued, MuxQueueCap int
	MuxTaken, MuxDropped   uint64
	// SocketUsed and SocketLimit are the bytes the fullest of the browser
	// port's sockets holds in its receive queue and may hold (the poller
	// reading it is behind when it fills); SocketDropped counts the
	// datagrams the kernel dropped on all of them. Zero for a socket that
	// could not be read (closed).
	SocketUsed, SocketLimit int
	SocketDropped           uint64
}

// Load reads the engine's queues now.
func (e *Engine) Load() Load {
	l := Load{MuxQueued: len(e.sock.in), MuxQueueCap: cap(e.sock.in), MuxTaken: e.sock.queued.Load(), MuxDropped: e.sock.dropped.Load()}
	for _, s := range e.sock.sockets() {
		q, err := s.RecvQueue()
		if err != nil {
			continue
		}
		l.SocketDropped += q.Drops
		// The fullest by share: used/limit > l.SocketUsed/l.SocketLimit.
		if l.SocketLimit == 0 || q.Used*l.SocketLimit > l.SocketUsed*q.Limit {
			l.SocketUsed, l.SocketLimit = q.Used, q.Limit
		}
	}
	return l
}

// sockets are the sockets of the browser port: one per poller.
func (s *muxSocket) sockets() []*sock.UDP { return s.group }
