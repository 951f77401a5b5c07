package admin

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestUsageAndUnknownCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), nil, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "timerCancel") {
		t.Fatalf("no command: code %d, usage %q", code, errOut.String())
	}
	errOut.Reset()
	if code := Main(context.Background(), []string{"frobnicate"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: code %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := Main(context.Background(), []string{"topicRoute"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "-t TOPIC") {
		t.Fatalf("missing flag: code %d %q", code, errOut.String())
	}
}

func TestParseTime(t *testing.T) {
	if tm, err := parseTime("1700000000000"); err != nil || tm.UnixMilli() != 1700000000000 {
		t.Fatalf("ms: %v %v", tm, err)
	}
	if tm, err := parseTime("2026-11-21T06:00:00Z"); err != nil || tm.Unix() != time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC).Unix() {
		t.Fatalf("rfc3339: %v %v", tm, err)
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Fatal("nonsense accepted")
	}
}
