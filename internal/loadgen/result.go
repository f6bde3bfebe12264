package loadgen

import (
	"context"
	"fmt"
	"io"
)

// Result is a gateway run and, when asked for, its baseline.
type Result struct {
	Gateway  *Report `json:"gateway"`
	Baseline *Report `json:"baseline,omitempty"`
	// Added is AddedLatency(Gateway, Baseline), with a baseline.
	Added *Added `json:"added_latency_us,omitempty"`
}

// Measure runs Baseline, if baseline is set, then Run with the same cfg.
func Measure(ctx context.Context, cfg Config, baseline bool) (*Result, error) {
	var res Result
	if baseline {
		base, err := Baseline(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		res.Baseline = base
	}
	gw, err := Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res.Gateway = gw
	if res.Baseline != nil {
		a := AddedLatency(gw, res.Baseline)
		res.Added = &a
	}
	return &res, nil
}

// WriteText writes the reports and the added latency for people.
func (res *Result) WriteText(w io.Writer) {
	if res.Baseline != nil {
		res.Baseline.WriteText(w)
	}
	res.Gateway.WriteText(w)
	if res.Added != nil {
		fmt.Fprintf(w, "added by the gateway, per direction: p50 %.0f µs  p99 %.0f µs\n", res.Added.P50, res.Added.P99)
	}
}
