package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// browserKind names a browser the harness (e2e/browser/run.mjs) drives:
// the stock Debian package, never a downloaded build.
type browserKind string

const (
	// chromium is driven by playwright-core over CDP.
	chromium browserKind = "chromium"
	// firefox (firefox-esr) is driven by puppeteer-core over WebDriver BiDi.
	firefox browserKind = "firefox"
)

// browsers are the browsers every browser test runs in, one subtest each.
var browsers = []browserKind{chromium, firefox}

// path is the browser's executable, which scripts/test-deps.sh installs.
func (k browserKind) path() string {
	if k == firefox {
		return "/usr/bin/firefox-esr"
	}
	return "/usr/bin/chromium"
}

// eachBrowser runs test as a subtest per browser, named after it.
func eachBrowser(t *testing.T, test func(t *testing.T, kind browserKind)) {
	t.Helper()
	for _, kind := range browsers {
		t.Run(string(kind), func(t *testing.T) { test(t, kind) })
	}
}

// browserDir is the Node project with the SIP.js page and its driver.
const browserDir = "browser"

// NeedBrowser skips the test when the browser or node is missing in
// -short mode, and fails it otherwise (scripts/test-deps.sh installs
// chromium and firefox-esr; CI machines have node and npm). It then makes
// sure e2e/browser is installed (npm ci) and its page bundled (npm run
// build), once per test binary.
func NeedBrowser(t testing.TB, kind browserKind) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(kind.path()); err != nil {
		missing = append(missing, kind.path())
	}
	for _, cmd := range []string{"node", "npm"} {
		if _, err := exec.LookPath(cmd); err != nil {
			missing = append(missing, cmd)
		}
	}
	if len(missing) > 0 {
		if testing.Short() {
			t.Skipf("%s missing (scripts/test-deps.sh installs the browsers)", strings.Join(missing, ", "))
		}
		t.Fatalf("%s missing: run scripts/test-deps.sh (only -short runs may skip this test)", strings.Join(missing, ", "))
	}
	npmOnce.Do(func() { npmErr = npmSetup() })
	if npmErr != nil {
		t.Fatal(npmErr)
	}
}

var (
	npmOnce sync.Once
	npmErr  error
)

// npmSetup runs npm ci when node_modules is missing or older than the lock
// file, then bundles the page.
func npmSetup() error {
	lock, err := os.Stat(filepath.Join(browserDir, "package-lock.json"))
	if err != nil {
		return err
	}
	installed, err := os.Stat(filepath.Join(browserDir, "node_modules", ".package-lock.json"))
	if err != nil || installed.ModTime().Before(lock.ModTime()) {
		if err := npm("ci", "--no-audit", "--no-fund"); err != nil {
			return err
		}
	}
	return npm("run", "build")
}

func npm(args ...string) error {
	cmd := exec.Command("npm", args...)
	cmd.Dir = browserDir
	// playwright-core and puppeteer-core download nothing at install;
	// this makes sure of it.
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "PUPPETEER_SKIP_DOWNLOAD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm %s in e2e/%s: %v\n%s", strings.Join(args, " "), browserDir, err, out)
	}
	return nil
}

// Browser is one headless browser with a page open, driven by
// e2e/browser/run.mjs: Eval runs JavaScript in the page.
type Browser struct {
	Kind browserKind

	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan browserReply
	done    chan struct{} // closed once cmd has exited

	mu      sync.Mutex
	console strings.Builder // run.mjs's stderr: the page's console and its own notes
	nextID  int
}

type browserReply struct {
	ID    int             `json:"id"`
	Value json.RawMessage `json:"value"`
	Error string          `json:"error"`
}

// StartBrowser serves e2e/browser on 127.0.0.1, starts the browser kind
// with a microphone that plays a sine at hz, and opens sipjs.html for user
// on the gateway g. It returns once window.harness exists. A t.Cleanup
// closes the browser and, if the test failed, logs the page's console.
func StartBrowser(t testing.TB, kind browserKind, g *Gateway, user string, hz float64) *Browser {
	t.Helper()
	NeedBrowser(t, kind)
	srv := httptest.NewServer(http.FileServer(http.Dir(browserDir)))
	t.Cleanup(srv.Close)
	q := url.Values{"ws": {g.WSURL()}, "user": {user}, "domain": {g.Domain()}}
	return startBrowserAt(t, kind, user, srv.URL+"/sipjs.html?"+q.Encode(), hz)
}

// startBrowserAt starts the browser kind with a microphone playing hz on
// pageURL and returns once the page's global ready ("harness" unless given)
// exists; extra are more run.mjs flags. name labels the console in failure
// logs. Chromium plays a WAV file of the tone (toneWAV); Firefox's fake
// microphone is a sine whose frequency run.mjs sets.
func startBrowserAt(t testing.TB, kind browserKind, name, pageURL string, hz float64, extra ...string) *Browser {
	return startBrowserCmd(t, kind, nil, name, pageURL, hz, extra...)
}

