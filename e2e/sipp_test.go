package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sippScenarioDir holds the scenarios StartSipp runs, relative to this
// package's directory (go test's working directory).
const sippScenarioDir = "testdata/sipp"

// Sipp is one sipp process playing one scenario for one call (-m 1), as a
// child of the test. Its logs live in a t.TempDir; a t.Cleanup kills it, so
// none outlives its test.
type Sipp struct {
	scenario string
	host     string // -i
	port     int
	dir      string // log directory, sipp's working directory
	cmd      *exec.Cmd
	cancel   context.CancelFunc
	done     chan struct{} // closed when cmd.Wait has returned

	// waitErr is cmd.Wait's result; it is written before done is closed.
	waitErr error
}

// NeedSipp skips the test when sipp is not on PATH in -short mode, and fails
// it otherwise: CI installs sipp (scripts/test-deps.sh), so a full run that
// cannot find it is broken, not partial.
func NeedSipp(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		if testing.Short() {
			t.Skip("sipp not on PATH (scripts/test-deps.sh installs it)")
		}
		t.Fatal("sipp not on PATH: run scripts/test-deps.sh (only -short runs may skip this test)")
	}
}

// StartSipp starts sipp on scenario, a file name under testdata/sipp (see
// its README.md) or a path, for one call on 127.0.0.1, and returns once sipp
// has bound its SIP port, so a peer may send to it at once. args go to sipp
// as they are: a UAC needs the remote host:port as the last one. Unless args
// set them, StartSipp adds -i 127.0.0.1, -m 1 and -p with a free UDP port.
func StartSipp(t testing.TB, scenario string, args ...string) *Sipp {
	t.Helper()
	NeedSipp(t)
	sf := scenario
	if !filepath.IsAbs(sf) && !strings.ContainsRune(sf, os.PathSeparator) {
		sf = filepath.Join(sippScenarioDir, sf)
	}
	sf, err := filepath.Abs(sf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sf); err != nil {
		t.Fatalf("sipp scenario: %v", err)
	}

	s := &Sipp{scenario: filepath.Base(sf), dir: t.TempDir(), done: make(chan struct{})}
	s.port = sippPortArg(t, args)
	if s.port == 0 {
		s.port = freeUDPPort(t)
		args = append([]string{"-p", strconv.Itoa(s.port)}, args...)
	}
	s.host = "127.0.0.1"
	if i := slices.Index(args, "-i"); i >= 0 && i+1 < len(args) {
		s.host = args[i+1]
	} else {
		args = append([]string{"-i", s.host}, args...)
	}
	if !slices.Contains(args, "-m") {
		args = append([]string{"-m", "1"}, args...)
	}
	full := append([]string{
		"-sf", sf,
		"-nostdin",
		"-trace_err", "-error_file", s.logPath("errors"),
		"-trace_msg", "-message_file", s.logPath("messages"),
		"-trace_logs", "-log_file", s.logPath("logs"),
	}, args...)

	screen, err := os.Create(s.logPath("screen"))
	if err != nil {
		t.Fatal(err)
	}
	defer screen.Close() // the child has its own copy

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.cmd = exec.CommandContext(ctx, "sipp", full...)
	s.cmd.Dir = s.dir // sipp's default-named files land here too
	s.cmd.Stdout = screen
	s.cmd.Stderr = screen
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp: %v", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() { // the SIP trace, before t.TempDir is removed
			t.Logf("sipp %s (port %d) messages (tail):\n%s",
				s.scenario, s.port, fileTail(s.logPath("messages"), 4096))
		}
	})

	if err := s.waitBound(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	return s
}

// Port returns the local SIP port sipp uses.
func (s *Sipp) Port() int { return s.port }

// Addr returns sipp's SIP address, host:port, for a peer to send to.
func (s *Sipp) Addr() string {
	return net.JoinHostPort(s.host, strconv.Itoa(s.port))
}

// Wait waits up to timeout for sipp to exit. It returns nil only when sipp
// exited 0 (every call succeeded); otherwise the error names the exit status
// and carries the tail of sipp's logs. After timeout sipp is killed.
func (s *Sipp) Wait(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-s.done:
	case <-timer.C:
		s.Kill()
		return fmt.Errorf("sipp %s: still running after %v, killed\n%s", s.scenario, timeout, s.tails())
	}
	if s.waitErr == nil {
		return nil
	}
	var exit *exec.ExitError
	if errors.As(s.waitErr, &exit) {
		return fmt.Errorf("sipp %s: exit status %d (%s)\n%s",
			s.scenario, exit.ExitCode(), sippExitMeaning(exit.ExitCode()), s.tails())
	}
	return fmt.Errorf("sipp %s: %w\n%s", s.scenario, s.waitErr, s.tails())
}

