package callmedia

import (
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

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
	packets      *packetCollector
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
		packets: &packetCollector{desc: prometheus.NewDesc("switchboard_media_rtp_packets_total",
			"RTP packets switchboard received from (in) and sent to (out) the ends of anchored calls, by kind of end (browser, plain).",
			[]string{"leg", "direction"}, nil)},
	}
	for _, f := range refusalLabels() {
		m.refusals.WithLabelValues(f) // every fault shows, at 0 until it happens
	}
	reg.MustRegister(m.live, m.ends, m.srtpFailures, m.dtlsFailures, m.refusals, m.packets)
	return m
}

// watch makes the packet counters read mgr's calls.
func (m *Metrics) watch(mgr *Manager) {
	if m != nil {
		m.packets.mgr.Store(mgr)
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
