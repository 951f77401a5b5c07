package app

import (
	"fmt"
	"io"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"
)

// NewLogger builds the process's one logger from the log section, writing to out (stderr in the
// binary). It is passed down explicitly; nothing here installs a global logger.
func NewLogger(cfg LogConfig, out io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Level)
	if err != nil {
		return nil, fmt.Errorf("%w: log.level: %w", ErrConfig, err)
	}
	tty := isTerminal(out)
	format := cfg.Format
	if format == LogFormatAuto {
		// People read a terminal; machines read everything else (files, journald, CI logs).
		format = LogFormatJSON
		if tty {
			format = LogFormatConsole
		}
	}
	var enc zapcore.Encoder
	switch format {
	case LogFormatConsole:
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		ec.EncodeDuration = zapcore.StringDurationEncoder
		if tty {
			ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(ec)
	case LogFormatJSON:
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewJSONEncoder(ec)
	default:
		return nil, fmt.Errorf("%w: log.format must be one of auto|console|json, got %q", ErrConfig, cfg.Format)
	}
	sink := zapcore.Lock(zapcore.AddSync(out))
	return zap.New(zapcore.NewCore(enc, sink, level), zap.AddCaller(), zap.ErrorOutput(sink)), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// FxLogger routes fx's own events (provides, invokes, hook timings) into log. They are logged at
// debug level because at info they would drown the broker's own start-up lines; fx's errors
// stay at error level.
func FxLogger(log *zap.Logger) fx.Option {
	return fx.WithLogger(func() fxevent.Logger {
		l := &fxevent.ZapLogger{Logger: log.Named("fx")}
		l.UseLogLevel(zapcore.DebugLevel)
		return l
	})
}
