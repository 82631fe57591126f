package devserver

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger bridges the Temporal server's logging interface to slog and
// drops everything below min: the server logs every service start, shard
// acquisition and membership change at Info, which drowns a dev terminal.
//
// It deliberately does not implement log.SLogWrapper: the server would then
// log to the slog.Logger directly and bypass min.
type serverLogger struct {
	l   *slog.Logger
	min slog.Level
	// ctx carries the caller's values (not its cancellation): the server's
	// logging interface has no context parameter.
	ctx context.Context
	// mute, when set, drops everything (see Server.Stop).
	mute *atomic.Bool
}

var (
	_ log.Logger     = serverLogger{}
	_ log.WithLogger = serverLogger{}
)

func (s serverLogger) Debug(msg string, tags ...tag.Tag) { s.log(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)  { s.log(slog.LevelInfo, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)  { s.log(slog.LevelWarn, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// DPanic, Panic and Fatal are logged as errors, as the Temporal CLI's dev
// server does: an embedded server must not exit or panic its host process.
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) Panic(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) Fatal(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }

func (s serverLogger) With(tags ...tag.Tag) log.Logger {
	return serverLogger{l: s.l.With(attrsToArgs(tagsToAttrs(tags))...), min: s.min, ctx: s.ctx, mute: s.mute}
}

func (s serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	if level < s.min || s.mute.Load() || !s.l.Enabled(s.ctx, level) {
		return
	}
	s.l.LogAttrs(s.ctx, level, msg, tagsToAttrs(tags)...)
}

func tagsToAttrs(tags []tag.Tag) []slog.Attr {
	attrs := make([]slog.Attr, len(tags))
	for i, t := range tags {
		attrs[i] = slog.Any(t.Key(), t.Value())
	}
	return attrs
}

func attrsToArgs(attrs []slog.Attr) []any {
	args := make([]any, len(attrs))
	for i, a := range attrs {
		args[i] = a
	}
	return args
}
