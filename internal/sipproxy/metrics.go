package sipproxy

import (
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the proxy decides. A nil *Metrics counts nothing.
type Metrics struct {
	requests  children[sip.RequestMethod, prometheus.Counter]
	rejects   children[int, prometheus.Counter]
	registers children[int, prometheus.Counter]
	strays    prometheus.Counter
}

// NewMetrics registers the proxy metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "requests_total",
		Help: "Requests that started a server transaction, by method.",
	}, []string{"method"})
	rejects := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "rejected_total",
		Help: "Requests the proxy answered itself with a failure, by status code.",
	}, []string{"code"})
	registers := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "registrar", Name: "registers_total",
		Help: "REGISTERs answered by the registrar, by status code.",
	}, []string{"code"})
	strays := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "stray_responses_total",
		Help: "Responses that matched no transaction and were dropped.",
	})
	reg.MustRegister(requests, rejects, registers, strays)
	return &Metrics{
		requests: children[sip.RequestMethod, prometheus.Counter]{make: func(m sip.RequestMethod) prometheus.Counter {
			return requests.WithLabelValues(string(m))
		}},
		rejects:   children[int, prometheus.Counter]{make: byCode(rejects)},
		registers: children[int, prometheus.Counter]{make: byCode(registers)},
		strays:    strays,
	}
}

func byCode(vec *prometheus.CounterVec) func(int) prometheus.Counter {
	return func(code int) prometheus.Counter { return vec.WithLabelValues(strconv.Itoa(code)) }
}

func (m *Metrics) request(method sip.RequestMethod) {
	if m != nil {
		m.requests.get(method).Inc()
	}
}

func (m *Metrics) rejected(code int) {
	if m != nil {
		m.rejects.get(code).Inc()
	}
}

func (m *Metrics) registered(code int) {
	if m != nil {
		m.registers.get(code).Inc()
	}
}

func (m *Metrics) stray() {
	if m != nil {
		m.strays.Inc()
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
