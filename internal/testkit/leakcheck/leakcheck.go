// Package leakcheck fails a test that leaves goroutines or file descriptors
// behind. It is for tests only.
package leakcheck

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// grace is how long Check lets goroutines and descriptors wind down.
var grace = 5 * time.Second

// Check records the goroutines and file descriptors open now and, when the
// test and its later-registered cleanups are done, fails it if there are
// more. Call it first in the test, so that its cleanup runs last. The test
// must not run in parallel with others in the same process.
func Check(t testing.TB) {
	t.Helper()
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	t.Cleanup(func() {
		deadline := time.Now().Add(grace)
		for (runtime.NumGoroutine() > goroutines || openFDs(t) > fds) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := openFDs(t); n > fds {
			t.Errorf("file descriptors: got %d, want <= %d", n, fds)
		}
		if n := runtime.NumGoroutine(); n > goroutines {
			t.Errorf("goroutines: got %d, want <= %d\n%s", n, goroutines, stacks())
		}
	})
}

// stacks lists each goroutine as its header and the frame it waits in.
func stacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(g, "\n")
		if len(lines) > 2 {
			out = append(out, lines[0]+" "+strings.TrimSpace(lines[len(lines)-2]))
		}
	}
	return strings.Join(out, "\n")
}

func openFDs(t testing.TB) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
