package bench

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStore(t *testing.T) {
	var out, errOut bytes.Buffer
	o, _ := parseStore(nil, &out, &errOut)
	if o == nil || o.Dir != "." || o.Size != 1024 || o.Batch != 1 || o.Writers != 1 || o.Flush != "async" ||
		o.Duration != 10*time.Second || o.RawDuration != o.Duration || o.SegmentMiB != 1024 || o.MiB != 0 ||
		o.DirtyKiB != 64<<10 || o.Rounds != 3 || o.Floor {
		t.Fatalf("defaults: %+v (%s)", o, errOut.String())
	}
	o, _ = parseStore(strings.Fields("--dir /x --size 512 --batch 16 --writers 64 --flush sync --duration 3s --mib 100 --segment-mib 64 --dirty-kib 65536 --raw-duration 1s --keep --rounds 1"), &out, &errOut)
	if o == nil || o.Dir != "/x" || o.Size != 512 || o.Batch != 16 || o.Writers != 64 || o.Flush != "sync" ||
		o.Duration != 3*time.Second || o.MiB != 100 || o.SegmentMiB != 64 || o.DirtyKiB != 65536 || o.RawDuration != time.Second || !o.Keep || o.Rounds != 1 {
		t.Fatalf("parsed: %+v (%s)", o, errOut.String())
	}
	for _, args := range []string{"--size 0", "--batch 0", "--writers 0", "--flush never", "--duration 0s", "--mib -1", "--segment-mib 0", "--dirty-kib -1", "--rounds 0", "--raw-duration -1s", "--dir=", "extra", "--floor --flush sync"} {
		errOut.Reset()
		if o, code := parseStore(strings.Fields(args), &out, &errOut); o != nil || code != exitUsage || errOut.Len() == 0 {
			t.Errorf("%q: accepted or code %d", args, code)
		}
	}
}

