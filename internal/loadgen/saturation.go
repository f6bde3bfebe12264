package loadgen

import (
	"fmt"
	"io"
	"strings"
)

// The limits beyond which sbload calls itself saturated: its figures then
// measure its own lateness as much as the gateway's.
const (
	// maxSetupLagP99 is how late, at p99, set-ups may start against the
	// ramp's schedule (ms): beyond it the offered rate is not the rate
	// asked for, and set-ups queue inside sbload.
	maxSetupLagP99 = 20
	// maxSendLagP99 is how late, at p99, packets may go out (ms): one
	// frame; beyond it sbload adds the jitter and loss it reports.
	maxSendLagP99 = 20
	// maxCPUShare is the share of its cores sbload may keep busy, during
	// the ramp or the window, before it has none to spare.
	maxCPUShare = 0.9
	// busyHost is the machine's busy share (percent) from which a report
	// warns that the gateway had no CPU to spare either.
	busyHost = 90
)

// judge sets Saturated and Saturation from the report's own figures.
func (rep *Report) judge() {
	rep.Saturation = saturation(rep.SetupLag.P99, rep.SendLag.P99, max(rep.ClientCPU, rep.ClientCPURamp), rep.ClientCores)
	rep.Saturated = len(rep.Saturation) > 0
}

// saturation lists the limits sbload went past: set-ups (or requests)
// started late, packets sent late (ms, p99), its CPU (cores) against the
// cores it may use. None: not saturated.
func saturation(setupLagP99, sendLagP99, cpu float64, cores int) []string {
	var why []string
	if setupLagP99 > maxSetupLagP99 {
		why = append(why, fmt.Sprintf("set-ups started p99 %.0f ms late (limit %d ms)", setupLagP99, maxSetupLagP99))
	}
	if sendLagP99 > maxSendLagP99 {
		why = append(why, fmt.Sprintf("packets went out p99 %.0f ms late (limit %d ms)", sendLagP99, maxSendLagP99))
	}
	if cpu >= maxCPUShare*float64(cores) {
		why = append(why, fmt.Sprintf("sbload used %.2f of its %d cores", cpu, cores))
	}
	return why
}

// writeSaturation writes, first thing after the header, whether sbload
// was saturated, and whether the machine was.
func (rep *Report) writeSaturation(w io.Writer) {
	if rep.Saturated {
		fmt.Fprintf(w, "  sbload saturated: pacer lag p99 %.0f ms (set-ups) and %.0f ms (packets), CPU %.2f cores of %d: figures are not the gateway's (%s)\n",
			rep.SetupLag.P99, rep.SendLag.P99, max(rep.ClientCPU, rep.ClientCPURamp), rep.ClientCores, strings.Join(rep.Saturation, "; "))
	}
	if busy := max(rep.HostBusyRamp, rep.HostBusyWindow); busy >= busyHost {
		fmt.Fprintf(w, "  machine saturated: its CPUs were %.0f%% busy (ramp %.0f%%, window %.0f%%): the gateway shared them with sbload and whatever else runs here\n",
			busy, rep.HostBusyRamp, rep.HostBusyWindow)
	}
}

// writeClient writes sbload's own cost and lateness.
func (rep *Report) writeClient(w io.Writer) {
	fmt.Fprintf(w, "  sbload: CPU ramp %.2f cores (%.1f ms per set-up), window %.2f cores (%.2f ms per call-second) of %d; machine busy ramp %.0f%% window %.0f%%\n",
		rep.ClientCPURamp, rep.ClientCPUPerSetup, rep.ClientCPU, rep.ClientCPUPerCall, rep.ClientCores, rep.HostBusyRamp, rep.HostBusyWindow)
	fmt.Fprintf(w, "  sbload pacer lag: set-ups p50 %.1f ms  p99 %.1f ms  max %.1f ms; packets p50 %.0f ms  p99 %.0f ms  max %.0f ms\n",
		rep.SetupLag.P50, rep.SetupLag.P99, rep.SetupLag.Max, rep.SendLag.P50, rep.SendLag.P99, rep.SendLag.Max)
}
