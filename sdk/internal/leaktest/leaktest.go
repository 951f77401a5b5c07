// Package leaktest checks that the SDK leaves no goroutine behind: after a Shutdown or Close, no
// goroutine may still run SDK code (test fakes and the testing package excepted).
package leaktest

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// sdkMarker identifies SDK frames in a goroutine dump.
const sdkMarker = "github.com/rocketgo/rocketgo/sdk/"

// ignored frames: the fake servers of the tests and this package.
var ignored = []string{"/sdk/internal/fakemq.", "/sdk/internal/leaktest.", "testing.tRunner", "testing.(*T).Run"}

// Check records the goroutines running now; the returned function fails t if, within 5 seconds,
// goroutines remain that were not there before: those running SDK code are listed, and the
// count of all the others (the fakes of the tests excepted) must be back where it was.
func Check(t testing.TB) func() {
	t.Helper()
	before, n0 := goroutines()
	return func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			now, n := goroutines()
			leaked := diff(now, before)
			if len(leaked) == 0 && n <= n0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines left behind: %d before, %d now; SDK goroutines not there before:\n%s",
					n0, n, strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// goroutines returns the stacks of goroutines with SDK frames, keyed by goroutine id, and the
// number of goroutines that are not test fakes.
func goroutines() (map[string]string, int) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if isIgnored(g) {
			continue
		}
		count++
		if !strings.Contains(g, sdkMarker) {
			continue
		}
		// The goroutine id line differs between runs; key by the id so each counts once.
		id, _, _ := strings.Cut(g, "[")
		out[id] = g
	}
	return out, count
}

func isIgnored(stack string) bool {
	for _, line := range strings.Split(stack, "\n") {
		if !strings.Contains(line, sdkMarker) {
			continue
		}
		for _, ig := range ignored {
			if strings.Contains(line, ig) {
				return true
			}
		}
		// The first SDK frame decides.
		return false
	}
	return false
}

func diff(now, before map[string]string) []string {
	var out []string
	for id, g := range now {
		if _, ok := before[id]; !ok {
			out = append(out, g)
		}
	}
	return out
}
