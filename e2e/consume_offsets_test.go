package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Issue point 8: committed offsets, their persistence, where new groups start, and the admin's
// reset by time.

// updateOffsetReq builds UPDATE_CONSUMER_OFFSET (15).
func updateOffsetReq(group, topic string, q int, offset int64) *wire.Command {
	return wire.NewRequest(wire.UpdateConsumerOffset, map[string]string{
		"consumerGroup": group, "topic": topic, "queueId": strconv.Itoa(q), "commitOffset": strconv.FormatInt(offset, 10)}, nil)
}

// commitRaw commits an offset. The broker keeps offsets only for queues that exist, so a topic it
// does not know yet is created (4 queues) first.
func commitRaw(t *testing.T, rc *rawConn, group, topic string, q int, offset int64) {
	t.Helper()
	resp := rc.mustCall(updateOffsetReq(group, topic, q, offset), 5*time.Second)
	if resp.Code == wire.TopicNotExist {
		create := wire.NewRequest(wire.UpdateAndCreateTopic, map[string]string{"topic": topic,
			"readQueueNums": "4", "writeQueueNums": "4", "perm": "6"}, nil)
		if cr := rc.mustCall(create, 5*time.Second); cr.Code != wire.Success {
			t.Fatalf("UPDATE_AND_CREATE_TOPIC: %s", describeCmd(cr))
		}
		resp = rc.mustCall(updateOffsetReq(group, topic, q, offset), 5*time.Second)
	}
	if resp.Code != wire.Success {
		t.Fatalf("UPDATE_CONSUMER_OFFSET: %s", describeCmd(resp))
	}
}

func offsetsPath(dataDir string) string {
	return filepath.Join(dataDir, "config", "consumerOffset.json")
}

