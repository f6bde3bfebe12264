package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/logging"
)

// pionLogs routes pion's loggers into slog. Pion is chatty: its trace, debug
// and info lines become Debug, its warnings Info, and its errors, which
// concern one peer and never the process, Warn. The warning pion/ice writes
// at every normal close ("Failed to read from candidate ...: io: read/write
// on closed pipe") becomes Debug: it was a log line per call.
//
// The media port answers anyone, and pion logs what it cannot use (a STUN
// request without our username, say): what pion logs at Info or above is
// limited to pionBurst lines, then pionRate a second, and the lines left
// out are counted in the next one that passes. Debug lines are not
// limited: an operator who turns them on asked for everything.
type pionLogs struct {
	log   *slog.Logger
	limit *lineLimit
}

func newPionLogs(log *slog.Logger) pionLogs {
	return pionLogs{log: log, limit: &lineLimit{tokens: pionBurst}}
}

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope), limit: f.limit}
}

type pionLogger struct {
	log   *slog.Logger
	limit *lineLimit
}

func (l pionLogger) emit(level slog.Level, msg string) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	if level < slog.LevelInfo {
		l.log.Log(context.Background(), level, msg)
		return
	}
	ok, skipped := l.limit.allow(time.Now())
	switch {
	case !ok:
	case skipped > 0:
		l.log.Log(context.Background(), level, msg, "lines_skipped_before", skipped)
	default:
		l.log.Log(context.Background(), level, msg)
	}
}

func (l pionLogger) emitf(level slog.Level, format string, args []any) {
	if l.log.Enabled(context.Background(), level) {
		l.emit(level, fmt.Sprintf(format, args...))
	}
}

// pionBurst and pionRate bound pion's lines at Info and above.
const (
	pionBurst = 20
	pionRate  = 2 // lines a second
)

// lineLimit is a token bucket of log lines, shared by every pion logger
// of an engine; it is on the logging path, never the packet path.
type lineLimit struct {
	mu      sync.Mutex
	tokens  float64   // guarded by mu
	last    time.Time // guarded by mu
	skipped int       // lines refused since the last one allowed; guarded by mu
}

// allow takes a token at now; when it does, it returns how many lines
// were refused before.
func (l *lineLimit) allow(now time.Time) (ok bool, skipped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() {
		l.tokens = min(pionBurst, l.tokens+now.Sub(l.last).Seconds()*pionRate)
	}
	l.last = now
	if l.tokens < 1 {
		l.skipped++
		return false, 0
	}
	l.tokens--
	skipped, l.skipped = l.skipped, 0
	return true, skipped
}

func (l pionLogger) Trace(msg string)                  { l.emit(slog.LevelDebug-4, msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.emitf(slog.LevelDebug-4, format, args) }
func (l pionLogger) Debug(msg string)                  { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.emitf(slog.LevelDebug, format, args) }
func (l pionLogger) Info(msg string)                   { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.emitf(slog.LevelDebug, format, args) }
func (l pionLogger) Warn(msg string)                   { l.emit(slog.LevelInfo, msg) }
func (l pionLogger) Warnf(format string, args ...any) {
	level := slog.LevelInfo
	if strings.HasPrefix(format, "Failed to read from candidate") && closedPipe(args) {
		level = slog.LevelDebug
	}
	l.emitf(level, format, args)
}
func (l pionLogger) Error(msg string)                  { l.emit(slog.LevelWarn, msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.emitf(slog.LevelWarn, format, args) }

// closedPipe reports whether one of args is the error of a read on a
// closed pipe, which is how pion/ice's candidate reader learns of a close.
func closedPipe(args []any) bool {
	for _, a := range args {
		if err, ok := a.(error); ok && errors.Is(err, io.ErrClosedPipe) {
			return true
		}
	}
	return false
}
