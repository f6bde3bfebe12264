// Command switchboard is a WebRTC-to-SIP gateway. With no flags it runs with
// embedded development defaults on 127.0.0.1; -config names a YAML file.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	setGCPercent(os.Getenv("GOGC"))
	os.Exit(run(os.Args[1:], os.Stderr))
}

// defaultGCPercent is the garbage collector's target (GOGC) when the
// environment sets none: the heap may grow by twice what is live before a
// collection, rather than once. The live heap is small (a few KiB per
// client), so at Go's 100 a REGISTER load collects every few hundred
// messages; at 200 a REGISTER costs about 15% less CPU and an idle client
// 1.3–1.7 KiB more memory (docs/performance.md).
const defaultGCPercent = 200

// setGCPercent applies defaultGCPercent unless gogc, the GOGC environment
// variable, is set: then the runtime has applied it already.
func setGCPercent(gogc string) {
	if gogc == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration `file` (default: embedded development defaults)")
	checkOnly := fs.Bool("check-config", false, "check the configuration and exit 0 if it is valid, 1 if not")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stderr, "switchboard", version)
		return 0
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *checkOnly {
		if _, err := cfg.ReadFiles(); err != nil { // the certificates and keys it names, too
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintln(stderr, "configuration ok")
		return 0
	}
	log := newLogger(cfg.Log, stderr)
	if cfg.DevMode {
		log.Warn("DEVELOPMENT MODE: no config file, so the registrar is open and accepts any user without a password; SIP, HTTP and admin listen on 127.0.0.1 only (the media port, UDP 10000 on every interface, answers only the ICE checks of a call set up here). Use -config for anything else.")
	}
	gw, err := gateway.New(cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go exitOnSecondSignal(ctx, log)
	if err := gw.Run(ctx); err != nil {
		return 1
	}
	return 0
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Embedded(), nil
	}
	return config.Load(path)
}

// exitOnSecondSignal ends the process at once on a signal that arrives
// while the first one's drain is under way.
func exitOnSecondSignal(ctx context.Context, log *slog.Logger) {
	<-ctx.Done()
	again := make(chan os.Signal, 1)
	signal.Notify(again, syscall.SIGINT, syscall.SIGTERM)
	<-again
	log.Warn("second signal: stopping now")
	os.Exit(1)
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
