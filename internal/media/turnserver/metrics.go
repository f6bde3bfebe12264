package turnserver

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the TURN server's metrics (docs/metrics.md).
type Metrics struct {
	allocations *prometheus.CounterVec
	refusals    *prometheus.CounterVec
	credentials *prometheus.CounterVec
	// relays is read at scrape time: the traffic counters are the
	// allocations' own, added up only when asked.
	relays atomic.Pointer[relays]
}

// NewMetrics registers the TURN metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		allocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_turn_allocations_total",
			Help: "TURN allocations by result: created, quota_user, quota_total (486), failed (no relay port).",
		}, []string{"result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_turn_refused_total",
			Help: "TURN messages refused by reason: unauthorized (401), forbidden_peer (403, or a Send dropped), tcp_relay, connections, connections_per_ip.",
		}, []string{"reason"}),
		credentials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_turn_credentials_total",
			Help: "Requests for TURN credentials at the credentials endpoint, by result.",
		}, []string{"result"}),
	}
	for _, r := range []string{"created", "quota_user", "quota_total", "failed"} {
		m.allocations.WithLabelValues(r)
	}
	for _, r := range []string{"unauthorized", "forbidden_peer", "tcp_relay", "connections"} {
		m.refusals.WithLabelValues(r)
	}
	for _, r := range []string{"issued", "refused", "not_registered", "rate_limited", "bad_request"} {
		m.credentials.WithLabelValues(r)
	}
	reg.MustRegister(m.allocations, m.refusals, m.credentials, trafficCollector{m})
	return m
}

func (m *Metrics) refused(reason string) { m.refusals.WithLabelValues(reason).Inc() }

var (
	liveDesc = prometheus.NewDesc("switchboard_turn_allocations",
		"TURN allocations open now.", nil, nil)
	bytesDesc = prometheus.NewDesc("switchboard_turn_relayed_bytes_total",
		"Bytes relayed by TURN allocations, by direction: to_peer (sent from the relay) or from_peer (received on it).",
		[]string{"direction"}, nil)
	packetsDesc = prometheus.NewDesc("switchboard_turn_relayed_packets_total",
		"Packets relayed by TURN allocations, by direction.", []string{"direction"}, nil)
)

// trafficCollector adds up the allocations' counters at scrape time.
type trafficCollector struct{ m *Metrics }

func (c trafficCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- liveDesc
	ch <- bytesDesc
	ch <- packetsDesc
}

func (c trafficCollector) Collect(ch chan<- prometheus.Metric) {
	var live int
	var t traffic
	if r := c.m.relays.Load(); r != nil {
		live = r.count()
		t.add(r.total())
	}
	ch <- prometheus.MustNewConstMetric(liveDesc, prometheus.GaugeValue, float64(live))
	ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.CounterValue, float64(t.toPeerBytes.Load()), "to_peer")
	ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.CounterValue, float64(t.fromPeerBytes.Load()), "from_peer")
	ch <- prometheus.MustNewConstMetric(packetsDesc, prometheus.CounterValue, float64(t.toPeerPackets.Load()), "to_peer")
	ch <- prometheus.MustNewConstMetric(packetsDesc, prometheus.CounterValue, float64(t.fromPeerPackets.Load()), "from_peer")
}
