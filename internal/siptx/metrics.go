package siptx

import (
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts transactions. A nil *Metrics counts nothing.
type Metrics struct {
	starts  children[sideMethod, prometheus.Counter]
	live    children[string, prometheus.Gauge]
	answers children[methodClass, prometheus.Counter]
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
		starts: children[sideMethod, prometheus.Counter]{make: func(k sideMethod) prometheus.Counter {
			return starts.WithLabelValues(k.side, string(k.method))
		}},
		live: children[string, prometheus.Gauge]{make: func(side string) prometheus.Gauge {
			return live.WithLabelValues(side)
		}},
		answers: children[methodClass, prometheus.Counter]{make: func(k methodClass) prometheus.Counter {
			return answers.WithLabelValues(string(k.method), strconv.Itoa(k.class)+"xx")
		}},
	}
}

func (m *Metrics) started(side string, method sip.RequestMethod) {
	if m == nil {
		return
	}
	m.starts.get(sideMethod{side, method}).Inc()
	m.live.get(side).Inc()
}

func (m *Metrics) ended(side string) {
	if m != nil {
		m.live.get(side).Dec()
	}
}

func (m *Metrics) answered(method sip.RequestMethod, code int) {
	if m != nil {
		m.answers.get(methodClass{method, code / 100}).Inc()
	}
}

// children caches the children of a metric vector by their label values,
// so that counting costs a map lookup rather than WithLabelValues'
// validation, hashing and locking. A child is made on first use, as
// WithLabelValues would, so what is exposed does not change.
type children[K comparable, M any] struct {
	make func(K) M

	// mu guards m.
	mu sync.RWMutex
	m  map[K]M
}

func (c *children[K, M]) get(k K) M {
	c.mu.RLock()
	m, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok = c.m[k]; !ok {
		if c.m == nil {
			c.m = make(map[K]M)
		}
		m = c.make(k)
		c.m[k] = m
	}
	return m
}
