package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// trace records hook calls in order.
type trace struct {
	mu     sync.Mutex
	events []string
}

func (tr *trace) add(e string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.events = append(tr.events, e)
}

func (tr *trace) get() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.events)
}

// fakeRole stands in for the real wiring: a "store" and the listeners of role, each recording its
// hooks and reporting its address the way the wiring must.
func fakeRole(tr *trace) fx.Option {
	return fx.Invoke(func(lc fx.Lifecycle, role Role, ep *Endpoints, cfg Config) {
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error { tr.add("start store " + cfg.Storage.Engine); return nil },
			OnStop:  func(context.Context) error { tr.add("stop store"); return nil },
		})
		if role.RunsNamesrv() {
			lc.Append(fx.Hook{
				OnStart: func(context.Context) error { tr.add("start namesrv"); ep.SetNamesrv("127.0.0.1:39123"); return nil },
				OnStop:  func(context.Context) error { tr.add("stop namesrv"); return nil },
			})
		}
		if role.RunsBroker() {
			lc.Append(fx.Hook{
				OnStart: func(context.Context) error { tr.add("start broker"); ep.SetBroker("127.0.0.1:40111"); return nil },
				OnStop:  func(context.Context) error { tr.add("stop broker"); return nil },
			})
		}
	})
}

func testConfig() Config {
	c := DefaultsFor(RoleStandalone)
	c.resolve()
	c.StartTimeout = 10 * time.Second
	c.ShutdownTimeout = 10 * time.Second
	return c
}

// cancelWhenReady is an onReady hook that ends the run as soon as it is up.
func cancelWhenReady(cancel context.CancelFunc, got *Addrs) RunOption {
	return func(o *runOptions) {
		o.onReady = func(a Addrs) { *got = a; cancel() }
	}
}