// Kill stops sipp if it is still running and returns once it has exited.
// It is safe to call more than once.
func (s *Sipp) Kill() {
	s.cancel()
	<-s.done
}

// waitBound polls until sipp has bound its SIP port, or fails early if
// sipp exits first (a scenario error, a port in use).
func (s *Sipp) waitBound(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		bound, ok := portBound(s.port)
		if !ok {
			// No /proc/net: give sipp a moment instead; SIP over UDP
			// retransmits anyway.
			time.Sleep(200 * time.Millisecond)
			return nil
		}
		if bound {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("sipp %s exited before binding port %d: %v\n%s", s.scenario, s.port, s.waitErr, s.tails())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sipp %s did not bind port %d within %v\n%s", s.scenario, s.port, timeout, s.tails())
		}
	}
}

func (s *Sipp) logPath(name string) string {
	return filepath.Join(s.dir, name+".log")
}

// tailBytes is how much of each log tails shows: the screen log is mostly
// sipp's statistics screen; its end still shows the scenario's counters.
var tailBytes = map[string]int{"errors": 2048, "logs": 1024, "screen": 1024}

// tails returns the ends of sipp's error, log-action and screen logs.
func (s *Sipp) tails() string {
	var b strings.Builder
	for _, name := range []string{"errors", "logs", "screen"} {
		if tail := fileTail(s.logPath(name), tailBytes[name]); tail != "" {
			fmt.Fprintf(&b, "--- %s.log (tail):\n%s\n", name, tail)
		}
	}
	if b.Len() == 0 {
		return "(sipp logged nothing)"
	}
	return b.String()
}

// fileTail returns up to the last n bytes of the file at path, from a line
// start, or "" if it is empty or unreadable.
func fileTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	// sipp's screen log is full of ANSI clears and CRs; drop them.
	data = bytes.ReplaceAll(data, []byte("\r"), nil)
	if len(data) > n {
		data = data[len(data)-n:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return strings.TrimSpace(string(data))
}

// sippExitMeaning explains sipp's exit statuses (sipp(1), "Exit codes").
func sippExitMeaning(code int) string {
	switch code {
	case 1:
		return "at least one call failed"
	case 97:
		return "exit on internal command"
	case 99:
		return "no call processed"
	case 255:
		return "fatal error"
	case 254:
		return "fatal error binding a socket"
	case -1:
		return "killed by a signal"
	}
	return "unknown"
}

// sippPortArg returns the value of -p in args, 0 if there is none.
func sippPortArg(t testing.TB, args []string) int {
	t.Helper()
	i := slices.Index(args, "-p")
	if i < 0 {
		return 0
	}
	if i+1 >= len(args) {
		t.Fatal("sipp: -p without a port")
	}
	port, err := strconv.Atoi(args[i+1])
	if err != nil || port <= 0 {
		t.Fatalf("sipp: bad -p %q", args[i+1])
	}
	return port
}

// freeUDPPort returns a UDP port on 127.0.0.1 that nothing was bound to a
// moment ago. Binding :0 and closing before sipp binds the port is a race in
// principle, but a benign one here: UDP has no TIME_WAIT, so the port is
// free again at once, and Linux picks ephemeral ports at random from a
// range of ~28k, so another :0 bind landing on the same port in those
// milliseconds is very unlikely. If it happens, sipp exits "fatal error
// binding a socket" and the test fails loudly rather than misbehaving.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// portBound reports whether a UDP socket or a listening TCP socket is bound
// to port on any local address, from /proc/net. ok is false when /proc/net
// cannot be read (not Linux).
func portBound(port int) (bound, ok bool) {
	want := fmt.Sprintf(":%04X", port)
	tables := []struct {
		file  string
		state string // "" for any state
	}{
		{"/proc/net/udp", ""},
		{"/proc/net/udp6", ""},
		{"/proc/net/tcp", "0A"}, // LISTEN
		{"/proc/net/tcp6", "0A"},
	}
	for _, tb := range tables {
		data, err := os.ReadFile(tb.file)
		if err != nil {
			continue
		}
		ok = true
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || !strings.HasSuffix(f[1], want) {
				continue
			}
			if tb.state == "" || f[3] == tb.state {
				return true, true
			}
		}
	}
	return false, ok
}
