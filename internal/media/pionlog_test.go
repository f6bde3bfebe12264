package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestPionWarningLevels(t *testing.T) {
	var buf bytes.Buffer
	l := pionLogs{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}.NewLogger("ice")
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
