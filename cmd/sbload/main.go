// Command sbload is switchboard's media load client: it places WebRTC
// calls through a gateway to RTP echoes it runs itself, and reports loss,
// round-trip time, added latency and setup time (package loadgen).
//
//	sbload -ws ws://127.0.0.1:8080/ws -udp 127.0.0.1:5060 -calls 100 -duration 10s -json out.json
//
// The gateway must accept REGISTER and INVITE without authentication, and
// reach this host's loopback echoes: run sbload on the gateway's host.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-gw/switchboard/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout))
}

func run(ctx context.Context, args []string, out io.Writer) int {
	fs := flag.NewFlagSet("sbload", flag.ContinueOnError)
	fs.SetOutput(out)
	ws := fs.String("ws", "ws://127.0.0.1:8080/ws", "gateway SIP WebSocket URL")
	udp := fs.String("udp", "127.0.0.1:5060", "gateway SIP UDP address, where the echoes' phones register")
	calls := fs.Int("calls", 100, "concurrent calls")
	duration := fs.Duration("duration", loadgen.DefaultDuration, "steady window, once every call is up")
	rate := fs.Float64("rate", loadgen.DefaultRate, "calls started per second while ramping up")
	echoes := fs.Int("echoes", loadgen.DefaultEchoes, "RTP echoes the calls are spread over")
	baseline := fs.Bool("baseline", true, "first run the same load without the gateway, to report added latency")
	pids := fs.String("pid", "", "comma-separated gateway PIDs whose CPU is reported (same host)")
	jsonFile := fs.String("json", "", "also write the report as JSON to this file")
	cpuProfile := fs.String("cpuprofile", "", "write sbload's own CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		stopProfile, err := startProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(out, "sbload:", err)
			return 1
		}
		defer stopProfile()
	}
	cfg, err := config(*ws, *udp, *pids)
	if err != nil {
		fmt.Fprintln(out, "sbload:", err)
		return 2
	}
	cfg.Calls, cfg.Duration, cfg.Rate, cfg.Echoes, cfg.Progress = *calls, *duration, *rate, *echoes, out
	res, err := loadgen.Measure(ctx, cfg, *baseline)
	if err != nil {
		fmt.Fprintln(out, "sbload:", err)
		return 1
	}
	res.WriteText(out)
	if *jsonFile != "" {
		if err := writeJSON(*jsonFile, res); err != nil {
			fmt.Fprintln(out, "sbload:", err)
			return 1
		}
	}
	return 0
}

func config(ws, udp, pids string) (loadgen.Config, error) {
	addr, err := netip.ParseAddrPort(udp)
	if err != nil {
		return loadgen.Config{}, fmt.Errorf("-udp: %w", err)
	}
	cfg := loadgen.Config{WSURL: ws, SIPAddr: addr, SetupTimeout: 15 * time.Second}
	for f := range strings.SplitSeq(pids, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil {
			return loadgen.Config{}, fmt.Errorf("-pid: %w", err)
		}
		cfg.GatewayPIDs = append(cfg.GatewayPIDs, pid)
	}
	return cfg, nil
}

func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
