package loadgen

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// processCPU is the user plus system CPU time of pid, from /proc/PID/stat
// (fields 14 and 15, in USER_HZ ticks, which Linux fixes at 100).
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("loadgen: /proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("loadgen: /proc/%d/stat: bad times", pid)
	}
	return time.Duration(utime+stime) * time.Second / 100, nil
}

// cpuOf sums processCPU over pids.
func cpuOf(pids []int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		d, err := processCPU(pid)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

// hostTimes is the machine's CPU time, busy and in all, summed over its
// CPUs, from the first line of /proc/stat (in USER_HZ ticks).
type hostTimes struct{ busy, total int64 }

func readHostTimes() (hostTimes, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostTimes{}, err
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return hostTimes{}, fmt.Errorf("loadgen: /proc/stat: no cpu line")
	}
	var t hostTimes
	for i, f := range fields[1:min(len(fields), 9)] { // user nice system idle iowait irq softirq steal
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return hostTimes{}, fmt.Errorf("loadgen: /proc/stat: %w", err)
		}
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t, nil
}

// busyPercent is the share of the machine's CPU time that was busy from a
// to b, in percent; 0 when no time passed.
func busyPercent(a, b hostTimes) float64 {
	if b.total <= a.total {
		return 0
	}
	return 100 * float64(b.busy-a.busy) / float64(b.total-a.total)
}
