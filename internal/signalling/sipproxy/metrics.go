package sipproxy

import (
	"strconv"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/ops/promchild"
)

// Metrics counts what the proxy decides. A nil *Metrics counts nothing.
type Metrics struct {
	requests  promchild.Cache[sip.RequestMethod, prometheus.Counter]
	rejects   promchild.Cache[int, prometheus.Counter]
	registers promchild.Cache[int, prometheus.Counter]
	auths     promchild.Cache[string, prometheus.Counter]
	inDialog  promchild.Cache[string, prometheus.Counter]
	strays    prometheus.Counter
	removed   promchild.Cache[string, prometheus.Counter]
	asserted  prometheus.Counter
	refused   *prometheus.CounterVec
	ackSDP    prometheus.Counter
	limited   *prometheus.CounterVec
	ended     *prometheus.CounterVec
	numbers   *prometheus.CounterVec
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
	auths := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "auth_total",
		Help: "Out-of-dialog requests checked before routing, by result: trusted, flow, digest, challenged, malformed, refused, identity_mismatch, untrusted, pbx_registered, unregistered.",
	}, []string{"result"})
	inDialog := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "in_dialog_refused_total",
		Help: "In-dialog requests and ACKs refused for not coming through switchboard, by reason: no_route, bad_token.",
	}, []string{"reason"})
	removed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "headers_removed_total",
		Help: "Headers removed from untrusted peers' requests before forwarding, by header: an identity header's name, configured (security.strip_headers) or Route (preloaded).",
	}, []string{"header"})
	asserted := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "identities_asserted_total",
		Help: "Requests forwarded to a trusted peer with a P-Asserted-Identity switchboard wrote for the authenticated user.",
	})
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "responses_sdp_refused_total",
		Help: "Responses whose SDP Media could not translate, by what became of them: not relayed (final: a 2xx to an INVITE, whose dialog switchboard ended) or relayed without the body (body_dropped).",
	}, []string{"action"})
	refused.WithLabelValues("final")
	refused.WithLabelValues("body_dropped")
	ackSDP := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "acks_sdp_refused_total",
		Help: "ACKs whose SDP (the answer to a late offer) Media could not translate: forwarded without it, and the dialog ended with BYE to both ends.",
	})
	limited, ended, numbers := policyMetrics()
	reg.MustRegister(requests, rejects, registers, auths, inDialog, strays, removed, asserted, refused, ackSDP, limited, ended, numbers)
	return &Metrics{
		requests: promchild.Cache[sip.RequestMethod, prometheus.Counter]{Make: func(m sip.RequestMethod) prometheus.Counter {
			return requests.WithLabelValues(string(m))
		}},
		rejects:   promchild.Cache[int, prometheus.Counter]{Make: byCode(rejects)},
		registers: promchild.Cache[int, prometheus.Counter]{Make: byCode(registers)},
		auths:     promchild.Cache[string, prometheus.Counter]{Make: byLabel(auths)},
		inDialog:  promchild.Cache[string, prometheus.Counter]{Make: byLabel(inDialog)},
		strays:    strays,
		removed: promchild.Cache[string, prometheus.Counter]{Make: func(h string) prometheus.Counter {
			return removed.WithLabelValues(h)
		}},
		asserted: asserted,
		refused:  refused,
		ackSDP:   ackSDP,
		limited:  limited,
		ended:    ended,
		numbers:  numbers,
	}
}

// policyMetrics are the counters of the per-user limits, the dialogs
// switchboard ends on its own, and the dial plan, each label present from
// the start.
func policyMetrics() (limited, ended, numbers *prometheus.CounterVec) {
	limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "user_limited_total",
		Help: "INVITEs of authenticated users refused 403 for their limits, by limit: calls_per_user, call_rate_per_user.",
	}, []string{"reason"})
	ended = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "dialogs_ended_total",
		Help: "Dialogs switchboard ended itself with BYE to both ends, by reason: max_call_duration, no_ack.",
	}, []string{"reason"})
	numbers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "proxy", Name: "numbers_refused_total",
		Help: "Calls towards trunks refused by the dial plan, by reason: invalid (404), phone_context (484), incomplete (484), not_allowed (403).",
	}, []string{"reason"})
	for _, l := range []string{limitCalls, limitRate} {
		limited.WithLabelValues(l)
	}
	for _, l := range []string{endMaxDuration, endNoAck} {
		ended.WithLabelValues(l)
	}
	for _, l := range []string{numberInvalid, numberPhoneContext, numberIncomplete, numberNotAllowed} {
		numbers.WithLabelValues(l)
	}
	return limited, ended, numbers
}

// userLimited counts an INVITE refused for its user's limit.
func (m *Metrics) userLimited(limit string) {
	if m != nil {
		m.limited.WithLabelValues(limit).Inc()
	}
}

// dialogEnded counts a dialog switchboard ended itself.
func (m *Metrics) dialogEnded(reason string) {
	if m != nil {
		m.ended.WithLabelValues(reason).Inc()
	}
}

// numberRefused counts a number the dial plan refused.
func (m *Metrics) numberRefused(reason string) {
	if m != nil {
		m.numbers.WithLabelValues(reason).Inc()
	}
}

func byLabel(vec *prometheus.CounterVec) func(string) prometheus.Counter {
	return func(v string) prometheus.Counter { return vec.WithLabelValues(v) }
}

func byCode(vec *prometheus.CounterVec) func(int) prometheus.Counter {
	return func(code int) prometheus.Counter { return vec.WithLabelValues(strconv.Itoa(code)) }
}

func (m *Metrics) request(method sip.RequestMethod) {
	if m != nil {
		m.requests.Get(method).Inc()
	}
}

func (m *Metrics) rejected(code int) {
	if m != nil {
		m.rejects.Get(code).Inc()
	}
}

func (m *Metrics) registered(code int) {
	if m != nil {
		m.registers.Get(code).Inc()
	}
}

// auth counts a result of admit.
func (m *Metrics) auth(result string) {
	if m != nil {
		m.auths.Get(result).Inc()
	}
}

// inDialogRefused counts an in-dialog request or ACK that hops.check
// refused with err.
func (m *Metrics) inDialogRefused(err error) {
	if m == nil {
		return
	}
	reason := "no_route"
	if err == errForgedToken {
		reason = "bad_token"
	}
	m.inDialog.Get(reason).Inc()
}

func (m *Metrics) stray() {
	if m != nil {
		m.strays.Inc()
	}
}

func (m *Metrics) headerRemoved(label string) {
	if m != nil {
		m.removed.Get(label).Inc()
	}
}

func (m *Metrics) identityAsserted() {
	if m != nil {
		m.asserted.Inc()
	}
}

// answerRefused counts a response whose SDP could not be translated: a 2xx
// not relayed when final, else one relayed without its body.
func (m *Metrics) answerRefused(final bool) {
	if m == nil {
		return
	}
	action := "body_dropped"
	if final {
		action = "final"
	}
	m.refused.WithLabelValues(action).Inc()
}

// ackRefused counts an ACK whose SDP could not be translated.
func (m *Metrics) ackRefused() {
	if m != nil {
		m.ackSDP.Inc()
	}
}
