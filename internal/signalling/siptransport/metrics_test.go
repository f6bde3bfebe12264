package siptransport

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricsCountMessages(t *testing.T) {
	reg := prometheus.NewRegistry()
	in := NewInbound(InboundConfig{MaxMessageSize: 65535}, InboundDeps{Handler: &recorder{}, Metrics: NewMetrics(reg)})
	for range 3 {
		in.Message([]byte(validOptions), &fakeConn{})
	}
	in.Message([]byte("not SIP\r\n\r\n"), &fakeConn{})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"switchboard_sip_messages_received_total kind=request transport=WS": 3,
		"switchboard_sip_messages_rejected_total reason=malformed":          1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

func prometheusRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

// counter returns the sum of the named counter's series whose label has
// the given value.
func counter(reg *prometheus.Registry, name, label, value string) float64 {
	families, err := reg.Gather()
	if err != nil {
		return -1
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
