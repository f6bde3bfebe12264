package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/netns"
	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
)

// baresipModulePath is where Debian's baresip-core installs its modules.
const baresipModulePath = "/usr/lib/baresip/modules"

// baresipModules are the modules StartBaresip loads: G.711, the WAV file
// source, the sndfile recorder (it dumps the decoded audio of each call, which
// is how a test learns what the phone heard), and for control the menu's
// commands, the accounts file and the ctrl_tcp socket.
var baresipModules = []string{"g711", "aufile", "sndfile", "account", "menu", "ctrl_tcp"}

// baresipSilence is how long the silent WAV lasts that a phone without a
// Tone plays. baresip 1.0's aufile hangs up the call when its file ends, so
// this bounds the length of such a phone's calls; aufile loads the whole file
// per call (~10 ms for this one), so it should not be much longer.
const baresipSilence = 60 // seconds

// BaresipOptions configures a phone started by StartBaresip.
type BaresipOptions struct {
	// User is the SIP user name. The phone registers sip:User@host, host
	// being Registrar's.
	User string
	// Registrar is the gateway's UDP SIP address, host:port
	// (Gateway.UDP.String()). The phone sends all its SIP there, as an
	// outbound proxy.
	Registrar string
	// Tone is an 8 kHz mono 16-bit PCM WAV file (rtptest.WriteToneWAV) that
	// the phone plays into every call; empty plays silence. baresip 1.0
	// hangs up a call when the file ends, so its length bounds every call.
	Tone string
	// AutoAnswer answers incoming calls at once; otherwise they ring until
	// Answer.
	AutoAnswer bool
	// Netns, when set, is the network namespace the phone runs in (its
	// ctrl_tcp socket is dialled there); IP is the address its SIP and RTP
	// bind, 127.0.0.1 when empty.
	Netns *netns.NS
	IP    string
}

// Baresip is one baresip 1.0 process, a plain SIP/RTP phone (PCMU only) on
// 127.0.0.1, driven over its ctrl_tcp socket. Its configuration, log and
// audio dumps live in a t.TempDir. A t.Cleanup quits it, then kills it, so
// it never outlives its test; baresip's own -t timer also ends it shortly
// after the test binary's deadline, should the test binary itself be killed.
type Baresip struct {
	opts BaresipOptions
	host string // the registrar's host: the domain of the phone's AOR
	dir  string

	sipPort, ctrlPort int
	cmd               *exec.Cmd
	done              chan struct{} // closed when cmd.Wait has returned
	waitErr           error         // cmd.Wait's result, written before done is closed

	*baresipCtrl
}

// NeedBaresip skips the test when baresip or its modules are missing in
// -short mode, and fails it otherwise (scripts/test-deps.sh installs them).
func NeedBaresip(t testing.TB) {
	t.Helper()
	err := baresipInstalled()
	if err == nil {
		return
	}
	if testing.Short() {
		t.Skipf("%v (scripts/test-deps.sh installs it)", err)
	}
	t.Fatalf("%v: run scripts/test-deps.sh (only -short runs may skip this test)", err)
}

func baresipInstalled() error {
	if _, err := exec.LookPath("baresip"); err != nil {
		return errors.New("baresip not on PATH")
	}
	for _, m := range baresipModules {
		if _, err := os.Stat(filepath.Join(baresipModulePath, m+".so")); err != nil {
			return fmt.Errorf("baresip module %s missing", m)
		}
	}
	return nil
}