// fileOffset reads config/consumerOffset.json and returns topic@group's offset of queue q.
func fileOffset(dataDir, topic, group string, q int) (int64, bool, error) {
	data, err := os.ReadFile(offsetsPath(dataDir))
	if err != nil {
		return 0, false, err
	}
	var f struct {
		OffsetTable map[string]map[string]int64 `json:"offsetTable"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return 0, false, fmt.Errorf("consumerOffset.json is not valid JSON (%v): %q", err, data)
	}
	off, ok := f.OffsetTable[topic+"@"+group][strconv.Itoa(q)]
	return off, ok, nil
}

func expectQueryOffset(t *testing.T, b *Broker, group, topic string, q int, want int64, when string) {
	t.Helper()
	code, off, err := queryConsumerOffset(b.BrokerAddr, group, topic, q)
	if err != nil || code != 0 || off != want {
		t.Errorf("%s: QUERY_CONSUMER_OFFSET %s/%s/%d = code %d offset %d err %v, want offset %d", when, group, topic, q, code, off, err, want)
	}
}

// TestOffsetsPersistedPeriodically: with the default 5 s interval a committed offset reaches
// config/consumerOffset.json within 5 s without any shutdown, and a broker killed after that
// still has it.
func TestOffsetsPersistedPeriodically(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)

	dataDir := t.TempDir()
	b := startBroker(t, dataDir)
	topic, group := uniqueName("op"), uniqueName("opG")
	rc := dialRaw(t, b.BrokerAddr)
	committed := time.Now()
	commitRaw(t, rc, group, topic, 0, 7)
	waitFor(t, 8*time.Second, "offset 7 in consumerOffset.json", func() (bool, string) {
		off, ok, err := fileOffset(dataDir, topic, group, 0)
		return err == nil && ok && off == 7, fmt.Sprintf("offset %d found %v err %v", off, ok, err)
	})
	took := time.Since(committed)
	t.Logf("committed offset persisted %s after the commit (interval 5 s)", took.Round(time.Millisecond))
	if took > 6*time.Second {
		t.Errorf("committed offset took %s to be persisted; the interval is 5 s", took)
	}
	b.Kill(t)
	b = startBroker(t, dataDir)
	expectQueryOffset(t, b, group, topic, 0, 7, "after a kill")
}

// TestOffsetsPersistedAtShutdown: with broker.offsetFlushInterval=1h only the shutdown persists
// offsets: a commit survives SIGTERM and a restart, a later one is lost to SIGKILL.
func TestOffsetsPersistedAtShutdown(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)
	args := []string{"--set", "broker.offsetFlushInterval=1h"}

	dataDir := t.TempDir()
	b := startBroker(t, dataDir, args...)
	topic, group := uniqueName("os"), uniqueName("osG")
	rc := dialRaw(t, b.BrokerAddr)
	commitRaw(t, rc, group, topic, 1, 11)
	expectQueryOffset(t, b, group, topic, 1, 11, "before the stop")
	if _, ok, _ := fileOffset(dataDir, topic, group, 1); ok {
		t.Fatalf("offset persisted before the shutdown although the interval is 1 h")
	}
	b.Stop(t)
	if off, ok, err := fileOffset(dataDir, topic, group, 1); err != nil || !ok || off != 11 {
		t.Errorf("consumerOffset.json after SIGTERM: offset %d found %v err %v, want 11", off, ok, err)
	}
	b = startBroker(t, dataDir, args...)
	expectQueryOffset(t, b, group, topic, 1, 11, "after a graceful restart")

	rc = dialRaw(t, b.BrokerAddr)
	commitRaw(t, rc, group, topic, 1, 13)
	expectQueryOffset(t, b, group, topic, 1, 13, "before the kill")
	b.Kill(t)
	b = startBroker(t, dataDir, args...)
	expectQueryOffset(t, b, group, topic, 1, 11, "after a kill (only the shutdown persists with a 1 h interval)")
}

// TestOffsetsFileReplacedAtomically: with broker.offsetFlushInterval=100ms and commits streaming
// in, a reader polling config/consumerOffset.json never sees a partial or invalid document, and
// every new version is a new file (renamed over the old one), never the old file rewritten in
// place. No temporary file is left after a graceful stop.
func TestOffsetsFileReplacedAtomically(t *testing.T) {
	t.Parallel()
	testDeadline(t, time.Minute)

	dataDir := t.TempDir()
	b := startBroker(t, dataDir, "--set", "broker.offsetFlushInterval=100ms")
	topic := uniqueName("oa")
	rc := dialRaw(t, b.BrokerAddr)
	commitRaw(t, rc, "oaG-0", topic, 0, 0) // creates the topic

	// Commits for 40 groups x 4 queues, over and over, so every persist writes a few KiB.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := int64(1); !stop.Load(); n++ {
			for g := 0; g < 40 && !stop.Load(); g++ {
				for q := 0; q < 4; q++ {
					_, _ = rc.call(updateOffsetReq(fmt.Sprintf("oaG-%d", g), topic, q, n), 2*time.Second)
				}
			}
		}
	}()

	var (
		versions, inPlace, invalid int
		prevData                   []byte
		prevInfo                   os.FileInfo
	)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		f, err := os.Open(offsetsPath(dataDir))
		if err == nil {
			info, _ := f.Stat()
			var buf bytes.Buffer
			_, rerr := buf.ReadFrom(f)
			f.Close()
			data := buf.Bytes()
			if rerr == nil && !bytes.Equal(data, prevData) {
				if !json.Valid(data) {
					invalid++
					t.Errorf("invalid document read (%d bytes): %.200q", len(data), data)
				}
				if prevInfo != nil && os.SameFile(info, prevInfo) {
					inPlace++
				}
				versions++
				prevData, prevInfo = data, info
			}
		}
		time.Sleep(2 * time.Millisecond) // polling cadence of the reader, not synchronisation
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("observed %d versions of consumerOffset.json (last %d bytes), %d invalid, %d rewritten in place", versions, len(prevData), invalid, inPlace)
	if versions < 5 {
		t.Errorf("only %d versions observed in 3 s with a 100 ms interval", versions)
	}
	if inPlace > 0 {
		t.Errorf("%d new versions were written into the same file instead of replacing it", inPlace)
	}
	b.Stop(t)
	if tmp, _ := filepath.Glob(filepath.Join(dataDir, "config", "*.tmp")); len(tmp) > 0 {
		t.Errorf("temporary files left after a graceful stop: %v", tmp)
	}
}

// TestNewGroupStartPositions: where a new group starts (REMOTING §6.1, §6.2). While the queue's
// first record is hot (the default, young data), a new group starts at offset 0 whatever its
// ConsumeFromWhere, as RocketMQ does. With broker.hotLogBytes=1 (every record cold):
// ConsumeFromLastOffset starts at the end, ConsumeFromFirstOffset at the start, and
// ConsumeFromTimestamp at the first message stored at or after the timestamp.
func TestNewGroupStartPositions(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const n = 20

	t.Run("hot", func(t *testing.T) {
		b := startBroker(t, t.TempDir())
		topic := uniqueName("nh")
		createTopicRaw(t, b, topic, 4)
		if code, off, err := queryConsumerOffset(b.BrokerAddr, uniqueName("nhQ"), topic, 0); err != nil || code != 0 || off != 0 {
			t.Errorf("new group on an empty queue: code %d offset %d err %v, want offset 0", code, off, err)
		}
		p := kitProducer(t, b.NamesrvAddr)
		batch1 := sendIDs(t, p, topic, "h1-", n)
		if code, off, err := queryConsumerOffset(b.BrokerAddr, uniqueName("nhQ"), topic, 0); err != nil || code != 0 || off != 0 {
			t.Errorf("new group on a hot queue: code %d offset %d err %v, want offset 0", code, off, err)
		}
		ts := timestampBetweenBatches()
		batch2 := sendIDs(t, p, topic, "h2-", n)
		all := append(idsOf(batch1), idsOf(batch2)...)
		for _, c := range []struct {
			name string
			o    kitConsumerOpts
		}{
			{"last", kitConsumerOpts{from: consumer.ConsumeFromLastOffset}},
			{"timestamp", kitConsumerOpts{from: consumer.ConsumeFromTimestamp, timestamp: ts}},
		} {
			rec := newRecorder("mid")
			startKitConsumer(t, b.NamesrvAddr, uniqueName("nh"+c.name), topic, c.o, rec.handler(c.name, consumer.ConsumeSuccess))
			waitFor(t, 30*time.Second, c.name+" group on hot data reads from offset 0", func() (bool, string) { return rec.hasAll(all) })
		}
	})

	t.Run("cold", func(t *testing.T) {
		// longPollMaxSuspend=1s: the LAST consumer's first (held) pulls come back within a
		// second, after which it commits its start offsets, which the test waits for.
		b := startBroker(t, t.TempDir(), "--set", "broker.hotLogBytes=1", "--set", "broker.longPollMaxSuspend=1s")
		topic := uniqueName("nc")
		createTopicRaw(t, b, topic, 4)
		p := kitProducer(t, b.NamesrvAddr)
		batch1 := sendIDs(t, p, topic, "c1-", n)
		if code, _, err := queryConsumerOffset(b.BrokerAddr, uniqueName("ncQ"), topic, 0); err != nil || code != wire.QueryNotFound {
			t.Errorf("new group on a cold queue: code %d err %v, want QUERY_NOT_FOUND (22) so the client decides", code, err)
		}

		// LAST starts before batch 2. It must have settled on its start offsets before batch 2
		// is sent, or it would start after batch 2: its committed offsets show that.
		lastGroup := uniqueName("ncLast")
		lastRec := newRecorder("mid")
		startKitConsumer(t, b.NamesrvAddr, lastGroup, topic, kitConsumerOpts{from: consumer.ConsumeFromLastOffset}, lastRec.handler("last", consumer.ConsumeSuccess))
		ends := map[int]int64{}
		for _, s := range batch1 {
			ends[s.queue] = max(ends[s.queue], s.offset+1)
		}
		waitFor(t, 30*time.Second, "the LAST group committed the queue ends", func() (bool, string) {
			status := ""
			for q := 0; q < 4; q++ {
				code, off, err := queryConsumerOffset(b.BrokerAddr, lastGroup, topic, q)
				status += fmt.Sprintf("q%d: code %d offset %d (end %d) err %v; ", q, code, off, ends[q], err)
				if err != nil || code != 0 || off != ends[q] {
					return false, status
				}
			}
			return true, status
		})

		ts := timestampBetweenBatches()
		batch2 := sendIDs(t, p, topic, "c2-", n)

		firstRec, tsRec := newRecorder("mid"), newRecorder("mid")
		startKitConsumer(t, b.NamesrvAddr, uniqueName("ncFirst"), topic, kitConsumerOpts{from: consumer.ConsumeFromFirstOffset}, firstRec.handler("first", consumer.ConsumeSuccess))
		startKitConsumer(t, b.NamesrvAddr, uniqueName("ncTs"), topic, kitConsumerOpts{from: consumer.ConsumeFromTimestamp, timestamp: ts}, tsRec.handler("timestamp", consumer.ConsumeSuccess))

		waitFor(t, 30*time.Second, "FIRST reads both batches", func() (bool, string) {
			return firstRec.hasAll(append(idsOf(batch1), idsOf(batch2)...))
		})
		waitFor(t, 30*time.Second, "LAST reads batch 2", func() (bool, string) { return lastRec.hasAll(idsOf(batch2)) })
		waitFor(t, 30*time.Second, "TIMESTAMP reads batch 2", func() (bool, string) { return tsRec.hasAll(idsOf(batch2)) })
		// Batch 1 sits before batch 2 in every queue and pulls read a queue in order, so a
		// group that wrongly started earlier would have delivered batch-1 messages already.
		for name, r := range map[string]*recorder{"LAST": lastRec, "TIMESTAMP (" + ts + " UTC)": tsRec} {
			for _, d := range r.snapshot() {
				if strings.HasPrefix(d.id, "c1-") {
					t.Errorf("%s group got %s of batch 1 (q%d offset %d)", name, d.id, d.queue, d.offset)
				}
			}
		}
	})
}

// timestampBetweenBatches returns a ConsumeFromTimestamp value (yyyyMMddHHmmss, UTC: v2.1.2
// formats local time but parses the string as UTC, so the UTC form is what reaches the broker)
// that is later than every message sent so far and not later than any sent afterwards. The value
// has whole-second precision, so it waits for the wall clock to pass the next second boundary
// plus a margin: the time itself is what is needed here, not another event.
func timestampBetweenBatches() string {
	lastSend := time.Now()
	boundary := lastSend.Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(boundary.Add(50 * time.Millisecond)))
	return boundary.UTC().Format("20060102150405")
}

// offsetTableRe matches one "{queue object}:offset" entry of a fastjson-style offset table.
var offsetTableRe = regexp.MustCompile(`\{[^{}]*\}:-?\d+`)

// parseOffsetTable reads {"offsetTable":{{"brokerName":..,"queueId":..,"topic":..}:offset,...}}.
func parseOffsetTable(body []byte) (map[int]int64, error) {
	out := map[int]int64{}
	for _, m := range offsetTableRe.FindAll(body, -1) {
		i := bytes.LastIndexByte(m, ':')
		var q wire.MessageQueue
		if err := json.Unmarshal(m[:i], &q); err != nil {
			return nil, fmt.Errorf("queue %q: %v", m[:i], err)
		}
		off, err := strconv.ParseInt(string(m[i+1:]), 10, 64)
		if err != nil {
			return nil, err
		}
		out[int(q.QueueID)] = off
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no entries in %q", body)
	}
	return out, nil
}

// TestResetOffsetByTime: INVOKE_BROKER_TO_RESET_OFFSET from the admin side moves a running group's
// offsets to the first message stored at or after a timestamp, commits them, and sends
// RESET_CONSUMER_CLIENT_OFFSET to the group's live consumers: the official consumer (after its
// 10 s pause and a rebalance) consumes again everything stored after the timestamp and nothing
// before it.
func TestResetOffsetByTime(t *testing.T) {
	t.Parallel()
	testDeadline(t, 2*time.Minute)
	const n = 20

	b := startBroker(t, t.TempDir())
	topic, group := uniqueName("rs"), uniqueName("rsG")
	createTopicRaw(t, b, topic, 4)
	p := kitProducer(t, b.NamesrvAddr)
	rec := newRecorder("mid")
	startKitConsumer(t, b.NamesrvAddr, group, topic, kitConsumerOpts{from: consumer.ConsumeFromFirstOffset}, rec.handler("c", consumer.ConsumeSuccess))

	batch1 := sendIDs(t, p, topic, "r1-", n)
	waitFor(t, 30*time.Second, "batch 1 consumed", func() (bool, string) { return rec.hasAll(idsOf(batch1)) })
	// The timestamp lies strictly between the two batches' store times (ms precision).
	t1 := time.Now()
	for time.Now().UnixMilli() <= t1.UnixMilli()+1 {
		time.Sleep(time.Millisecond) // waiting for the clock itself
	}
	ts := time.Now().UnixMilli()
	for time.Now().UnixMilli() <= ts {
		time.Sleep(time.Millisecond)
	}
	batch2 := sendIDs(t, p, topic, "r2-", n)
	waitFor(t, 30*time.Second, "batch 2 consumed", func() (bool, string) { return rec.hasAll(idsOf(batch2)) })

	want := map[int]int64{} // queue -> first batch-2 offset (or the end when batch 2 missed it)
	for _, s := range batch1 {
		want[s.queue] = max(want[s.queue], s.offset+1)
	}
	for _, s := range batch2 {
		if cur, ok := want[s.queue]; !ok || s.offset < cur {
			want[s.queue] = s.offset
		}
	}

	// A raw member of a second group sees the RESET_CONSUMER_CLIENT_OFFSET its group gets.
	probeGroup := uniqueName("rsProbe")
	probe := dialRaw(t, b.BrokerAddr)
	if resp := probe.mustCall(heartbeatReq("127.0.0.9@"+uniqueName("rsp"), probeGroup, "CLUSTERING", rawSub{topic, "*"}), 5*time.Second); resp.Code != wire.Success {
		t.Fatalf("probe heartbeat: %s", describeCmd(resp))
	}
	resetReq := func(g string) *wire.Command {
		return wire.NewRequest(wire.InvokeBrokerToResetOffset, map[string]string{
			"topic": topic, "group": g, "timestamp": strconv.FormatInt(ts, 10), "isForce": "true"}, nil)
	}
	resp, err := rawRequest(b.BrokerAddr, resetReq(probeGroup))
	if err != nil || resp.Code != wire.Success {
		t.Fatalf("reset of the probe group: err %v, %s", err, describeCmd(resp))
	}
	push, _ := probe.waitIncoming(wire.ResetConsumerClientOffset, 5*time.Second)
	if push == nil {
		t.Errorf("the probe group's live member got no RESET_CONSUMER_CLIENT_OFFSET")
	} else {
		table, err := parseOffsetTable(push.Body)
		t.Logf("pushed to the member: %s body %s", describeCmd(push), push.Body)
		if push.Ext("topic") != topic || push.Ext("group") != probeGroup || push.Ext("timestamp") != strconv.FormatInt(ts, 10) {
			t.Errorf("RESET_CONSUMER_CLIENT_OFFSET header: %s", describeCmd(push))
		}
		if err != nil || fmt.Sprint(table) != fmt.Sprint(want) {
			t.Errorf("RESET_CONSUMER_CLIENT_OFFSET offsets %v (err %v), want %v", table, err, want)
		}
	}

	// The real group.
	before := rec.count()
	resetAt := time.Now()
	resp, err = rawRequest(b.BrokerAddr, resetReq(group))
	if err != nil || resp.Code != wire.Success {
		t.Fatalf("reset: err %v, %s", err, describeCmd(resp))
	}
	if table, err := parseOffsetTable(resp.Body); err != nil || fmt.Sprint(table) != fmt.Sprint(want) {
		t.Errorf("reset answer offsets %v (err %v), want %v", table, err, want)
	}
	for q, off := range want {
		expectQueryOffset(t, b, group, topic, q, off, "right after the reset")
	}

	waitFor(t, 60*time.Second, "batch 2 consumed again after the reset", func() (bool, string) {
		again := map[string]bool{}
		for _, d := range rec.snapshot()[before:] {
			again[d.id] = true
		}
		missing := 0
		for _, s := range batch2 {
			if !again[s.id] {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d batch-2 messages not consumed again", missing, n)
	})
	t.Logf("batch 2 consumed again %s after the reset", time.Since(resetAt).Round(time.Millisecond))
	// Within each queue batch 1 precedes batch 2, so re-consumption from too early an offset
	// would have delivered batch-1 messages before the batch-2 ones awaited above.
	for _, d := range rec.snapshot()[before:] {
		if strings.HasPrefix(d.id, "r1-") {
			t.Errorf("%s (stored before the timestamp) consumed again after the reset", d.id)
		}
	}
}
