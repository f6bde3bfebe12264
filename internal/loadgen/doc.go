// Package loadgen is switchboard's media load client: many light WebRTC
// callers, each calling an RTP echo through the gateway, with per-packet
// loss and round-trip time.
//
// A caller is not a browser stack. Per call it has one UDP socket, a full
// controlling pion/ice agent on it (RFC 8445), a DTLS client or server per
// the answer's a=setup (RFC 5763 §5), and two srtp.Contexts keyed from the
// handshake (RFC 5764 §4.2). Its signalling is siptest's UA over a
// WebSocket of its own (RFC 7118), as one browser tab. The far side is one
// or more rtptest.Echo, each behind a siptest.UDPPeer that registers with
// the gateway and answers every INVITE with SDP pointing at its echo.
//
// Why a socket per call rather than one shared UDPMux: switchboard serves
// every browser leg on one shared port and, once ICE has run, tells legs
// apart by the browser's address (pion's UDPMux keys connections by remote
// address). Callers sharing one local port would all look like one browser.
// A socket per call is also what a real browser has. Each socket sits under
// a UDPMux of its own only so that the socket stays ours: the mux's one
// reader goroutine reads through a tap that takes RTP and RTCP (first byte
// 128-191, RFC 7983 §7) for the call and hands STUN and DTLS up to the
// agent. Media is sent on the socket to the ICE-selected pair's address,
// the bytes the ice.Conn would write, without its per-packet bookkeeping.
//
// Pacing spreads over cores: one pacer goroutine per core Go may use,
// calls dealt to them in turn; each pacer's 1 ms ticker walks 20 slots,
// its k-th call sending in slot k mod 20, so each call sends every 20 ms
// and the load is spread evenly over the frame. Each call's socket has a
// reader goroutine of its own, and the echoes are one per core (4 at
// least), so no one goroutine carries the run.
//
// sbload measures its own lateness and cost, so that its limits are never
// reported as the gateway's: how late each set-up started against the
// ramp's schedule and how late each slot of packets went out (p50, p99,
// max), its CPU per set-up and per call, and how busy the whole machine
// was. Past set-up or send lag p99 20 ms, or 90% of its cores busy, the
// report says sbload was saturated (Report.Saturated). Every packet is 172 bytes of RTP (PCMU,
// 160-byte payload) whose payload carries the send time (monotonic
// nanoseconds since the run began), the call and the packet number, and
// the phase it was sent in. The echo returns it unchanged (switchboard
// keeps sequence numbers, timestamps and payload), so the receiver gets the
// round-trip time of each packet and loss per call.
//
// Figures cover the steady window only: packets sent after the last call
// was set up and before the window closed, counted again when they come
// back (up to a drain period after sending stops).
//
// Baseline runs the same callers, pacing, packet count and SRTP work
// against the same echoes with no gateway between them: each call's socket
// sends straight to an echo, encrypting with a key it also decrypts with.
// The gateway adds, per direction, half the difference between the two
// runs' round-trip percentiles (see Added).
package loadgen
