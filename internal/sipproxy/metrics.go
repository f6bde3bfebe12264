package sipproxy

import (
	"strconv"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the proxy decides. A nil *Metrics counts nothing.
type Metrics struct {
	requests  *prometheus.CounterVec
	rejects   *prometheus.CounterVec
	registers *prometheus.CounterVec
	strays    prometheus.Counter
}

// NewMetrics registers the proxy metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "proxy", Name: "requests_total",
			Help: "Requests that started a server transaction, by method.",
		}, []string{"method"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "proxy", Name: "rejected_total",
			Help: "Requests the proxy answered itself with a failure, by status code.",
		}, []string{"code"}),
		registers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "registrar", Name: "registers_total",
			Help: "REGISTERs answered by the registrar, by status code.",
		}, []string{"code"}),
		strays: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "proxy", Name: "stray_responses_total",
			Help: "Responses that matched no transaction and were dropped.",
		}),
	}
	reg.MustRegister(m.requests, m.rejects, m.registers, m.strays)
	return m
}

func (m *Metrics) request(method sip.RequestMethod) {
	if m != nil {
		m.requests.WithLabelValues(string(method)).Inc()
	}
}

func (m *Metrics) rejected(code int) {
	if m != nil {
		m.rejects.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}

func (m *Metrics) registered(code int) {
	if m != nil {
		m.registers.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}

func (m *Metrics) stray() {
	if m != nil {
		m.strays.Inc()
	}
}