// startBrowserCmd is startBrowserAt with run.mjs started under the command
// prefix wrap (such as ip netns exec NAME), if any.
func startBrowserCmd(t testing.TB, kind browserKind, wrap []string, name, pageURL string, hz float64, extra ...string) *Browser {
	t.Helper()
	NeedBrowser(t, kind)
	user := name
	wav, err := filepath.Abs(toneWAV(t, hz))
	if err != nil {
		t.Fatal(err)
	}
	b := &Browser{Kind: kind, replies: make(chan browserReply, 1), done: make(chan struct{})}
	args := append(append([]string{}, wrap...), "node", "run.mjs", "--url", pageURL, "--browser", string(kind),
		"--wav", wav, "--tone", fmt.Sprint(hz), "--executable", kind.path())
	args = append(args, extra...)
	b.cmd = exec.Command(args[0], args[1:]...)
	b.cmd.Dir = browserDir
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so cleanup can kill the browser too
	b.cmd.Stderr = consoleWriter{b}
	if b.stdin, err = b.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go b.readReplies(stdout)
	t.Cleanup(func() {
		b.close()
		if t.Failed() {
			t.Logf("%s %s console:\n%s", kind, user, b.Console())
		}
	})
	select {
	case r, ok := <-b.replies:
		if !ok || r.ID != 0 {
			t.Fatalf("%s %s did not start:\n%s", kind, user, b.Console())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s %s not ready within 30s:\n%s", kind, user, b.Console())
	}
	return b
}

// readReplies passes run.mjs's answers to Eval and closes replies, then
// done, when the process has gone.
func (b *Browser) readReplies(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r browserReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			b.logf("go: unparsable reply %q", sc.Text())
			continue
		}
		b.replies <- r
	}
	close(b.replies)
	_ = b.cmd.Wait()
	close(b.done)
}

// Eval evaluates expr in the page, awaiting it if it is a promise, and
// decodes its value into out (which may be nil). Requests are not
// concurrent: one test goroutine drives a browser.
func (b *Browser) Eval(expr string, timeout time.Duration, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.mu.Unlock()
	return b.request(map[string]any{"id": id, "expr": expr}, expr, timeout, out)
}

// Screenshot saves a PNG of the whole page at path.
func (b *Browser) Screenshot(path string) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.mu.Unlock()
	return b.request(map[string]any{"id": id, "screenshot": path}, "screenshot "+path, 15*time.Second, nil)
}

// SetViewport resizes the page to width×height CSS pixels.
func (b *Browser) SetViewport(width, height int) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.mu.Unlock()
	size := map[string]int{"width": width, "height": height}
	return b.request(map[string]any{"id": id, "viewport": size}, fmt.Sprintf("viewport %dx%d", width, height), 5*time.Second, nil)
}

// request sends one request to run.mjs and waits for its reply.
func (b *Browser) request(r map[string]any, expr string, timeout time.Duration, out any) error {
	id := r["id"].(int)
	req, _ := json.Marshal(r)
	if _, err := b.stdin.Write(append(req, '\n')); err != nil {
		return fmt.Errorf("%s: %w", expr, err)
	}
	select {
	case r, ok := <-b.replies:
		switch {
		case !ok:
			return fmt.Errorf("%s: the browser exited", expr)
		case r.ID != id:
			return fmt.Errorf("%s: reply %d to request %d", expr, r.ID, id)
		case r.Error != "":
			return fmt.Errorf("%s: %s", expr, r.Error)
		case out != nil:
			return json.Unmarshal(r.Value, out)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s: no answer within %v", expr, timeout)
	}
}

// MustEval is Eval that fails the test on error.
func (b *Browser) MustEval(t testing.TB, expr string, timeout time.Duration, out any) {
	t.Helper()
	if err := b.Eval(expr, timeout, out); err != nil {
		t.Fatal(err)
	}
}

// WaitTone polls harness.toneScore(freqHz), once the page has a whole
// second of received audio, until it reaches min, and returns the last
// score, or an error with it after timeout.
func (b *Browser) WaitTone(freqHz, min float64, timeout time.Duration) (float64, error) {
	deadline := time.Now().Add(timeout)
	for {
		var score, heard float64
		if err := b.Eval("harness.heard()", 5*time.Second, &heard); err != nil {
			return 0, err
		}
		if err := b.Eval(fmt.Sprintf("harness.toneScore(%g)", freqHz), 5*time.Second, &score); err != nil {
			return 0, err
		}
		if heard >= 1 && score >= min {
			return score, nil
		}
		if time.Now().After(deadline) {
			var level float64
			var stats json.RawMessage
			_ = b.Eval("harness.level()", 5*time.Second, &level)
			_ = b.Eval("harness.stats()", 5*time.Second, &stats)
			return score, fmt.Errorf("%g Hz score %.3f after %v, want ≥ %.2f (level %.4f, stats %s)", freqHz, score, timeout, min, level, stats)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ToneScore returns harness.toneScore(freqHz), failing the test on error.
func (b *Browser) ToneScore(t testing.TB, freqHz float64) float64 {
	t.Helper()
	var score float64
	b.MustEval(t, fmt.Sprintf("harness.toneScore(%g)", freqHz), 5*time.Second, &score)
	return score
}

// Console returns what the page logged so far.
func (b *Browser) Console() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.console.String()
}

func (b *Browser) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintf(&b.console, format+"\n", args...)
}

// close closes run.mjs's stdin, which makes it close the browser and exit, and
// kills the process group if that takes longer than 5 s.
func (b *Browser) close() {
	b.stdin.Close()
	select {
	case <-b.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.done
}

// consoleWriter appends run.mjs's stderr to the browser's console log.
type consoleWriter struct{ b *Browser }

func (w consoleWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.b.console.Write(p)
}
