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
	closes   *prometheus.CounterVec
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
			Help: "SIP messages refused before routing, by reason: malformed, version, missing_header, duplicate_header, content_length, cseq_out_of_range, too_large, control_character, uri_scheme, invalid, rate_limited.",
		}, []string{"reason"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "connections_closed_total",
			Help: "TCP and TLS connections switchboard closed, by transport and reason: framing, tls_handshake, first_message_timeout, idle_timeout.",
		}, []string{"transport", "reason"}),
	}
	reg.MustRegister(messages, m.rejects, m.closes)
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

// receivedRequest counts a request that was handled from its bytes.
func (m *Metrics) receivedRequest(transport string) {
	if m != nil {
		m.messages.Get(transportKind{transport, "request"}).Inc()
	}
}

func (m *Metrics) rejected(reason string) {
	if m == nil {
		return
	}
	m.rejects.WithLabelValues(reason).Inc()
}

func (m *Metrics) connClosed(transport, reason string) {
	if m == nil {
		return
	}
	m.closes.WithLabelValues(transport, reason).Inc()
}
