package services

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the services do. A nil *Metrics counts nothing.
type Metrics struct {
	calls   *prometheus.CounterVec
	rejects *prometheus.CounterVec
}

// NewMetrics registers the services' metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "services", Name: "calls_total",
			Help: "Calls to the built-in services that ended, by service and why: bye, cancelled, no_ack, no_rtp, max_duration, bad_answer.",
		}, []string{"service", "end"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "services", Name: "rejected_total",
			Help: "Requests the built-in services answered with a failure, by status code.",
		}, []string{"code"}),
	}
	reg.MustRegister(m.calls, m.rejects)
	return m
}

func (m *Metrics) ended(service, reason string) {
	if m != nil {
		m.calls.WithLabelValues(service, reason).Inc()
	}
}

func (m *Metrics) rejected(code int) {
	if m != nil {
		m.rejects.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}
