package loadgen

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is what a run measured. Packet counts, loss and round-trip times
// cover the steady window only (see the package doc).
type Report struct {
	// Mode is "gateway" (Run) or "baseline" (Baseline).
	Mode string `json:"mode"`
	// Calls is how many calls were asked for, Up how many came up.
	Calls int `json:"calls"`
	Up    int `json:"calls_up"`
	// Failed counts calls that did not come up, by cause.
	Failed map[string]int `json:"failed"`
	// SRTPProfiles counts calls by SRTP profile.
	SRTPProfiles map[string]int `json:"srtp_profiles"`
	// Setup is INVITE sent to SRTP keys derived, in ms; zero in a baseline.
	Setup Quantiles `json:"setup_ms"`
	// FirstAudio is INVITE sent to the first echoed packet back, in ms,
	// over the calls that got one; zero in a baseline.
	FirstAudio Quantiles `json:"first_audio_ms"`
	// DTLSAfterAnswer is the 200 OK received to the SRTP keys (ICE and
	// DTLS done), and FirstAudioAfterAnswer the 200 OK to the first echoed
	// packet back, in ms; zero in a baseline.
	DTLSAfterAnswer       Quantiles `json:"dtls_after_200_ms"`
	FirstAudioAfterAnswer Quantiles `json:"first_audio_after_200_ms"`
	// Jitter is the RFC 3550 interarrival jitter of each call's echoed
	// stream over the window, in ms: the mean and the worst over calls.
	Jitter    float64 `json:"jitter_ms"`
	JitterMax float64 `json:"jitter_max_ms"`
	// WindowSeconds is the steady window's length.
	WindowSeconds float64 `json:"window_s"`
	// Sent and Received count the packets sent in the window and those of
	// them that came back; Loss is the rest, in percent.
	Sent     int64   `json:"packets_sent"`
	Received int64   `json:"packets_received"`
	Loss     float64 `json:"loss_percent"`
	// WorstCallLoss is the highest loss of one call, in percent;
	// CallsWithLoss counts the calls that lost any packet.
	WorstCallLoss float64 `json:"worst_call_loss_percent"`
	CallsWithLoss int     `json:"calls_with_loss"`
	// Bad counts packets received that did not decrypt or were not the
	// call's own.
	Bad int64 `json:"packets_bad"`
	// RTT is the round-trip time of the window's packets, in µs.
	RTT Quantiles `json:"rtt_us"`
	// DeliveredPerSecond counts the packets that arrived, at the echoes
	// and back at the callers, per second of the window: through a gateway,
	// the packets it relayed.
	DeliveredPerSecond float64 `json:"delivered_pps"`
	// ClientCPU is this process's CPU over the window, in cores (1 = one
	// core busy): callers, pacers and echoes together; ClientCPUPerCall is
	// the same per call up, in ms of CPU per second.
	ClientCPU        float64 `json:"client_cpu_cores"`
	ClientCPUPerCall float64 `json:"client_cpu_ms_per_call_s"`
	// ClientCPURamp is this process's CPU while the calls were set up, in
	// cores; ClientCPUPerSetup is that CPU time per call started, in ms.
	ClientCPURamp     float64 `json:"client_cpu_ramp_cores"`
	ClientCPUPerSetup float64 `json:"client_cpu_ms_per_setup"`
	// ClientCores is how many cores sbload may use (GOMAXPROCS).
	ClientCores int `json:"client_cores"`
	// HostBusyRamp and HostBusyWindow are the share of the machine's CPU
	// time that was busy, every process counted, during the ramp and the
	// window, in percent.
	HostBusyRamp   float64 `json:"host_cpu_busy_ramp_percent"`
	HostBusyWindow float64 `json:"host_cpu_busy_window_percent"`
	// SetupLag is how late each call's set-up started against the ramp's
	// schedule (call i at i/Rate s), and SendLag how late each 1 ms slot
	// of packets went out against the pacers' schedule, both in ms over
	// the whole run: sbload's own lateness, not the gateway's.
	SetupLag Quantiles `json:"setup_lag_ms"`
	SendLag  Quantiles `json:"send_lag_ms"`
	// Saturated says sbload could not keep its own schedule or had no CPU
	// to spare, so that its figures measure sbload as much as the gateway;
	// Saturation says why, one reason a line.
	Saturated  bool     `json:"saturated"`
	Saturation []string `json:"saturation,omitempty"`
	// GatewayCPU is the CPU of Config.GatewayPIDs over the window, in
	// cores; 0 when no PIDs were given. PerGatewayCore figures divide by it.
	GatewayCPU            float64 `json:"gateway_cpu_cores"`
	PacketsPerGatewayCore float64 `json:"packets_per_gateway_core_s"`
	CallsPerGatewayCore   float64 `json:"calls_per_gateway_core"`
	PacerLagMaxMillis     int64   `json:"pacer_lag_max_ms"`
	HangupErrors          int     `json:"hangup_errors"`
	SendErrors            int64   `json:"send_errors"`
}

