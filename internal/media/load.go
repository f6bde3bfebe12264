package media

// Load is a reading of the queues in front of the engine's browser-leg
// packet path, where saturation shows first: packets that wait, then
// packets that are dropped. An overload gate reads it when a call would be
// anchored (callmedia); reading it costs one getsockopt and a few atomic
// loads, and the packet path pays nothing for it beyond the atomic adds
// it already makes when it drops.
type Load struct {
	// MuxQueued is the datagrams waiting for pion's mux reader (STUN,
	// DTLS, and media of legs not yet on the direct relay); MuxQueueCap is
	// the most that may wait; MuxDropped counts those dropped since the
	// engine started because the queue was full.
	MuxQueued, MuxQueueCap int
	MuxDropped             uint64
	// SocketUsed and SocketLimit are the bytes the shared browser-leg
	// socket's receive queue holds and may hold (the poller reading it is
	// behind when it fills); SocketDropped counts the datagrams the kernel
	// dropped on it. Zero when the socket could not be read (closed).
	SocketUsed, SocketLimit int
	SocketDropped           uint64
}

// Load reads the engine's queues now.
func (e *Engine) Load() Load {
	l := Load{MuxQueued: len(e.sock.in), MuxQueueCap: cap(e.sock.in), MuxDropped: e.sock.dropped.Load()}
	if q, err := e.sock.sock.RecvQueue(); err == nil {
		l.SocketUsed, l.SocketLimit, l.SocketDropped = q.Used, q.Limit, q.Drops
	}
	return l
}