func TestStoreReport(t *testing.T) {
	r := &storeResult{
		Opts: storeOpts{Flush: "sync", Batch: 1, Writers: 64, Size: 1024},
		Rounds: []storeRound{{
			Msgs:     1000,
			LogBytes: 100e6, Elapsed: time.Second, CPU: 4 * time.Millisecond,
			Raw:     rawResult{Bytes: 400e6, Elapsed: time.Second},
			RawSync: rawResult{Bytes: 150e6, Elapsed: time.Second},
		}},
	}
	// report formats r and checks that the text holds every one of wants.
	report := func(what string, wants ...string) string {
		t.Helper()
		var b bytes.Buffer
		r.format(&b)
		for _, want := range wants {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s: the report lacks %q:\n%s", what, want, b.String())
			}
		}
		return b.String()
	}
	report("sync", "100.0 MB/s", "1000 msgs/s", "4.00 µs CPU/msg", "400.0 MB/s", "150.0 MB/s",
		"store / raw buffered:         0.25\n", "0.67  (target for sync with 64 writers >= 0.50: MET)")
	r.Opts.Flush, r.Opts.Writers = "async", 1
	if out := report("async", "0.25  (target for async >= 0.80: MISSED)"); strings.Contains(out, "sync with 64") || strings.Contains(out, "round 1") {
		t.Errorf("async report:\n%s", out)
	}

	// Several rounds: a line each, and the verdict is the median round's ratio, not the ratio
	// of the medians (round 2's store against round 3's raw would be no measurement).
	round := func(storeMB, rawMB int64) storeRound {
		return storeRound{Msgs: storeMB * 1000, LogBytes: storeMB * 1e6, Elapsed: time.Second, CPU: time.Second,
			Raw: rawResult{Bytes: rawMB * 1e6, Elapsed: time.Second}, RawSync: rawResult{Bytes: 100e6, Elapsed: time.Second}}
	}
	r.Rounds = []storeRound{round(800, 1000), round(900, 1800), round(700, 800)}
	out := report("3 rounds", "round 1: store 800.0 MB/s", "round 3: store 700.0 MB/s", "ratios 0.88, 7.00",
		"store  flush=async batch=1 writers=1 size=1024: 800.0 MB/s, 800000 msgs/s", "medians of 3 rounds",
		"no sync:    1000.0 MB/s", "store / raw buffered:         0.80  (target for async >= 0.80: MET)",
		"store / raw write+fdatasync:  8.00")
	if strings.Contains(out, "note") || strings.Contains(out, "slowed") || strings.Contains(out, "halves") {
		t.Errorf("a report without paces speaks of them:\n%s", out)
	}

	// Round 2's raw write ran 3000 MB/s for 2 GB, then 300 MB/s: its halves, a note that
	// says where it slowed, and the verdict's caveat. The store's even pace gets halves only.
	r.Rounds[1].Pace = pace{{450e6, 500 * time.Millisecond}, {900e6, time.Second}}
	r.Rounds[1].Raw.Pace = pace{{1000e6, time.Second / 3}, {2000e6, 2 * time.Second / 3}, {2300e6, 5 * time.Second / 3}}
	out = report("a slowed raw write", "store 900.0 MB/s (halves 900, 900)", "raw 1800.0 MB/s (halves 3000, 300)",
		"(target for async >= 0.80: MET), but 1 of 3 rounds had a phase that slowed (notes below)",
		"note   the raw write slowed within its phase in round 2: after 1907 MiB, from 3000 MB/s in its first half to 300 in its second.",
		"--mib under 1907 keeps")
	if strings.Count(out, "note   ") != 1 {
		t.Errorf("want one note:\n%s", out)
	}

	// Two rounds slowed: one note over both, with the ranges, and --mib under the lower point.
	r.Rounds[0].Raw.Pace = pace{{500e6, time.Second / 6}, {1000e6, time.Second / 3}, {1200e6, time.Second}}
	out = report("two slowed raw writes", "2 of 3 rounds had a phase that slowed",
		"the raw write slowed within its phase in rounds 1, 2: after 953-1907 MiB, from 3000 MB/s in its first half to 300 in its second.",
		"--mib under 953 keeps")
	if strings.Count(out, "note   ") != 1 {
		t.Errorf("want one note:\n%s", out)
	}
	// --mib counts bodies: with 512-byte bodies in records of 1000 bytes, under 953 MiB of log
	// is under 488 MiB of bodies.
	r.Opts.Size = 512
	report("512-byte bodies", "--mib under 488 keeps")

	// --floor: each round's floor beside its raw write, the median share of raw buffered with
	// the target it falls under, and the store against it.
	r.Opts.Floor = true
	for i, mb := range []int64{600, 1400, 500} {
		r.Rounds[i].Floor = rawResult{Bytes: mb * 1e6, Elapsed: time.Second}
	}
	r.Rounds[0].Floor.Pace = pace{{300e6, time.Second / 2}, {600e6, time.Second}}
	report("floor", "; floor 600.0 MB/s (halves 600, 600) (0.60 of raw)", "; floor 500.0 MB/s (0.62 of raw)",
		"floor  copy+CRC, pwrite per batch:   600.0 MB/s, medians of 3 rounds: 0.62 of raw buffered (one appender's ceiling here, under the async target of 0.80)",
		"store / floor:                1.33")
	// Floors at 0.90, 0.89 and 0.88 of their rounds' raw writes: not under the target.
	for i, mb := range []int64{900, 1600, 700} {
		r.Rounds[i].Floor.Bytes = mb * 1e6
	}
	if out := report("a floor over the target", "0.89 of raw buffered (one appender's ceiling here)\n",
		"store / floor:                0.89"); strings.Contains(out, "under the async target") {
		t.Errorf("a floor over the target is said to be under it:\n%s", out)
	}
}

// A tiny run end to end: a store in a temporary directory, the raw file, the report, and
// nothing left behind.
func TestStoreSmoke(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"store", "--dir", dir, "--duration", "300ms", "--mib", "2", "--segment-mib", "1", "--batch", "4", "--writers", "2", "--rounds", "2", "--floor"}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"round 2: store", "store  flush=async batch=4 writers=2", "raw    write(2) 64 KiB", "fdatasync", "(target for async >= 0.80", "; floor ", "store / floor"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