// StartBaresip starts a phone for opts.User and returns once it has
// registered with opts.Registrar.
func StartBaresip(t testing.TB, opts BaresipOptions) *Baresip {
	t.Helper()
	NeedBaresip(t)
	host, _, err := net.SplitHostPort(opts.Registrar)
	if err != nil || opts.User == "" {
		t.Fatalf("StartBaresip: need a User and a Registrar host:port, got %q, %q", opts.User, opts.Registrar)
	}
	b := &Baresip{opts: opts, host: host, dir: t.TempDir()}
	if b.opts.Tone == "" {
		b.opts.Tone = filepath.Join(b.dir, "silence.wav")
		if err := rtptest.WriteToneWAV(b.opts.Tone, 0, baresipSilence); err != nil {
			t.Fatal(err)
		}
	}
	if b.opts.Tone, err = filepath.Abs(b.opts.Tone); err != nil { // baresip runs in b.dir
		t.Fatal(err)
	}
	if err := os.Mkdir(b.audioDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	// baresip binds its SIP port on UDP and TCP, and TLS on the port after
	// it; any of these may be taken by the time it starts: try new ports.
	for attempt := 1; ; attempt++ {
		err = b.start(watchdog(t))
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == 3 {
			t.Fatalf("baresip %s: %v\n%s", opts.User, err, b.LogTail(20))
		}
	}
	t.Cleanup(func() {
		b.stop()
		if t.Failed() {
			t.Logf("baresip %s (sip %d, ctrl %d) log (tail):\n%s\nevents: %s",
				opts.User, b.sipPort, b.ctrlPort, b.LogTail(30), b.eventTypes())
		}
	})
	if err := b.waitRegistered(5 * time.Second); err != nil {
		t.Fatalf("baresip %s: %v", opts.User, err) // the cleanup logs its output
	}
	return b
}

// errPortInUse reports that baresip could not bind one of its ports.
var errPortInUse = errors.New("a port was taken")

// start writes the configuration with fresh ports, starts baresip and
// connects to its ctrl_tcp socket. On error no process is left running.
func (b *Baresip) start(quitAfter time.Duration) error {
	b.sipPort, b.ctrlPort = freeBaresipPorts()
	if err := b.writeConfig(); err != nil {
		return err
	}
	log, err := os.Create(b.logPath())
	if err != nil {
		return err
	}
	defer log.Close() // the child has its own copy
	args := []string{"-f", b.dir, "-t", strconv.Itoa(int(quitAfter.Seconds()))}
	b.cmd = exec.Command("baresip", args...)
	if b.opts.Netns != nil {
		b.cmd = b.opts.Netns.Command("baresip", args...)
	}
	b.cmd.Dir = b.dir
	b.cmd.Stdout, b.cmd.Stderr = log, log
	if err := b.cmd.Start(); err != nil {
		return err
	}
	b.done = make(chan struct{})
	go func() {
		b.waitErr = b.cmd.Wait()
		close(b.done)
	}()
	ctrl, err := b.waitReady(5 * time.Second)
	if err != nil {
		b.kill()
		return err
	}
	b.baresipCtrl = ctrl
	return nil
}

// waitReady waits until baresip has loaded its modules and connects to its
// ctrl_tcp socket. baresip exits when it cannot bind its SIP ports, but
// runs on without ctrl_tcp when that port is taken: the log tells, and
// errPortInUse is returned in both cases.
func (b *Baresip) waitReady(timeout time.Duration) (*baresipCtrl, error) {
	deadline := time.Now().Add(timeout)
	for {
		log := b.Log()
		if strings.Contains(log, "Address already in use") {
			return nil, errPortInUse
		}
		if strings.Contains(log, "baresip is ready.") {
			return dialBaresipCtrl(b.ctrlPort, b.opts.Netns)
		}
		select {
		case <-b.done:
			return nil, fmt.Errorf("exited during start-up: %v", b.waitErr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("not ready within %v", timeout)
		}
	}
}

// writeConfig writes baresip's config and accounts files. There is no
// audio_player: baresip then decodes what it receives (the sndfile dump
// shows it) and plays it nowhere, whereas the ALSA null player spins a CPU
// core per call.
func (b *Baresip) writeConfig() error {
	var conf strings.Builder
	fmt.Fprintf(&conf, "# Written by e2e.StartBaresip.\npoll_method epoll\n")
	ip := b.opts.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	fmt.Fprintf(&conf, "sip_listen %s:%d\nnet_interface %s\n", ip, b.sipPort, ip)
	fmt.Fprintf(&conf, "audio_source aufile,%s\n", b.opts.Tone)
	fmt.Fprintf(&conf, "module_path %s\n", baresipModulePath)
	for _, m := range baresipModules {
		kind := "module"
		if slices.Contains([]string{"account", "menu", "ctrl_tcp"}, m) {
			kind = "module_app"
		}
		fmt.Fprintf(&conf, "%s %s.so\n", kind, m)
	}
	fmt.Fprintf(&conf, "snd_path %s\nctrl_tcp_listen 127.0.0.1:%d\n", b.audioDir(), b.ctrlPort)
	if err := os.WriteFile(filepath.Join(b.dir, "config"), []byte(conf.String()), 0o644); err != nil {
		return err
	}
	answer := "manual"
	if b.opts.AutoAnswer {
		answer = "auto"
	}
	account := fmt.Sprintf("<sip:%s@%s>;regint=300;answermode=%s;audio_codecs=PCMU;outbound=\"sip:%s;transport=udp\"\n",
		b.opts.User, b.host, answer, b.opts.Registrar)
	return os.WriteFile(filepath.Join(b.dir, "accounts"), []byte(account), 0o644)
}

// URI is the phone's address of record, for a peer to dial.
func (b *Baresip) URI() string { return "sip:" + b.opts.User + "@" + b.host }

// Dial calls uri (through the registrar, the phone's outbound proxy).
func (b *Baresip) Dial(uri string) error {
	b.markDial()
	_, err := b.Command("dial", uri)
	return err
}

// Answer answers the ringing call (for a phone without AutoAnswer).
func (b *Baresip) Answer() error {
	_, err := b.Command("accept", "")
	return err
}

// Hangup ends the current call.
func (b *Baresip) Hangup() error {
	_, err := b.Command("hangup", "")
	return err
}

// ReceivedAudio returns what the phone heard in its latest call, decoded to
// 8 kHz 16-bit samples: baresip's sndfile module writes it to
// dump-<time>-dec.wav as packets arrive. Read it after the call has ended
// for all of it, or during the call for what has come so far. Two calls
// started in the same second share one file.
func (b *Baresip) ReceivedAudio() ([]int16, error) {
	dumps, err := filepath.Glob(filepath.Join(b.audioDir(), "dump-*-dec.wav"))
	if err != nil || len(dumps) == 0 {
		return nil, fmt.Errorf("baresip %s: no received-audio dump (no call yet?)", b.opts.User)
	}
	slices.Sort(dumps) // the names carry the time, to the second
	return rtptest.ReadWAV(dumps[len(dumps)-1])
}

// ForgetAudio removes the received-audio dumps of the phone's past calls,
// so that ReceivedAudio reads the next call's.
func (b *Baresip) ForgetAudio(t testing.TB) {
	t.Helper()
	dumps, _ := filepath.Glob(filepath.Join(b.audioDir(), "dump-*.wav"))
	for _, d := range dumps {
		if err := os.Remove(d); err != nil {
			t.Fatal(err)
		}
	}
}

// Log returns baresip's output so far, without the call status lines
// ("[0:00:03] audio=64000/64000 (bit/s)", transmit/receive bit rates) that
// it rewrites with a carriage return ten times a second during a call.
func (b *Baresip) Log() string {
	data, _ := os.ReadFile(b.logPath())
	var out []string
	for _, line := range strings.FieldsFunc(string(data), func(r rune) bool { return r == '\n' || r == '\r' }) {
		if !baresipStatusLine.MatchString(line) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, "\n")
}

var baresipStatusLine = regexp.MustCompile(`^\[\d+:\d\d:\d\d\] audio=`)

// LogTail returns the last n lines of Log.
func (b *Baresip) LogTail(n int) string { return tail(b.Log(), n) }

// waitRegistered polls the reginfo command until the account shows "OK".
func (b *Baresip) waitRegistered(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		info, err := b.Command("reginfo", "")
		if err != nil {
			return err
		}
		if registeredOK.MatchString(ansiEscape.ReplaceAllString(info, "")) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not registered with %s within %v: %q", b.opts.Registrar, timeout, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	ansiEscape   = regexp.MustCompile("\x1b\\[[0-9;]*m")
	registeredOK = regexp.MustCompile(`\sOK\s`)
)

// stop asks baresip to quit (it sends BYE for live calls and un-registers),
// and kills it if it has not exited within 3 s.
func (b *Baresip) stop() {
	if b.baresipCtrl != nil {
		_, _ = b.CommandTimeout("quit", "", time.Second)
	}
	select {
	case <-b.done:
	case <-time.After(3 * time.Second):
	}
	b.kill()
	if b.baresipCtrl != nil {
		b.baresipCtrl.close()
	}
}

// kill kills baresip if it still runs and waits until it has exited.
func (b *Baresip) kill() {
	select {
	case <-b.done:
	default:
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

func (b *Baresip) logPath() string  { return filepath.Join(b.dir, "baresip.log") }
func (b *Baresip) audioDir() string { return filepath.Join(b.dir, "audio") }

// watchdog is how long baresip may live (its -t): until 10 s past the test
// binary's deadline, or an hour without one.
func watchdog(t testing.TB) time.Duration {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			return time.Until(deadline) + 10*time.Second
		}
	}
	return time.Hour
}

// freeBaresipPorts returns a SIP port whose UDP and TCP ports and the TCP
// port after it (baresip's TLS) were free a moment ago, and a free TCP port
// for ctrl_tcp. Like freeUDPPort it races with other binds; StartBaresip
// retries when baresip reports a port in use.
func freeBaresipPorts() (sip, ctrl int) {
	for {
		var held []io.Closer
		sip = hold(&held, "tcp4", 0)
		udp := hold(&held, "udp4", sip)
		tls := hold(&held, "tcp4", sip+1)
		ctrl = hold(&held, "tcp4", 0)
		for _, c := range held {
			c.Close()
		}
		if sip != 0 && udp != 0 && tls != 0 && ctrl != 0 {
			return sip, ctrl
		}
	}
}

// hold binds network ("tcp4" or "udp4") on 127.0.0.1:port, adds the socket
// to held and returns the port bound, or 0 if the bind failed.
func hold(held *[]io.Closer, network string, port int) int {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if network == "udp4" {
		c, err := net.ListenPacket(network, addr)
		if err != nil {
			return 0
		}
		*held = append(*held, c)
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return 0
	}
	*held = append(*held, l)
	return l.Addr().(*net.TCPAddr).Port
}
