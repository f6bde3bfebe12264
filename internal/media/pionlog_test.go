package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestPionWarningLevels(t *testing.T) {
	var buf bytes.Buffer
	l := newPionLogs(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))).NewLogger("ice")
	l.Warnf("Failed to read from candidate %s: %v", "udp4 host 127.0.0.1:1", fmt.Errorf("read: %w", io.ErrClosedPipe))
	l.Warnf("Failed to read from candidate %s: %v", "udp4 host 127.0.0.1:1", errors.New("connection refused"))
	l.Errorf("DTLS: %v", errors.New("bad record"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"level=DEBUG", "level=INFO", "level=WARN"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want %s", i, lines[i], w)
		}
	}
}

// TestPionLinesLimited: a peer that makes pion warn on every packet gets
// pionBurst lines logged, then none until tokens come back; the next line
// says how many were left out. Debug lines are not limited.
func TestPionLinesLimited(t *testing.T) {
	var buf bytes.Buffer
	logs := newPionLogs(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l := logs.NewLogger("ice")
	for range 1000 {
		l.Warn("Failed to handle decode ICE")
		l.Debug("a debug line")
	}
	warns := strings.Count(buf.String(), "level=INFO")
	if warns < pionBurst || warns > pionBurst+2 { // a token or two may come back meanwhile
		t.Errorf("%d warnings logged of 1000, want about %d", warns, pionBurst)
	}
	if got := strings.Count(buf.String(), "level=DEBUG"); got != 1000 {
		t.Errorf("%d debug lines logged, want 1000", got)
	}
	buf.Reset()
	ok, skipped := logs.limit.allow(time.Now().Add(time.Second))
	if !ok || skipped < 1000-pionBurst-2 {
		t.Errorf("a second later: allowed %v, %d skipped, want allowed and about %d", ok, skipped, 1000-pionBurst)
	}
}