// Quantiles summarise a distribution.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// quantiles of v, in units of unit; v is sorted in place.
func quantiles(v []int64, unit time.Duration) Quantiles {
	if len(v) == 0 {
		return Quantiles{}
	}
	slices.Sort(v)
	at := func(q float64) float64 { return float64(v[int(q*float64(len(v)-1))]) / float64(unit) }
	return Quantiles{P50: at(0.50), P99: at(0.99), Max: at(1)}
}

// report sums up a run from its samples at the start of the ramp (wr)
// and at the edges of the steady window (w0, w1).
func (r *runner) report(wr, w0, w1 window) *Report {
	secs := w1.at.Sub(w0.at).Seconds()
	rep := &Report{
		Mode: r.mode, Calls: r.cfg.Calls, Up: len(r.sessions), Failed: r.failed,
		SRTPProfiles: map[string]int{}, WindowSeconds: secs,
		DeliveredPerSecond: float64(w1.echoed-w0.echoed+w1.callersRecv-w0.callersRecv) / secs,
		ClientCPU:          (w1.clientCPU - w0.clientCPU).Seconds() / secs,
		GatewayCPU:         (w1.gwCPU - w0.gwCPU).Seconds() / secs,
		PacerLagMaxMillis:  r.pacer.lagMax(),
		ClientCores:        runtime.GOMAXPROCS(0),
		HostBusyRamp:       busyPercent(wr.host, w0.host),
		HostBusyWindow:     busyPercent(w0.host, w1.host),
		SetupLag:           quantiles(slices.Clone(r.setupLag[:r.started]), time.Millisecond),
	}
	lags := r.pacer.lags()
	rep.SendLag = lags.quantiles()
	if ramp := w0.at.Sub(wr.at).Seconds(); ramp > 0 {
		rep.ClientCPURamp = (w0.clientCPU - wr.clientCPU).Seconds() / ramp
	}
	if r.started > 0 {
		rep.ClientCPUPerSetup = float64(w0.clientCPU-wr.clientCPU) / float64(time.Millisecond) / float64(r.started)
	}
	if rep.Up > 0 {
		rep.ClientCPUPerCall = 1000 * rep.ClientCPU / float64(rep.Up)
	}
	var rtts, setups, firsts, dtlsAfter, firstsAfter []int64
	var jitterSum float64
	var jitterCalls int
	for _, s := range r.sessions {
		st := s.media()
		if st.firstRx > 0 {
			firsts = append(firsts, st.firstRx-st.inviteAt)
		}
		if st.answeredAt > 0 {
			dtlsAfter = append(dtlsAfter, st.keyedAt-st.answeredAt)
			if st.firstRx > 0 {
				firstsAfter = append(firstsAfter, st.firstRx-st.answeredAt)
			}
		}
		if st.jitterN > 1 {
			jitterSum += st.jitter
			jitterCalls++
			rep.JitterMax = max(rep.JitterMax, st.jitter/float64(time.Millisecond))
		}
		rep.SRTPProfiles[s.profile()]++
		rep.Sent += st.sent[phaseSteady]
		rep.Received += st.recv[phaseSteady]
		rep.Bad += st.bad
		rep.SendErrors += st.sendErr
		if lost := st.sent[phaseSteady] - st.recv[phaseSteady]; lost > 0 {
			rep.CallsWithLoss++
			rep.WorstCallLoss = max(rep.WorstCallLoss, 100*float64(lost)/float64(st.sent[phaseSteady]))
		}
		rtts = append(rtts, st.rtts...)
	}
	for _, d := range r.setups {
		setups = append(setups, int64(d))
	}
	if rep.Sent > 0 {
		rep.Loss = 100 * float64(rep.Sent-rep.Received) / float64(rep.Sent)
	}
	rep.RTT = quantiles(rtts, time.Microsecond)
	if jitterCalls > 0 {
		rep.Jitter = jitterSum / float64(jitterCalls) / float64(time.Millisecond)
	}
	if r.mode == "gateway" {
		rep.Setup = quantiles(setups, time.Millisecond)
		rep.FirstAudio = quantiles(firsts, time.Millisecond)
		rep.DTLSAfterAnswer = quantiles(dtlsAfter, time.Millisecond)
		rep.FirstAudioAfterAnswer = quantiles(firstsAfter, time.Millisecond)
	}
	if rep.GatewayCPU > 0 {
		rep.PacketsPerGatewayCore = rep.DeliveredPerSecond / rep.GatewayCPU
		rep.CallsPerGatewayCore = float64(rep.Up) / rep.GatewayCPU
	}
	rep.judge()
	return rep
}

