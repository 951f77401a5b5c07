package e2e

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// TestTimerBench1M (issue point 2, at scale): schedule 1,000,000 timer messages due uniformly
// over a 60 s window that opens after every send is done, then report
//   - the broker's memory (/proc/<pid>/status) idle, with all timers pending, during delivery and
//     at the end (RssAnon is anonymous memory, heap and stacks; RssFile counts mapped store
//     pages, which the kernel can drop);
//   - how delivery keeps up: the largest backlog of due-but-undelivered timers, sampled each second;
//   - lateness = store timestamp − TIMER_OUT_MS of every delivered message: p50, p99, p99.9, max;
//   - the send and timer-filing rates.
//
// Sends are raw SEND_BATCH_MESSAGE (320) frames built with sdk/wire (V2 short header a..m,
// REMOTING §4.3), benchBatch messages each, benchInflight in flight on one connection; consumption
// is raw PULL_MESSAGE with the SUBSCRIPTION flag and expression "*". It takes several minutes and
// loads both cores, so it only runs with ROCKETGO_TIMER_BENCH=1 (ROCKETGO_TIMER_BENCH_N overrides
// the count for a quick trial).
func TestTimerBench1M(t *testing.T) {
	if os.Getenv("ROCKETGO_TIMER_BENCH") != "1" {
		t.Skip("timer benchmark: set ROCKETGO_TIMER_BENCH=1 to schedule 1,000,000 timer messages over a 60 s window " +
			"and report broker RSS and delivery lateness (takes several minutes and loads the machine)")
	}
	total := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("ROCKETGO_TIMER_BENCH_N")); err == nil && v > 0 {
		total = v
	}
	const (
		window        = 60 * time.Second
		queues        = 8
		benchBatch    = 200
		benchInflight = 8
	)
	testDeadline(t, 30*time.Minute)
	t.Logf("machine: %d CPUs (GOMAXPROCS %d), load average %s, %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), ttLoadAvg(), ttMemInfo())

	dir := t.TempDir()
	b := startBroker(t, dir)
	pid := b.ttPID()
	topic, scratch := uniqueName("timerbench"), uniqueName("timerbench-cal")
	ttCreateTopic(t, b, topic, queues)
	ttCreateTopic(t, b, scratch, queues)
	memIdle := ttMustMem(t, pid)
	conn := dialRaw(t, b.BrokerAddr)

	// Calibrate: the same batches without a timer, to a scratch topic, to size the gap before the
	// window (timer sends also make the broker file each timer, so they are slower).
	calN := min(max(total/20, 10_000), 50_000)
	calStart := time.Now()
	ttSendBatches(t, conn, scratch, queues, calN, benchBatch, benchInflight, func(int) string { return "" })
	calRate := float64(calN) / time.Since(calStart).Seconds()
	estSend := time.Duration(float64(total) / calRate * float64(time.Second))
	windowStart := time.Now().Add(2*estSend + 15*time.Second).Truncate(time.Second).Add(time.Second)
	t.Logf("calibration: %d plain messages at %.0f msg/s; 1 s of timers is %d messages; window opens in %s (estimated send %s)",
		calN, calRate, total/int(window/time.Second), time.Until(windowStart).Round(time.Millisecond), estSend.Round(time.Millisecond))

	// Due times: uniform over [windowStart, windowStart+window), reproducible.
	rng := rand.New(rand.NewPCG(1, uint64(total)))
	dues := make([]int64, total)
	w0 := windowStart.UnixMilli()
	for i := range dues {
		dues[i] = w0 + rng.Int64N(window.Milliseconds())
	}
	sendStart := time.Now()
	ttSendBatches(t, conn, topic, queues, total, benchBatch, benchInflight, func(i int) string {
		return "TIMER_DELIVER_MS\x01" + strconv.FormatInt(dues[i], 10) + "\x02"
	})
	sendDur := time.Since(sendStart)
	sendRate := float64(total) / sendDur.Seconds()
	t.Logf("sent %d timer messages in %s: %.0f msg/s (%d per batch, %d in flight)", total, sendDur.Round(time.Millisecond), sendRate, benchBatch, benchInflight)
	if lead := time.Until(windowStart); lead < time.Second {
		t.Fatalf("the sends ended %s before the window opened; the lateness figures would be meaningless (rerun on a quieter machine)", lead)
	}
	if got := ttMustMaxOffset(t, b.BrokerAddr, ttTimerTopic, 0); got != int64(total) {
		t.Fatalf("%s holds %d records after the sends, want %d", ttTimerTopic, got, total)
	}

	// Wait until the wheel has filed every timer (its checkpoint records the enqueue offset).
	cpPath := filepath.Join(dir, "config", "timerCheckpoint.json")
	waitFor(t, time.Until(windowStart), "all timers filed in the wheel", func() (bool, string) {
		n, err := ttTimerEnqueued(cpPath)
		return err == nil && n >= int64(total), fmt.Sprintf("enqueued %d err %v", n, err)
	})
	filed := time.Since(sendStart)
	memPending := ttMustMem(t, pid)
	first := ttMustList(t, b.BrokerAddr, 0, 3)
	t.Logf("all %d timers pending %s after the first send (filing done %s after the last); earliest listed: %+v",
		total, filed.Round(time.Millisecond), (filed - sendDur).Round(time.Millisecond), first)
	t.Logf("RSS idle:          %s", memIdle)
	t.Logf("RSS all pending:   %s", memPending)
	t.Logf("disk used: timer log %s, store %s", ttDuSize(filepath.Join(dir, "timer")), ttDuSize(filepath.Join(dir, "store")))

	// Delivery: sample the real topic's size and the RSS every second.
	sorted := slices.Clone(dues)
	slices.Sort(sorted)
	var maxBacklog int
	var maxBacklogAt time.Duration
	var memPeak ttMem
	deadline := windowStart.Add(window + 2*time.Minute)
	var delivered int64
	for {
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 500*time.Millisecond)))
		var err error
		delivered, err = ttStoredOn(conn, topic, queues)
		if err != nil {
			t.Fatal(err)
		}
		// Timers whose second has fully passed are due for delivery.
		dueSec := time.Now().Truncate(time.Second).UnixMilli()
		due, _ := slices.BinarySearch(sorted, dueSec)
		if backlog := due - int(delivered); backlog > maxBacklog {
			maxBacklog, maxBacklogAt = backlog, time.Since(windowStart)
		}
		if m, err := ttProcMem(pid); err == nil && m.VmRSS > memPeak.VmRSS {
			memPeak = m
		}
		if delivered >= int64(total) || time.Now().After(deadline) {
			break
		}
	}
	memEnd := ttMustMem(t, pid)
	t.Logf("delivery: %d/%d delivered, done %s after the window closed; largest backlog of due timers %d at window+%s",
		delivered, total, time.Since(windowStart.Add(window)).Round(time.Millisecond), maxBacklog, maxBacklogAt.Round(time.Second))
	t.Logf("RSS peak (1 s samples during delivery): %s", memPeak)
	t.Logf("RSS end:           %s", memEnd)

	// Consume everything and measure lateness.
	late := make([]int64, 0, total)
	seen := make([]bool, total)
	var dups, early, wrongDue, foreign int
	consumeStart := time.Now()
	nrecs := ttPullAll(t, conn, topic, queues, func(r *wire.Record) {
		if len(r.Body) != 8 {
			foreign++
			return
		}
		i := int(binary.BigEndian.Uint64(r.Body))
		if i < 0 || i >= total {
			foreign++
			return
		}
		if seen[i] {
			dups++
			return
		}
		seen[i] = true
		v, _ := wire.PropertyValue(r.Properties, "TIMER_OUT_MS")
		due, err := strconv.ParseInt(v, 10, 64)
		if err != nil || due != dues[i] {
			wrongDue++
			return
		}
		l := r.StoreTimestamp - due
		if l < 0 {
			early++
		}
		late = append(late, l)
	})
	slices.Sort(late)
	pct := func(p float64) int64 {
		if len(late) == 0 {
			return -1
		}
		return late[min(len(late)-1, int(p/100*float64(len(late))))]
	}
	t.Logf("consumed %d records in %s: %d distinct timers, %d duplicates, %d early, %d with a wrong TIMER_OUT_MS, %d foreign",
		nrecs, time.Since(consumeStart).Round(time.Millisecond), len(late), dups, early, wrongDue, foreign)
	t.Logf("lateness (store timestamp - TIMER_OUT_MS) over %d messages: p50 %d ms, p99 %d ms, p99.9 %d ms, max %d ms, min %d ms",
		len(late), pct(50), pct(99), pct(99.9), pct(100), pct(0))
	t.Logf("load average at the end %s", ttLoadAvg())

	if len(late)+wrongDue != total {
		t.Errorf("%d of %d timers delivered", len(late)+wrongDue, total)
	}
	if dups > 0 || early > 0 || wrongDue > 0 {
		t.Errorf("%d duplicates, %d delivered early, %d with a wrong TIMER_OUT_MS", dups, early, wrongDue)
	}
}

