package app

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchAgainstStandalone runs a real standalone server in this process (with --cpuprofile),
// then `rocketgo bench produce` and `bench consume` against it through Main, and checks their
// JSON summaries and the profile written at shutdown.
func TestBenchAgainstStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	prof := filepath.Join(dir, "cpu.prof")
	allocs := filepath.Join(dir, "allocs.prof")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var serverErr syncBuffer
	done := make(chan struct{})
	var code int
	go func() {
		defer close(done)
		code = Main(ctx, []string{"standalone", "--data-dir", filepath.Join(dir, "data"), "--namesrv-listen", "127.0.0.1:0",
			"--broker-listen", "127.0.0.1:0", "--ready-file", ready, "--log-level", "warn", "--log-format", "json",
			"--cpuprofile", prof, "--memprofile", allocs},
			IO{Stdout: &syncBuffer{}, Stderr: &serverErr}, RoleModule)
	}()
	waitForFile(t, ready, done)

	bench := func(args ...string) map[string]any {
		t.Helper()
		c, out, errOut := cli(context.Background(), RoleModule, nil, append([]string{"bench"}, args...)...)
		if c != ExitOK {
			t.Fatalf("rocketgo bench %s: exit %d\nstderr:\n%s\nserver:\n%s", strings.Join(args, " "), c, errOut, serverErr.String())
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("rocketgo bench %s: summary %q: %v", args[0], out, err)
		}
		if !strings.Contains(errOut, "[Complete]") {
			t.Errorf("rocketgo bench %s: no [Complete] line on stderr:\n%s", args[0], errOut)
		}
		return res
	}
	p := bench("produce", "--ready-file", ready, "--topic", "BenchSmoke", "--queues", "2", "--producers", "2", "--window", "4",
		"--messages", "400", "--warmup", "0", "--report", "50ms", "--json", "--label", "smoke")
	if p["label"] != "smoke" || p["kind"] != "produce" || p["messages"].(float64) != 400 || p["send_failed"] != nil {
		t.Errorf("produce summary %v", p)
	}
	if cpu := p["broker_cpu_us_per_msg"].(float64); cpu < 0 {
		t.Errorf("broker CPU unknown with --ready-file: %v", cpu)
	}
	bench("produce", "--ready-file", ready, "--topic", "BenchSmoke", "--batch", "8", "--messages", "80", "--warmup", "0", "--json")

	c := bench("consume", "--ready-file", ready, "--topic", "BenchSmoke", "--group", "bench_smoke", "--consumers", "2",
		"--messages", "480", "--duration", "30s", "--report", "50ms", "--json")
	if c["kind"] != "consume" || c["messages"].(float64) < 480 {
		t.Errorf("consume summary %v", c)
	}

	cancel()
	<-done
	if code != ExitOK {
		t.Fatalf("server exit %d:\n%s", code, serverErr.String())
	}
	for _, f := range []string{prof, allocs} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("profile %s not written: %v", f, err)
		}
	}
}
