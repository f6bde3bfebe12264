package media

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics reports what each of the engine's pollers handled, read from its
// counters at each scrape. A nil *Metrics reports nothing.
type Metrics struct {
	engine                            atomic.Pointer[Engine]
	packets, bytes, foreign, handoffs *prometheus.Desc
	refused                           *prometheus.Desc
}

// NewMetrics registers the pollers' metrics with reg; the Engine given it
// in Deps fills them.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("switchboard_media_poller_"+name, help, []string{"poller"}, nil)
	}
	m := &Metrics{
		packets: desc("packets_total", "Datagrams a media poller read, from browsers and from plain legs, by poller."),
		bytes:   desc("bytes_total", "Bytes of the datagrams a media poller read, by poller."),
		foreign: desc("foreign_packets_total",
			"Browser packets a poller relayed for a call whose plain leg another poller read at the time, by poller."),
		handoffs: desc("handoffs_total", "Calls whose plain leg a poller took over from another, by poller."),
		refused: prometheus.NewDesc("switchboard_media_poller_refused_total",
			"Datagrams of the browser port a poller neither relayed nor queued for ICE, by poller and reason: "+
				"malformed (not STUN, DTLS, RTP or RTCP in shape), unknown_ufrag (a STUN USERNAME no live call has), "+
				"unknown_source (not STUN, from an address that sent no check naming a live call).",
			[]string{"poller", "reason"}, nil),
	}
	reg.MustRegister(m)
	return m
}

// watch makes the metrics read e's pollers.
func (m *Metrics) watch(e *Engine) {
	if m != nil {
		m.engine.Store(e)
	}
}

// Describe and Collect make Metrics a prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.packets
	ch <- m.bytes
	ch <- m.foreign
	ch <- m.handoffs
	ch <- m.refused
}

func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	e := m.engine.Load()
	if e == nil {
		return
	}
	for i, st := range e.PollerStats() {
		p := strconv.Itoa(i)
		ch <- prometheus.MustNewConstMetric(m.packets, prometheus.CounterValue, float64(st.Packets), p)
		ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.CounterValue, float64(st.Bytes), p)
		ch <- prometheus.MustNewConstMetric(m.foreign, prometheus.CounterValue, float64(st.Foreign), p)
		ch <- prometheus.MustNewConstMetric(m.handoffs, prometheus.CounterValue, float64(st.Handoffs), p)
		for r, n := range st.Refused {
			ch <- prometheus.MustNewConstMetric(m.refused, prometheus.CounterValue, float64(n), p, RefuseReason(r).String())
		}
	}
}
