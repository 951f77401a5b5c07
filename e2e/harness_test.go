package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// binPath is the rocketgo binary every test starts; TestMain builds it once.
var binPath string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	if raceEnabled {
		fmt.Println("e2e: skipped under -race (the official client v2.1.2 races internally; see race_on_test.go)")
		os.Exit(0)
	}
	// The official client logs through logrus at info level by default; only errors are useful here.
	rlog.SetLogLevel("error")

	code, err := buildAndRun(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func buildAndRun(m *testing.M) (int, error) {
	if p := os.Getenv("ROCKETGO_E2E_BIN"); p != "" {
		binPath = p
		return m.Run(), nil
	}
	root, err := repoRoot()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "rocketgo-e2e-bin-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "rocketgo")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", binPath, "./cmd/rocketgo")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("building ./cmd/rocketgo in %s: %v\n%s", root, err, out)
	}
	fmt.Printf("e2e: built %s in %s\n", binPath, time.Since(start).Round(time.Millisecond))
	return m.Run(), nil
}

// repoRoot walks up from the working directory (the package directory under go test) to go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

var nameSeq atomic.Int64

// uniqueName returns a topic, group or instance name that no other test in this process uses.
// Only [A-Za-z0-9_-] are used, which both topic and group validation accept.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), nameSeq.Add(1))
}

// waitFor polls cond every 20 ms until it reports true or timeout passes, then fails the test with
// what and the last status string cond returned (a progress report such as "412/432 received").
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var status string
	for {
		var ok bool
		ok, status = cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last status: %s)", timeout, what, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testDeadline bounds one test: it fails the test from a watchdog when the budget is spent, so a
// hang shows up as a named failure instead of the package-wide go test timeout.
func testDeadline(t *testing.T, budget time.Duration) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	name := t.Name()
	go func() {
		select {
		case <-done:
		case <-time.After(budget):
			// t.Fatal may not be called from another goroutine: dump the goroutines, kill every
			// broker this process started (they would outlive it otherwise) and exit non-zero.
			buf := make([]byte, 4<<20)
			n := runtime.Stack(buf, true)
			fmt.Fprintf(os.Stderr, "e2e: %s exceeded its %s budget; goroutines:\n%s\n", name, budget, buf[:n])
			killAllBrokers()
			os.Exit(2)
		}
	}()
}
