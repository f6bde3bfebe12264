package siptransport

import (
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/ops/promchild"
)

// Metrics counts what the transports read. A nil *Metrics counts nothing.
type Metrics struct {
	messages promchild.Cache[transportKind, prometheus.Counter] // every message
	rejects  *prometheus.CounterVec
}

type transportKind struct{ transport, kind string }

// NewMetrics registers the transport metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	messages := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "sip", Name: "messages_received_total",
		Help: "SIP messages accepted, by transport and kind (request or response).",
	}, []string{"transport", "kind"})
	m := &Metrics{
		messages: promchild.Cache[transportKind, prometheus.Counter]{Make: func(k transportKind) prometheus.Counter {
			return messages.WithLabelValues(k.transport, k.kind)
		}},
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "messages_rejected_total",
			Help: "SIP messages refused before routing, by reason: malformed, too_large, control_character, invalid, rate_limited.",
		}, []string{"reason"}),
	}
	reg.MustRegister(messages, m.rejects)
	return m
}

func (m *Metrics) received(msg sip.Message, transport string) {
	if m == nil {
		return
	}
	kind := "response"
	if _, ok := msg.(*sip.Request); ok {
		kind = "request"
	}
	m.messages.Get(transportKind{transport, kind}).Inc()
}

func (m *Metrics) rejected(reason string) {
	if m == nil {
		return
	}
	m.rejects.WithLabelValues(reason).Inc()
}
