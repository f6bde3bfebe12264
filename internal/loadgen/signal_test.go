package loadgen

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestSignalReportShares(t *testing.T) {
	tests := []struct {
		name          string
		attempted     int
		ok            int
		completed     int
		started       time.Duration
		gwCPU         time.Duration
		pids          bool
		wantCompleted float64 // percent
		wantStarted   float64 // per second
		wantCPU       float64 // s
		wantCPUPerOK  float64 // µs
	}{
		{name: "all completed", attempted: 10, ok: 10, completed: 10, started: 2 * time.Second,
			gwCPU: 20 * time.Millisecond, pids: true, wantCompleted: 100, wantStarted: 5, wantCPU: 0.02, wantCPUPerOK: 2000},
		{name: "failed BYEs", attempted: 8, ok: 8, completed: 6, started: 4 * time.Second,
			gwCPU: 80 * time.Millisecond, pids: true, wantCompleted: 75, wantStarted: 2, wantCPU: 0.08, wantCPUPerOK: 10000},
		{name: "no PIDs", attempted: 4, ok: 2, completed: 2, started: time.Second,
			wantCompleted: 50, wantStarted: 4},
		{name: "nothing attempted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTally()
			for i := range tt.attempted {
				ta.attempt()
				if i < tt.ok {
					ta.success(time.Millisecond)
				}
				if i < tt.completed {
					ta.complete()
				}
			}
			ta.started, ta.gwCPU, ta.gwCPUSet = tt.started, tt.gwCPU, tt.pids
			rep := ta.report("calls", Config{Calls: 4, Rate: 5})
			if rep.Completed != tt.completed || rep.CompletedPercent != tt.wantCompleted || rep.StartedPerSecond != tt.wantStarted {
				t.Errorf("got %d completed (%v%%), started %v/s; want %d (%v%%), %v/s",
					rep.Completed, rep.CompletedPercent, rep.StartedPerSecond, tt.completed, tt.wantCompleted, tt.wantStarted)
			}
			if rep.GatewayCPU != tt.wantCPU || rep.GatewayCPUPerOK != tt.wantCPUPerOK {
				t.Errorf("got gateway CPU %v s, %v µs per ok; want %v, %v", rep.GatewayCPU, rep.GatewayCPUPerOK, tt.wantCPU, tt.wantCPUPerOK)
			}
		})
	}
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name  string
		count int
		busy  time.Duration // how long the one worker takes over job 0
		want  []time.Duration
	}{
		{name: "idle worker: on schedule", count: 4,
			want: []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond}},
		// Jobs 1 to 4 were due while the worker was busy: job 1 goes when
		// it is free, the rest on schedule from then, not all at once.
		{name: "busy worker: no catching up", count: 4, busy: 50 * time.Millisecond,
			want: []time.Duration{0, 50 * time.Millisecond, 60 * time.Millisecond, 70 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				jobs := make(chan int)
				var lags []time.Duration // sbload's own lateness: none in a bubble, busy worker or not
				go dispatch(context.Background(), Config{Rate: 100, Count: tt.count, Duration: time.Minute}, jobs,
					func(d time.Duration) { lags = append(lags, d) })
				start := time.Now()
				var got []time.Duration
				for i := range jobs {
					got = append(got, time.Since(start))
					if i == 0 {
						time.Sleep(tt.busy)
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("jobs handed at %v, want %v", got, tt.want)
				}
				if !slices.Equal(lags, make([]time.Duration, tt.count)) {
					t.Errorf("lags: got %v, want %d zeros", lags, tt.count)
				}
			})
		})
	}
}