// ttCallTimeout bounds one request of the benchmark; the broker is loaded, not stuck.
const ttCallTimeout = 60 * time.Second

func ttSendBatches(t *testing.T, bc *rawConn, topic string, queues, n, batch, inflight int, props func(i int) string) {
	t.Helper()
	var next atomic.Int64
	var failed atomic.Pointer[string]
	var wg sync.WaitGroup
	for w := range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entries := make([]wire.BatchEntry, 0, batch)
			bodies := make([]byte, 8*batch)
			var body []byte
			for b := w; failed.Load() == nil; b = int(next.Add(1)) + inflight - 1 {
				lo := b * batch
				if lo >= n {
					return
				}
				hi := min(lo+batch, n)
				entries = entries[:0]
				for i := lo; i < hi; i++ {
					bb := bodies[8*(i-lo) : 8*(i-lo)+8]
					binary.BigEndian.PutUint64(bb, uint64(i))
					entries = append(entries, wire.BatchEntry{Body: bb, Properties: props(i)})
				}
				body = wire.AppendBatch(body[:0], entries)
				req := wire.NewRequest(wire.SendBatchMessage, map[string]string{
					"a": "timer-bench-producer", "b": topic, "c": "TBW102", "d": "4", "e": strconv.Itoa(b % queues),
					"f": "0", "g": strconv.FormatInt(time.Now().UnixMilli(), 10), "h": "0", "i": "", "j": "0",
					"k": "false", "l": "0", "m": "true",
				}, body)
				resp, err := bc.call(req, ttCallTimeout)
				if err == nil && resp.Code != wire.Success {
					err = fmt.Errorf("batch %d: %s", b, describeCmd(resp))
				}
				if err != nil {
					s := err.Error()
					failed.CompareAndSwap(nil, &s)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s := failed.Load(); s != nil {
		t.Fatalf("batch send to %s: %s", topic, *s)
	}
}

// ttStoredOn sums GET_MAX_OFFSET over the queues of topic on the benchmark connection.
func ttStoredOn(bc *rawConn, topic string, queues int) (int64, error) {
	var n int64
	for q := range queues {
		resp, err := bc.call(wire.NewRequest(wire.GetMaxOffset, map[string]string{"topic": topic, "queueId": strconv.Itoa(q)}, nil), ttCallTimeout)
		if err != nil {
			return 0, err
		}
		off, err := strconv.ParseInt(resp.Ext("offset"), 10, 64)
		if resp.Code != wire.Success || err != nil {
			return 0, fmt.Errorf("GET_MAX_OFFSET %s/%d: %s", topic, q, describeCmd(resp))
		}
		n += off
	}
	return n, nil
}

// ttPullAll reads every record of topic's queues with raw pulls (one puller per queue) and hands
// each to f, one at a time; it returns the number of records.
func ttPullAll(t *testing.T, bc *rawConn, topic string, queues int, f func(r *wire.Record)) int {
	t.Helper()
	group := uniqueName("timerbench-cg")
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	errs := make(chan error, queues)
	for q := range queues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			end, err := ttMaxOffset(bc.conn.RemoteAddr().String(), topic, q)
			if err != nil {
				errs <- err
				return
			}
			for off := int64(0); off < end; {
				resp, err := bc.call(wire.NewRequest(wire.PullMessage, map[string]string{
					"consumerGroup": group, "topic": topic, "queueId": strconv.Itoa(q),
					"queueOffset": strconv.FormatInt(off, 10), "maxMsgNums": "32", "sysFlag": "4", "commitOffset": "0",
					"suspendTimeoutMillis": "0", "subscription": "*", "subVersion": "0", "expressionType": "TAG",
				}, nil), ttCallTimeout)
				if err != nil {
					errs <- err
					return
				}
				if resp.Code != wire.Success {
					errs <- fmt.Errorf("pull %s/%d at %d: %s", topic, q, off, describeCmd(resp))
					return
				}
				recs, err := wire.DecodeRecords(resp.Body)
				if err != nil {
					errs <- fmt.Errorf("pull body %s/%d at %d: %v", topic, q, off, err)
					return
				}
				next, err := strconv.ParseInt(resp.Ext("nextBeginOffset"), 10, 64)
				if err != nil || next <= off {
					errs <- fmt.Errorf("pull %s/%d at %d: nextBeginOffset %q", topic, q, off, resp.Ext("nextBeginOffset"))
					return
				}
				mu.Lock()
				for i := range recs {
					f(&recs[i])
				}
				n += len(recs)
				mu.Unlock()
				off = next
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return n
}

// ttTimerEnqueued reads the enqueue offset of the broker's timer checkpoint (written every second).
func ttTimerEnqueued(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var cp struct {
		Enqueued int64 `json:"enqueued"`
	}
	err = json.Unmarshal(data, &cp)
	return cp.Enqueued, err
}

func ttMustMem(t *testing.T, pid int) ttMem {
	t.Helper()
	m, err := ttProcMem(pid)
	if err != nil {
		t.Fatalf("reading /proc/%d/status: %v", pid, err)
	}
	return m
}

func ttLoadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(data))
}

func ttMemInfo() string {
	data, _ := os.ReadFile("/proc/meminfo")
	var parts []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "MemTotal:") || strings.HasPrefix(line, "MemAvailable:") {
			parts = append(parts, strings.Join(strings.Fields(line), " "))
		}
	}
	return strings.Join(parts, ", ")
}

// ttDuSize is the disk space used under dir, as du -sk reports it (store segments are
// preallocated, so their apparent size says little).
func ttDuSize(dir string) string {
	out, err := exec.Command("du", "-sk", dir).Output()
	f := strings.Fields(string(out))
	if err != nil || len(f) == 0 {
		return fmt.Sprintf("? (du: %v)", err)
	}
	kb, _ := strconv.ParseInt(f[0], 10, 64)
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}
