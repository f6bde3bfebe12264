package siptx

import (
	"strconv"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/ops/promchild"
)

// Metrics counts transactions. A nil *Metrics counts nothing.
type Metrics struct {
	starts  promchild.Cache[sideMethod, prometheus.Counter]
	live    promchild.Cache[string, prometheus.Gauge]
	answers promchild.Cache[methodClass, prometheus.Counter]
}

type sideMethod struct {
	side   string
	method sip.RequestMethod
}

type methodClass struct {
	method sip.RequestMethod
	class  int
}

// NewMetrics registers the transaction metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	starts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "sip", Name: "transactions_total",
		Help: "Transactions started, by side (server or client) and method.",
	}, []string{"side", "method"})
	live := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "switchboard", Subsystem: "sip", Name: "transactions",
		Help: "Live transactions, by side.",
	}, []string{"side"})
	answers := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "sip", Name: "final_responses_total",
		Help: "Final responses sent on server transactions, by method and status class (2xx..6xx).",
	}, []string{"method", "class"})
	reg.MustRegister(starts, live, answers)
	return &Metrics{
		starts: promchild.Cache[sideMethod, prometheus.Counter]{Make: func(k sideMethod) prometheus.Counter {
			return starts.WithLabelValues(k.side, string(k.method))
		}},
		live: promchild.Cache[string, prometheus.Gauge]{Make: func(side string) prometheus.Gauge {
			return live.WithLabelValues(side)
		}},
		answers: promchild.Cache[methodClass, prometheus.Counter]{Make: func(k methodClass) prometheus.Counter {
			return answers.WithLabelValues(string(k.method), strconv.Itoa(k.class)+"xx")
		}},
	}
}

func (m *Metrics) started(side string, method sip.RequestMethod) {
	if m == nil {
		return
	}
	m.starts.Get(sideMethod{side, method}).Inc()
	m.live.Get(side).Inc()
}

func (m *Metrics) ended(side string) {
	if m != nil {
		m.live.Get(side).Dec()
	}
}

func (m *Metrics) answered(method sip.RequestMethod, code int) {
	if m != nil {
		m.answers.Get(methodClass{method, code / 100}).Inc()
	}
}
