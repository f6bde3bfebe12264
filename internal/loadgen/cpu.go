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
