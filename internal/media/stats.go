package media

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Bridge, ready for encoding/json.
type Stats struct {
	ID      string       `json:"id"`
	ICE     ICEStats     `json:"ice"`
	DTLS    DTLSStats    `json:"dtls"`
	Browser BrowserStats `json:"browser"`
	Plain   PlainStats   `json:"plain"`
}

// ICEStats is the browser leg's ICE state and selected candidate pair.
// Until ICE selects a pair (a browser that answered may nominate late, or
// not at all), Local is unset and Remote is where DTLS and media go: the
// browser's latest checked address (early.go).
type ICEStats struct {
	State  string         `json:"state"`
	Local  netip.AddrPort `json:"local,omitzero"`
	Remote netip.AddrPort `json:"remote,omitzero"`
	// RemoteType is the type of the browser's candidate Remote is: host,
	// srflx, prflx or relay; RelayProtocol, for a relay of switchboard's
	// own TURN server, is how the browser reaches that server: udp, tcp or
	// tls. The bridge, ICE-lite, knows only the address: callmedia, which
	// has the browser's SDP and the TURN server, fills them in.
	RemoteType    string `json:"remote_type,omitempty"`
	RelayProtocol string `json:"relay_protocol,omitempty"`
}

// DTLSStats is the DTLS-SRTP handshake's outcome.
type DTLSStats struct {
	State       string `json:"state"`                  // new, connecting, connected, failed, closed
	Role        string `json:"role,omitempty"`         // client or server: switchboard's role
	SRTPProfile string `json:"srtp_profile,omitempty"` // e.g. SRTP_AEAD_AES_128_GCM
	Failures    uint64 `json:"failures"`               // failed handshakes
	// FirstRecord is when the browser's first DTLS record arrived (its
	// ClientHello, or its answer to ours); Connected when the SRTP keys
	// were in place.
	FirstRecord time.Time `json:"first_record,omitzero"`
	Connected   time.Time `json:"connected,omitzero"`
}

// Counter counts packets and their bytes.
type Counter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// LegStats counts one leg's traffic; In is what the leg's peer sent us.
type LegStats struct {
	RTPIn   Counter   `json:"rtp_in"`
	RTPOut  Counter   `json:"rtp_out"`
	RTCPIn  Counter   `json:"rtcp_in"`
	RTCPOut Counter   `json:"rtcp_out"`
	LastIn  time.Time `json:"last_in,omitzero"`
	LastOut time.Time `json:"last_out,omitzero"`
	// FirstRTPIn and FirstRTPOut are when the leg's first RTP packet came
	// in and went out: the start of audio each way.
	FirstRTPIn  time.Time `json:"first_rtp_in,omitzero"`
	FirstRTPOut time.Time `json:"first_rtp_out,omitzero"`
}

// BrowserStats is the browser leg. Dropped counts packets that could not be
// relayed: before the SRTP keys, replays, malformed, unknown kinds, no
// plain destination yet.
type BrowserStats struct {
	LegStats
	SRTPAuthFailures uint64 `json:"srtp_auth_failures"`
	Dropped          uint64 `json:"dropped"`
}

// PlainStats is the plain RTP leg: where it sends, how often the latch
// moved, and packets dropped because they came from a source that has not
// earned the latch (Stray) or could not be relayed (Dropped).
type PlainStats struct {
	LegStats
	Local      netip.AddrPort `json:"local,omitzero"`
	RemoteRTP  netip.AddrPort `json:"remote_rtp,omitzero"`
	RemoteRTCP netip.AddrPort `json:"remote_rtcp,omitzero"`
	Latches    uint64         `json:"latches"`
	Stray      uint64         `json:"stray"`
	Dropped    uint64         `json:"dropped"`
}

// counter and legCounters are the lock-free live versions.
type counter struct{ packets, bytes atomic.Uint64 }

func (c *counter) add(n int) {
	c.packets.Add(1)
	c.bytes.Add(uint64(n))
}

func (c *counter) snapshot() Counter {
	return Counter{Packets: c.packets.Load(), Bytes: c.bytes.Load()}
}

type legCounters struct {
	rtpIn, rtpOut, rtcpIn, rtcpOut counter
	lastIn, lastOut                atomic.Int64 // unix nanoseconds
	firstRTPIn, firstRTPOut        stamp
	dropped                        atomic.Uint64
}

// heardRTP counts an RTP packet of n bytes that came in at now.
func (l *legCounters) heardRTP(n int, now int64) {
	l.rtpIn.add(n)
	l.lastIn.Store(now)
	l.firstRTPIn.once(now)
}

// stamp is a time set once, in unix nanoseconds; zero is unset.
type stamp struct{ atomic.Int64 }

// once sets the stamp to now unless it is set: after the first packet it
// costs a load of a line the caller is writing anyway.
func (s *stamp) once(now int64) {
	if s.Load() == 0 {
		s.CompareAndSwap(0, now)
	}
}

func (s *stamp) time() time.Time { return unixTime(s.Load()) }

// rtpSent and rtcpSent are a leg's counters as the sock.Tally of the RTP
// or RTCP sent on it: a packet sent counts in rtpOut (rtcpOut) and moves
// lastOut to its tag, the unix ns it was relayed at; one not sent is
// dropped. As pointers into the leg, they report without allocating.
type (
	rtpSent  legCounters
	rtcpSent legCounters
)

func (l *rtpSent) Sent(n int, now int64) {
	l.rtpOut.add(n)
	l.lastOut.Store(now)
	l.firstRTPOut.once(now)
}

func (l *rtpSent) Dropped(int64) { l.dropped.Add(1) }

func (l *rtcpSent) Sent(n int, now int64) {
	l.rtcpOut.add(n)
	l.lastOut.Store(now)
}

func (l *rtcpSent) Dropped(int64) { l.dropped.Add(1) }

func (l *legCounters) snapshot() LegStats {
	return LegStats{
		RTPIn: l.rtpIn.snapshot(), RTPOut: l.rtpOut.snapshot(),
		RTCPIn: l.rtcpIn.snapshot(), RTCPOut: l.rtcpOut.snapshot(),
		LastIn: unixTime(l.lastIn.Load()), LastOut: unixTime(l.lastOut.Load()),
		FirstRTPIn: l.firstRTPIn.time(), FirstRTPOut: l.firstRTPOut.time(),
	}
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// dtlsState values, kept in an atomic.
const (
	dtlsNew int32 = iota
	dtlsConnecting
	dtlsConnected
	dtlsFailed
	dtlsClosed
)

var dtlsStateNames = [...]string{"new", "connecting", "connected", "failed", "closed"}
