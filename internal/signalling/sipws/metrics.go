package sipws

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts WebSocket connections. A nil *Metrics counts nothing.
type Metrics struct {
	open     prometheus.Gauge
	refusals *prometheus.CounterVec
	closes   *prometheus.CounterVec
}

// NewMetrics registers the WebSocket metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "switchboard", Subsystem: "websocket", Name: "connections",
			Help: "Open SIP WebSocket connections.",
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "websocket", Name: "handshakes_refused_total",
			Help: "WebSocket handshakes refused, by reason: not_websocket, version, duplicate_header, no_subprotocol, origin, draining, limit, handshake.",
		}, []string{"reason"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "websocket", Name: "closed_by_server_total",
			Help: "Connections the server closed, by reason: too_big, idle, framing, invalid_utf8, bad_close, ping_flood.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.open, m.refusals, m.closes)
	return m
}

func (m *Metrics) opened() {
	if m != nil {
		m.open.Inc()
	}
}

func (m *Metrics) closed() {
	if m != nil {
		m.open.Dec()
	}
}

func (m *Metrics) refused(reason string) {
	if m != nil {
		m.refusals.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) closedWith(reason string) {
	if m != nil {
		m.closes.WithLabelValues(reason).Inc()
	}
}
