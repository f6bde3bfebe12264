package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/netns"
)

// binary is the switchboard built once for the whole package by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "switchboard")
	// The binary embeds web/dist as it is now; NeedSoftphone builds the
	// page and a second binary when it was missing or stale.
	binaryHasWeb = webDistFresh()
	build := exec.Command("go", "build", "-o", binary, "../cmd/switchboard")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building switchboard:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Gateway is the real switchboard binary running as a child of the test.
type Gateway struct {
	cmd  *exec.Cmd
	log  string
	done chan error

	// Admin is the admin listener: /metrics and /calls.
	HTTP, UDP, TCP, Admin netip.AddrPort
	// Candidates are the media bridge's ICE candidate addresses, as its
	// start-up line "media bridge" lists them ("[127.0.0.1 10.0.0.2]").
	Candidates string
	// ns, when set, is the network namespace the gateway runs in: the
	// admin listener is reached there.
	ns *netns.NS
}

// AdminClient is an HTTP client that reaches the admin listener, inside
// the gateway's network namespace if it runs in one.
func (g *Gateway) AdminClient() *http.Client {
	if g.ns == nil {
		return http.DefaultClient
	}
	ns := g.ns
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
			err = ns.Do(func() (err error) {
				conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		},
	}}
}

// StartGateway writes config (YAML; the listen block, every listener on a
// free loopback port, the admin one included, is added when absent)
// to a file, starts the binary with -config and returns once it logged its
// bound addresses. A t.Cleanup sends SIGTERM and checks a clean exit.
func StartGateway(t testing.TB, config string) *Gateway {
	t.Helper()
	return startGatewayBinary(t, binary, config)
}

// startGatewayBinary is StartGateway running the switchboard binary bin.
func startGatewayBinary(t testing.TB, bin, config string) *Gateway {
	t.Helper()
	return startGatewayCmd(t, exec.Command(bin, "-config", writeGatewayConfig(t, config)))
}

// startGatewayIn is startGatewayBinary inside the network namespace ns;
// AdminClient reaches its admin listener there.
func startGatewayIn(t testing.TB, ns *netns.NS, bin, config string) *Gateway {
	t.Helper()
	g := startGatewayCmd(t, ns.Command(bin, "-config", writeGatewayConfig(t, config)))
	g.ns = ns
	return g
}

// writeGatewayConfig completes config as StartGateway says and writes it
// to a file in a temporary directory, whose path it returns.
func writeGatewayConfig(t testing.TB, config string) string {
	t.Helper()
	dir := t.TempDir()
	// A top-level "listen:" key, not media.webrtc_listen.
	if !strings.HasPrefix(config, "listen:") && !strings.Contains(config, "\nlisten:") {
		config = "listen:\n  http: 127.0.0.1:0\n  udp: 127.0.0.1:0\n  tcp: 127.0.0.1:0\n  admin: 127.0.0.1:0\n" + config
	}
	if !strings.Contains(config, "media:") {
		config += "\nmedia:\n  webrtc_listen: 127.0.0.1:0\n"
	}
	config += "\nlog:\n  format: json\n  level: debug\n"
	path := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startGatewayCmd starts cmd, a switchboard (perhaps behind a command such
// as ip netns exec that execs it), logging to the test's temporary
// directory, and returns once it logged its bound addresses. A t.Cleanup
// sends SIGTERM and checks a clean exit.
func startGatewayCmd(t testing.TB, cmd *exec.Cmd) *Gateway {
	t.Helper()
	g := &Gateway{cmd: cmd, log: filepath.Join(t.TempDir(), "switchboard.log"), done: make(chan error, 1)}
	logFile, err := os.Create(g.log)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	g.cmd.Stderr = io.MultiWriter(logFile, pw)
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := g.cmd.Wait()
		pw.Close()
		logFile.Close()
		g.done <- err
	}()
	t.Cleanup(func() { g.Stop(t) })
	if err := g.readAddrs(pr); err != nil {
		t.Fatalf("switchboard did not start: %v\n%s", err, g.Log())
	}
	go io.Copy(io.Discard, pr)
	return g
}

// readAddrs reads the log, JSON or text, until the "listening" line.
func (g *Gateway) readAddrs(r io.Reader) error {
	found := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := logFields(sc.Text())
			if line["msg"] == "media bridge" {
				g.Candidates = line["candidates"]
			}
			if line["msg"] != "listening" {
				continue
			}
			g.HTTP, _ = netip.ParseAddrPort(line["http"])
			g.UDP, _ = netip.ParseAddrPort(line["udp"])
			g.TCP, _ = netip.ParseAddrPort(line["tcp"])
			g.Admin, _ = netip.ParseAddrPort(line["admin"])
			found <- nil
			return
		}
		found <- fmt.Errorf("log ended before the listening line")
	}()
	select {
	case err := <-found:
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("no listening line within 10s")
	}
}

// logFields returns the string fields of one log line, written by slog's
// JSON handler or its text handler (key=value, values quoted when they
// hold spaces); it ignores nested groups and other lines.
func logFields(line string) map[string]string {
	fields := map[string]string{}
	if strings.HasPrefix(line, "{") {
		var raw map[string]any
		_ = json.Unmarshal([]byte(line), &raw)
		for k, v := range raw {
			if s, ok := v.(string); ok {
				fields[k] = s
			}
		}
		return fields
	}
	for line != "" {
		key, rest, ok := strings.Cut(line, "=")
		if !ok {
			break
		}
		value := rest
		if q, err := strconv.QuotedPrefix(rest); err == nil {
			value, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			value, rest, _ = strings.Cut(rest, " ")
		}
		fields[key] = value
		line = strings.TrimLeft(rest, " ")
	}
	return fields
}

// WSURL is the gateway's SIP WebSocket URL.
func (g *Gateway) WSURL() string { return "ws://" + g.HTTP.String() + "/ws" }

// Domain is the host users register under.
func (g *Gateway) Domain() string { return g.UDP.Addr().String() }

// Log returns what the gateway logged so far.
func (g *Gateway) Log() string {
	b, _ := os.ReadFile(g.log)
	return string(b)
}

// Stop sends SIGTERM and expects the process to drain and exit 0.
func (g *Gateway) Stop(t testing.TB) {
	t.Helper()
	if g.cmd.ProcessState != nil {
		return
	}
	if t.Failed() {
		t.Logf("switchboard log (tail):\n%s", tail(g.Log(), 30))
		keepLog(t, g.log)
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("switchboard exited with %v after SIGTERM\n%s", err, tail(g.Log(), 20))
		}
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		t.Errorf("switchboard still running 15s after SIGTERM")
	}
}

// keepLog copies a failed test's gateway log into the directory
// SB_KEEP_LOGS names, if it is set, where the test's temporary directory
// would otherwise remove it.
func keepLog(t testing.TB, path string) {
	dir := os.Getenv("SB_KEEP_LOGS")
	if dir == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err == nil {
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".log"
		err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	if err != nil {
		t.Logf("SB_KEEP_LOGS: %v", err)
		return
	}
	t.Logf("switchboard log kept in %s", dir)
}

// Pid is the gateway's process ID.
func (g *Gateway) Pid() int { return g.cmd.Process.Pid }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
