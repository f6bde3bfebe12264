package callmedia

import (
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
)

// Metrics counts anchored calls and their media. A nil *Metrics counts
// nothing.
type Metrics struct {
	live         *prometheus.GaugeVec
	ends         *prometheus.CounterVec
	srtpFailures prometheus.Counter
	dtlsFailures prometheus.Counter
	refusals     *prometheus.CounterVec
	sheds        *prometheus.CounterVec
	packets      *packetCollector
	load         *loadCollector
}

// NewMetrics registers the media metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		live: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "switchboard", Subsystem: "media", Name: "anchored_calls",
			Help: "Calls whose media switchboard anchors now, by anchor (webrtc-plain, webrtc-webrtc, plain-plain).",
		}, []string{"anchor"}),
		ends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "media", Name: "calls_ended_total",
			Help: "Anchored calls ended, by reason and by verdict (both_ways, one_way, none).",
		}, []string{"reason", "verdict"}),
		srtpFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "media", Name: "srtp_auth_failures_total",
			Help: "SRTP and SRTCP packets from browsers that failed authentication, counted when their call ends.",
		}),
		dtlsFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "media", Name: "dtls_failures_total",
			Help: "Failed DTLS handshakes with browsers, counted when their call ends.",
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "media", Name: "sdp_refused_total",
			Help: "SDP bodies refused instead of forwarded, by fault (the SIP status is 488 but for no_ports, 503, and other, 500).",
		}, []string{"fault"}),
		sheds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "media", Name: "calls_refused_total",
			Help: "New calls refused with 503 and Retry-After before anything was forwarded, by reason: max_calls (media.max_calls anchored already) or overloaded (the browser-leg queues show saturation).",
		}, []string{"reason"}),
		load: newLoadCollector(),
		packets: &packetCollector{desc: prometheus.NewDesc("switchboard_media_rtp_packets_total",
			"RTP packets switchboard received from (in) and sent to (out) the ends of anchored calls, by kind of end (browser, plain).",
			[]string{"leg", "direction"}, nil)},
	}
	for _, f := range refusalLabels() {
		m.refusals.WithLabelValues(f) // every fault shows, at 0 until it happens
	}
	for _, r := range []string{errMaxCalls.label, errOverloaded.label} {
		m.sheds.WithLabelValues(r)
	}
	reg.MustRegister(m.live, m.ends, m.srtpFailures, m.dtlsFailures, m.refusals, m.sheds, m.packets, m.load)
	return m
}

// watch makes the packet counters read mgr's calls.
func (m *Metrics) watch(mgr *Manager) {
	if m != nil {
		m.packets.mgr.Store(mgr)
		m.load.engine.Store(mgr.engine)
	}
}

func (m *Metrics) started(a anchor) {
	if m != nil {
		m.live.WithLabelValues(a.String()).Inc()
	}
}

// ended counts a call that ended for reason, with its final state st.
func (m *Metrics) ended(st CallState, reason string) {
	if m == nil {
		return
	}
	m.live.WithLabelValues(st.Anchor).Dec()
	m.ends.WithLabelValues(reasonLabel(reason), string(st.class)).Inc()
	for _, b := range st.Media {
		m.srtpFailures.Add(float64(b.Browser.SRTPAuthFailures))
		m.dtlsFailures.Add(float64(b.DTLS.Failures))
	}
}

// shed counts a new call the gate refused with err.
func (m *Metrics) shed(err error) {
	if m != nil {
		m.sheds.WithLabelValues(refusalLabel(err)).Inc()
	}
}

// refused counts an SDP that Rewrite refused with err.
func (m *Metrics) refused(err error) {
	if m != nil {
		m.refusals.WithLabelValues(refusalLabel(err)).Inc()
	}
}

