package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// pionLogs routes pion's loggers into slog. Pion is chatty: its trace, debug
// and info lines become Debug, its warnings Info, and its errors, which
// concern one peer and never the process, Warn. The warning pion/ice writes
// at every normal close ("Failed to read from candidate ...: io: read/write
// on closed pipe") becomes Debug: it was a log line per call.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) emit(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, msg)
}

func (l pionLogger) emitf(level slog.Level, format string, args []any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
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
