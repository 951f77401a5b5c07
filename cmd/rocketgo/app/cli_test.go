package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/fx"
)

// syncBuffer is a bytes.Buffer safe to write from the run and read from the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cli runs Main with a fake wiring and returns the exit code and both outputs.
func cli(ctx context.Context, module ModuleFunc, environ []string, args ...string) (int, string, string) {
	var stdout, stderr syncBuffer
	if module == nil {
		module = func(Role, Config) fx.Option { return fakeRole(&trace{}) }
	}
	code := Main(ctx, args, IO{Stdout: &stdout, Stderr: &stderr, Environ: environ}, module)
	return code, stdout.String(), stderr.String()
}

func TestCLIUsageAndVersion(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		args     []string
		code     int
		out, err string
	}{
		{nil, ExitUsage, "", "Usage:"},
		{[]string{"version"}, ExitOK, "rocketgo " + Version + " (commit " + Commit + ", " + runtime.Version(), ""},
		{[]string{"help"}, ExitOK, "Usage:", ""},
		{[]string{"--help"}, ExitOK, "Usage:", ""},
		{[]string{"frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{[]string{"admin"}, ExitUsage, "", "timerCancel"},
		{[]string{"broker", "--help"}, ExitOK, "--check-config", ""},
		{[]string{"broker", "--no-such-flag"}, ExitUsage, "", "unknown flag: --no-such-flag"},
		{[]string{"namesrv", "extra"}, ExitUsage, "", "unexpected arguments: extra"},
		{[]string{"standalone", "--set", "storage.flush=sync"}, ExitUsage, "", `unknown config key "storage.flush" in --set storage.flush=sync`},
		{[]string{"standalone", "--check-config", "--set", "storage.mmap.flush=never"}, ExitUsage, "", "storage.mmap.flush must be one of async|sync"},
		{[]string{"broker", "--namesrv-addr", ""}, ExitUsage, "", "broker.namesrvAddrs is empty"},
	}
	for _, c := range cases {
		code, out, errOut := cli(ctx, nil, nil, c.args...)
		if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) {
			t.Errorf("rocketgo %q = %d\nstdout %q\nstderr %q\nwant %d, stdout with %q, stderr with %q", c.args, code, out, errOut, c.code, c.out, c.err)
		}
	}
}

func TestCLICheckConfig(t *testing.T) {
	env := []string{"ROCKETGO_BROKER__NAME=b1"}
	args := []string{"standalone", "--check-config", "--data-dir", "/srv/rg", "--set", "storage.mmap.flush=sync"}
	code, out, errOut := cli(context.Background(), func(Role, Config) fx.Option {
		t.Error("--check-config must not build the wiring")
		return fx.Options()
	}, env, args...)
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := mustLoad(t, RoleStandalone, args[2:], env...)
	got := mustLoad(t, RoleStandalone, []string{"-c", writeFile(t, "out.yaml", out)})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("--check-config output loads as\n%+v\nwant\n%+v", got, want)
	}
}

// waitForFile polls for path with a deadline: the process under test writes it when ready.
func waitForFile(t *testing.T, path string, done <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case <-done:
			t.Fatal("run ended before the ready file appeared")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file %s after 10s", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCLIServeUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan struct{})
	var code int
	go func() {
		defer close(done)
		code = Main(ctx, []string{"standalone", "--data-dir", dir, "--log-format", "json", "--ready-file", ready},
			IO{Stdout: &syncBuffer{}, Stderr: &stderr}, func(Role, Config) fx.Option { return fakeRole(&trace{}) })
	}()
	waitForFile(t, ready, done)
	cancel()
	<-done
	if code != ExitOK {
		t.Fatalf("exit %d after graceful stop, stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{`"msg":"rocketgo starting"`, `"msg":"started"`, `"msg":"stopped"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, stderr.String())
		}
	}
}

func TestCLIRuntimeFailure(t *testing.T) {
	module := func(Role, Config) fx.Option {
		return fx.Invoke(func(lc fx.Lifecycle) {
			lc.Append(fx.Hook{OnStart: func(context.Context) error { return errors.New("address already in use") }})
		})
	}
	code, _, errOut := cli(context.Background(), module, nil, "namesrv", "--log-format", "console")
	if code != ExitFailure || !strings.Contains(errOut, "address already in use") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
