package leakcheck

import (
	"os"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps failures instead of reporting them.
type recorder struct {
	testing.TB
	cleanups []func()
	failed   bool
}

func (r *recorder) Cleanup(f func())      { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}
func (r *recorder) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestCheckCatchesALeakedFile(t *testing.T) {
	defer func(g time.Duration) { grace = g }(grace)
	grace = 100 * time.Millisecond
	r := &recorder{TB: t}
	Check(r)
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r.runCleanups()
	if !r.failed {
		t.Error("a file left open went unnoticed")
	}
}

func TestCheckPassesWhenAllIsClosed(t *testing.T) {
	r := &recorder{TB: t}
	Check(r)
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	r.runCleanups()
	if r.failed {
		t.Error("nothing leaked, yet Check failed")
	}
}