func TestRunStartsWritesReadyFileAndStopsInReverse(t *testing.T) {
	tr := &trace{}
	ready := filepath.Join(t.TempDir(), "ready.json")
	if err := os.WriteFile(ready, []byte(`{"namesrv":"stale"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var addrs Addrs
	var fileAtReady []byte
	err := Run(ctx, RoleStandalone, testConfig(), zap.NewNop(), fakeRole(tr), WithReadyFile(ready),
		func(o *runOptions) {
			o.onReady = func(a Addrs) {
				addrs = a
				fileAtReady, _ = os.ReadFile(ready)
				cancel()
			}
		})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{"start store mmap", "start namesrv", "start broker", "stop broker", "stop namesrv", "stop store"}
	if got := tr.get(); !slices.Equal(got, want) {
		t.Errorf("hooks ran %q, want %q", got, want)
	}
	if addrs != (Addrs{Namesrv: "127.0.0.1:39123", Broker: "127.0.0.1:40111"}) {
		t.Errorf("addrs = %+v", addrs)
	}
	var doc map[string]any
	if err := json.Unmarshal(fileAtReady, &doc); err != nil {
		t.Fatalf("ready file %q: %v", fileAtReady, err)
	}
	if doc["namesrv"] != "127.0.0.1:39123" || doc["broker"] != "127.0.0.1:40111" || doc["pid"] != float64(os.Getpid()) {
		t.Errorf("ready file = %s", fileAtReady)
	}
	if entries, _ := os.ReadDir(filepath.Dir(ready)); len(entries) != 1 {
		t.Errorf("temp files left beside the ready file: %v", entries)
	}
}

func TestRunNamesrvRoleReportsOnlyNamesrv(t *testing.T) {
	tr := &trace{}
	ready := filepath.Join(t.TempDir(), "ready.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var addrs Addrs
	if err := Run(ctx, RoleNamesrv, testConfig(), zap.NewNop(), fakeRole(tr), WithReadyFile(ready), cancelWhenReady(cancel, &addrs)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(ready)
	if strings.Contains(string(data), "broker") || !strings.Contains(string(data), "namesrv") {
		t.Errorf("ready file of a name server: %s", data)
	}
}

func TestRunFailsWhenAnAddressIsNotReported(t *testing.T) {
	module := fx.Invoke(func(lc fx.Lifecycle, ep *Endpoints) {
		lc.Append(fx.Hook{OnStart: func(context.Context) error { ep.SetNamesrv("127.0.0.1:1"); return nil }})
	})
	ready := filepath.Join(t.TempDir(), "ready.json")
	err := Run(context.Background(), RoleStandalone, testConfig(), zap.NewNop(), module, WithReadyFile(ready))
	if !errors.Is(err, ErrNotReported) || !strings.Contains(err.Error(), "SetBroker") {
		t.Fatalf("err = %v, want ErrNotReported naming SetBroker", err)
	}
	if _, statErr := os.Stat(ready); !os.IsNotExist(statErr) {
		t.Errorf("ready file written although not ready: %v", statErr)
	}
}

func TestRunStartFailureRollsBack(t *testing.T) {
	tr := &trace{}
	boom := errors.New("disk on fire")
	module := fx.Options(fakeRole(tr), fx.Invoke(func(lc fx.Lifecycle) {
		lc.Append(fx.Hook{OnStart: func(context.Context) error { return boom }})
	}))
	err := Run(context.Background(), RoleStandalone, testConfig(), zap.NewNop(), module)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	want := []string{"start store mmap", "start namesrv", "start broker", "stop broker", "stop namesrv", "stop store"}
	if got := tr.get(); !slices.Equal(got, want) {
		t.Errorf("hooks ran %q, want %q (started hooks stopped on failure)", got, want)
	}
}

func TestRunStartTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.StartTimeout = 50 * time.Millisecond
	module := fx.Invoke(func(lc fx.Lifecycle) {
		lc.Append(fx.Hook{OnStart: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }})
	})
	err := Run(context.Background(), RoleStandalone, cfg, zap.NewNop(), module)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "startTimeout 50ms") {
		t.Fatalf("err = %v, want a start timeout naming startTimeout", err)
	}
}

func TestRunStopTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.ShutdownTimeout = 50 * time.Millisecond
	tr := &trace{}
	module := fx.Options(fakeRole(tr), fx.Invoke(func(lc fx.Lifecycle) {
		lc.Append(fx.Hook{OnStop: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }})
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var addrs Addrs
	err := Run(ctx, RoleStandalone, cfg, zap.NewNop(), module, cancelWhenReady(cancel, &addrs))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "shutdownTimeout 50ms") {
		t.Fatalf("err = %v, want a stop timeout naming shutdownTimeout", err)
	}
}

func TestRunComponentRequestsShutdown(t *testing.T) {
	tr := &trace{}
	module := fx.Options(fakeRole(tr), fx.Invoke(func(lc fx.Lifecycle, s fx.Shutdowner) {
		lc.Append(fx.Hook{OnStart: func(context.Context) error {
			// e.g. the store found the disk gone: it asks the process to stop with an error code.
			return s.Shutdown(fx.ExitCode(3))
		}})
	}))
	err := Run(context.Background(), RoleStandalone, testConfig(), zap.NewNop(), module)
	if err == nil || !strings.Contains(err.Error(), "exit code 3") {
		t.Fatalf("err = %v, want the component's exit code", err)
	}
	if got := tr.get(); !slices.Contains(got, "stop store") {
		t.Errorf("components not stopped: %q", got)
	}
}

func TestRunWiringError(t *testing.T) {
	type missing struct{}
	module := fx.Invoke(func(missing) {})
	err := Run(context.Background(), RoleBroker, testConfig(), zap.NewNop(), module)
	if err == nil || !strings.Contains(err.Error(), "wiring broker") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunSuppliesTheGraph(t *testing.T) {
	var gotCfg Config
	var gotRole Role
	var gotLog *zap.Logger
	log := zap.NewNop()
	module := fx.Options(
		fx.Populate(&gotCfg, &gotRole, &gotLog),
		fx.Invoke(func(ep *Endpoints) { ep.SetBroker("127.0.0.1:1") }),
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var addrs Addrs
	cfg := testConfig()
	if err := Run(ctx, RoleBroker, cfg, log, module, cancelWhenReady(cancel, &addrs)); err != nil {
		t.Fatal(err)
	}
	if gotRole != RoleBroker || gotLog != log || gotCfg.Storage.Dir != cfg.Storage.Dir {
		t.Errorf("graph got role %v, log %p, cfg %+v", gotRole, gotLog, gotCfg)
	}
}