// Added is the latency a gateway adds in each direction, in µs.
type Added struct {
	P50 float64 `json:"p50_us"`
	P99 float64 `json:"p99_us"`
}

// AddedLatency is half the difference between the gateway run's and the
// baseline's round-trip quantiles: (p(RTT_gw) − p(RTT_base)) / 2 for
// p = p50 and p99. It is a difference of quantiles, not a quantile of
// per-packet differences (the runs are not the same packets), and it
// splits the round trip evenly between the two directions.
func AddedLatency(gw, base *Report) Added {
	return Added{P50: (gw.RTT.P50 - base.RTT.P50) / 2, P99: (gw.RTT.P99 - base.RTT.P99) / 2}
}

// WriteText writes the report for people.
func (rep *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s: %d/%d calls up", rep.Mode, rep.Up, rep.Calls)
	if len(rep.Failed) > 0 {
		fmt.Fprintf(w, ", failed: %s", counts(rep.Failed))
	}
	fmt.Fprintln(w)
	rep.writeSaturation(w)
	if rep.Mode == "gateway" {
		fmt.Fprintf(w, "  setup (INVITE → SRTP)  p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", rep.Setup.P50, rep.Setup.P99, rep.Setup.Max)
		fmt.Fprintf(w, "  first audio (INVITE → first echo)  p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", rep.FirstAudio.P50, rep.FirstAudio.P99, rep.FirstAudio.Max)
		fmt.Fprintf(w, "  DTLS done (200 OK → SRTP)  p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", rep.DTLSAfterAnswer.P50, rep.DTLSAfterAnswer.P99, rep.DTLSAfterAnswer.Max)
		fmt.Fprintf(w, "  first audio (200 OK → first echo)  p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", rep.FirstAudioAfterAnswer.P50, rep.FirstAudioAfterAnswer.P99, rep.FirstAudioAfterAnswer.Max)
	}
	fmt.Fprintf(w, "  SRTP: %s\n", counts(rep.SRTPProfiles))
	fmt.Fprintf(w, "  window %.1f s: sent %d received %d loss %.3f%% (worst call %.2f%%, %d calls lost any) bad %d send errors %d\n",
		rep.WindowSeconds, rep.Sent, rep.Received, rep.Loss, rep.WorstCallLoss, rep.CallsWithLoss, rep.Bad, rep.SendErrors)
	fmt.Fprintf(w, "  RTT p50 %.0f µs  p99 %.0f µs  max %.0f µs  jitter (RFC 3550) mean %.3f ms  worst call %.3f ms\n",
		rep.RTT.P50, rep.RTT.P99, rep.RTT.Max, rep.Jitter, rep.JitterMax)
	fmt.Fprintf(w, "  delivered %.0f packets/s\n", rep.DeliveredPerSecond)
	rep.writeClient(w)
	if rep.GatewayCPU > 0 {
		fmt.Fprintf(w, "  gateway CPU %.3f cores: %.0f packets per core-second, %.0f calls per core\n",
			rep.GatewayCPU, rep.PacketsPerGatewayCore, rep.CallsPerGatewayCore)
	}
	if rep.HangupErrors > 0 {
		fmt.Fprintf(w, "  %d hangups failed\n", rep.HangupErrors)
	}
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