// refusalLabels are the faults an SDP is refused for, as metric labels: a
// browser's invalid SDP (sdprewrite.Faults), then the translation's own.
func refusalLabels() []string {
	var ls []string
	for _, f := range sdprewrite.Faults {
		ls = append(ls, f.Label)
	}
	return append(ls, "malformed", "no_common_codec", "new_fingerprint", "no_ports", "other")
}

// reasons are the reasons a call's media ends with, as metric labels:
// from the proxy (a BYE passing, the INVITE failing or cancelled, the
// browser's WebSocket lost), from the Manager (an SDP refused, shutdown),
// and from the media itself. Any other counts as "other".
var reasons = []string{
	"bye", "call_failed", "challenged", "cancelled", "websocket_lost", "sdp_refused", "shutdown",
	"media_timeout", "ice_failed", "dtls_failed", "dtls_closed",
}

func reasonLabel(reason string) string {
	r := strings.ReplaceAll(strings.ToLower(reason), " ", "_")
	for _, known := range reasons {
		if r == known {
			return r
		}
	}
	return "other"
}

// packetCounts counts RTP packets at the ends of calls.
type packetCounts [4]uint64

const (
	browserIn = iota
	browserOut
	plainIn
	plainOut
)

func (p *packetCounts) add(q packetCounts) {
	for i := range p {
		p[i] += q[i]
	}
}

// packets counts the RTP the call exchanged with its two parties: the
// loopback between the two bridges of a webrtc-webrtc call is not an end.
func (c *call) packets() packetCounts {
	var p packetCounts
	for _, b := range c.bridges {
		if b == nil {
			continue
		}
		st := b.Stats()
		p[browserIn] += st.Browser.RTPIn.Packets
		p[browserOut] += st.Browser.RTPOut.Packets
		if c.kind == webrtcPlain {
			p[plainIn] += st.Plain.RTPIn.Packets
			p[plainOut] += st.Plain.RTPOut.Packets
		}
	}
	if c.relay != nil {
		for _, l := range c.relay.Stats().Legs {
			p[plainIn] += l.RTPIn.Packets
			p[plainOut] += l.RTPOut.Packets
		}
	}
	return p
}

// packetCollector reports the packet counters at each scrape from the
// Manager's live and ended calls, so that they move during a call.
type packetCollector struct {
	desc *prometheus.Desc
	mgr  atomic.Pointer[Manager]
}

func (c *packetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *packetCollector) Collect(ch chan<- prometheus.Metric) {
	var p packetCounts
	if mgr := c.mgr.Load(); mgr != nil {
		p = mgr.packetTotals()
	}
	for i, labels := range [...][2]string{
		browserIn: {"browser", "in"}, browserOut: {"browser", "out"},
		plainIn: {"plain", "in"}, plainOut: {"plain", "out"},
	} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(p[i]), labels[0], labels[1])
	}
}

// loadCollector reports the engine's drop counters at each scrape, the
// raw signals behind the overload gate.
type loadCollector struct {
	mux, socket *prometheus.Desc
	engine      atomic.Pointer[media.Engine]
}

func newLoadCollector() *loadCollector {
	return &loadCollector{
		mux: prometheus.NewDesc("switchboard_media_mux_queue_dropped_total",
			"Browser-leg datagrams (STUN, DTLS, media of legs not yet relayed directly) dropped because the queue to the ICE mux was full.", nil, nil),
		socket: prometheus.NewDesc("switchboard_media_socket_dropped_total",
			"Datagrams the kernel dropped on the shared browser-leg socket, mostly because its receive queue was full: the poller reading it was behind.", nil, nil),
	}
}

func (c *loadCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.mux; ch <- c.socket }

func (c *loadCollector) Collect(ch chan<- prometheus.Metric) {
	var l media.Load
	if e := c.engine.Load(); e != nil {
		l = e.Load()
	}
	ch <- prometheus.MustNewConstMetric(c.mux, prometheus.CounterValue, float64(l.MuxDropped))
	ch <- prometheus.MustNewConstMetric(c.socket, prometheus.CounterValue, float64(l.SocketDropped))
}
