package siptx

import (
	"strconv"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts transactions. A nil *Metrics counts nothing.
type Metrics struct {
	starts  *prometheus.CounterVec
	live    *prometheus.GaugeVec
	answers *prometheus.CounterVec
}

// NewMetrics registers the transaction metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "transactions_total",
			Help: "Transactions started, by side (server or client) and method.",
		}, []string{"side", "method"}),
		live: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "transactions",
			Help: "Live transactions, by side.",
		}, []string{"side"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "final_responses_total",
			Help: "Final responses sent on server transactions, by method and status class (2xx..6xx).",
		}, []string{"method", "class"}),
	}
	reg.MustRegister(m.starts, m.live, m.answers)
	return m
}

func (m *Metrics) started(side string, method sip.RequestMethod) {
	if m == nil {
		return
	}
	m.starts.WithLabelValues(side, string(method)).Inc()
	m.live.WithLabelValues(side).Inc()
}

func (m *Metrics) ended(side string) {
	if m != nil {
		m.live.WithLabelValues(side).Dec()
	}
}

func (m *Metrics) answered(method sip.RequestMethod, code int) {
	if m != nil {
		m.answers.WithLabelValues(string(method), strconv.Itoa(code/100)+"xx").Inc()
	}
}
