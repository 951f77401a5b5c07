package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

func TestJSONLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(LogConfig{Level: "warn", Format: LogFormatAuto}, &buf) // not a terminal: json
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", zap.String("k", "v"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line at warn level, got %q", buf.String())
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatalf("not JSON: %q: %v", lines[0], err)
	}
	if entry["msg"] != "shown" || entry["k"] != "v" || entry["level"] != "warn" {
		t.Errorf("entry = %v", entry)
	}
}

func TestConsoleLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(LogConfig{Level: "debug", Format: LogFormatConsole}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hello")
	out := buf.String()
	if !strings.Contains(out, "DEBUG") || !strings.Contains(out, "hello") || strings.HasPrefix(out, "{") {
		t.Errorf("console output = %q", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour codes written to a non-terminal: %q", out)
	}
}

func TestLoggerRejectsBadConfig(t *testing.T) {
	for _, c := range []LogConfig{{Level: "loud", Format: "json"}, {Level: "info", Format: "xml"}} {
		if _, err := NewLogger(c, &bytes.Buffer{}); !errors.Is(err, ErrConfig) {
			t.Errorf("NewLogger(%+v) = %v, want ErrConfig", c, err)
		}
	}
}

func TestFxEventsGoToZap(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(LogConfig{Level: "debug", Format: LogFormatJSON}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	app := fx.New(FxLogger(log), fx.Invoke(func() {}))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"logger":"fx"`) || !strings.Contains(buf.String(), "invok") {
		t.Errorf("fx events not logged through zap: %q", buf.String())
	}
}
