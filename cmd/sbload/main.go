// Command sbload is switchboard's load client (package loadgen). Its modes:
//
//   - media (the default) places WebRTC calls through a gateway to RTP
//     echoes it runs itself, and reports setup time, time to first audio,
//     loss, round-trip time, jitter and added latency;
//   - register is a REGISTER storm from -calls WebSocket clients at -rate;
//   - calls places calls without media (INVITE, 200, ACK, -hold, BYE) from
//     -calls WebSocket clients, all connected before the first call, and
//     reports the rate achieved, the share of calls completed (INVITE and
//     BYE answered 200) and the failures by cause.
//
// For example:
//
//	sbload -ws ws://127.0.0.1:8080/ws -udp 127.0.0.1:5060 -calls 100 -duration 10s -json out.json
//	sbload -mode register -ws wss://gw.example/ws -insecure -calls 50 -rate 500 -count 10000 -password pw
//	sbload -mode calls -calls 100 -rate 50 -hold 2s -duration 30s
//
// With -password, callers and phones answer digest challenges; otherwise
// the gateway must accept them unauthenticated. The media and calls modes
// register UDP phones that the gateway must reach on this host's loopback:
// run sbload on the gateway's host. With -pid, every mode also reports
// the CPU time of those processes: per call or REGISTER in the calls and
// register modes, in cores over the steady window in media mode. The
// report goes to stdout, a progress line a second to stderr.
//
// With -junk, sbload also floods the gateway's browser port, from one
// socket, with STUN checks naming no call, for as long as the load runs:
// what a port open to the internet gets, to see that the calls do not
// notice it.
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
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, out, errOut io.Writer) int {
	fs := flag.NewFlagSet("sbload", flag.ContinueOnError)
	fs.SetOutput(errOut)
	mode := fs.String("mode", "media", "media, calls (no media) or register")
	ws := fs.String("ws", "ws://127.0.0.1:8080/ws", "gateway SIP WebSocket URL, ws:// or wss://")
	insecure := fs.Bool("insecure", false, "skip the wss:// certificate check")
	domain := fs.String("domain", "", "domain users register and call under (default: -udp's IP)")
	user := fs.String("user", loadgen.DefaultUser, "caller user name; %d is replaced by the caller's number")
	password := fs.String("password", "", "digest password for callers and phones (default: no auth)")
	count := fs.Int("count", 0, "calls or REGISTERs to attempt in calls/register mode (0: until -duration)")
	hold := fs.Duration("hold", loadgen.DefaultHold, "how long each call is held in calls mode")
	udp := fs.String("udp", "127.0.0.1:5060", "gateway SIP UDP address, where the echoes' phones register")
	calls := fs.Int("calls", 100, "concurrent calls, or WebSocket clients in register mode")
	duration := fs.Duration("duration", loadgen.DefaultDuration, "media: steady window once every call is up; calls/register: how long to start new ones")
	rate := fs.Float64("rate", loadgen.DefaultRate, "calls or REGISTERs started per second")
	echoes := fs.Int("echoes", 0, "RTP echoes the calls are spread over (0: one per core, 4 at least)")
	baseline := fs.Bool("baseline", true, "first run the same load without the gateway, to report added latency")
	pids := fs.String("pid", "", "comma-separated gateway PIDs whose CPU is reported (same host)")
	jsonFile := fs.String("json", "", "also write the report as JSON to this file")
	cpuProfile := fs.String("cpuprofile", "", "write sbload's own CPU profile to this file")
	junk := fs.String("junk", "", "the gateway's browser port (ip:port): flood it with STUN checks naming no call while the load runs")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config(*ws, *udp, *pids)
	if err == nil && *mode != "media" && *mode != "calls" && *mode != "register" {
		err = fmt.Errorf("-mode: %q is not media, calls or register", *mode)
	}
	var junkTo netip.AddrPort
	if err == nil && *junk != "" {
		if junkTo, err = netip.ParseAddrPort(*junk); err != nil {
			err = fmt.Errorf("-junk: %w", err)
		}
	}
	if err != nil {
		fmt.Fprintln(errOut, "sbload:", err)
		return 2
	}
	if *cpuProfile != "" {
		stopProfile, err := startProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(errOut, "sbload:", err)
			return 1
		}
		defer stopProfile()
	}
	cfg.Calls, cfg.Duration, cfg.Rate, cfg.Echoes, cfg.Progress = *calls, *duration, *rate, *echoes, errOut
	cfg.Domain, cfg.User, cfg.Password, cfg.Insecure, cfg.Count, cfg.Hold = *domain, *user, *password, *insecure, *count, *hold
	var stopJunk func()
	if junkTo.IsValid() {
		stopJunk = startJunk(ctx, junkTo, errOut)
	}
	rep, err := measure(ctx, *mode, cfg, *baseline)
	if stopJunk != nil {
		stopJunk()
	}
	if err != nil {
		fmt.Fprintln(errOut, "sbload:", err)
		return 1
	}
	rep.WriteText(out)
	if *jsonFile != "" {
		if err := writeJSON(*jsonFile, rep); err != nil {
			fmt.Fprintln(errOut, "sbload:", err)
			return 1
		}
	}
	return 0
}

// report is what every mode returns.
type report interface{ WriteText(io.Writer) }

func measure(ctx context.Context, mode string, cfg loadgen.Config, baseline bool) (report, error) {
	switch mode {
	case "register":
		return loadgen.Register(ctx, cfg)
	case "calls":
		return loadgen.Calls(ctx, cfg)
	}
	return loadgen.Measure(ctx, cfg, baseline)
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

// startJunk floods to with loadgen.Junk until the returned func is
// called, which then reports what was sent to errOut.
func startJunk(ctx context.Context, to netip.AddrPort, errOut io.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sent, err := loadgen.Junk(ctx, to)
		if err != nil {
			fmt.Fprintln(errOut, "sbload: junk:", err)
			return
		}
		d := time.Since(start)
		fmt.Fprintf(errOut, "sbload: junk: %d STUN checks naming no call sent to %v in %v (%.0f a second)\n",
			sent, to, d.Round(time.Millisecond), float64(sent)/d.Seconds())
	}()
	return func() { cancel(); <-done }
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
