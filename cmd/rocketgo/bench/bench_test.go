package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/message"
)

func TestParseProduceDefaultsAndFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	o, code := parseProduce(nil, &out, &errOut)
	if o == nil {
		t.Fatalf("defaults refused (%d): %s", code, errOut.String())
	}
	if o.Size != 1024 || o.Producers != 1 || o.Window != 1 || o.Batch != 1 || o.Duration != 30*time.Second ||
		o.Report != 5*time.Second || o.Topic != "BenchmarkTest" || o.NameServers[0] != "127.0.0.1:9876" || o.Warmup != time.Second {
		t.Fatalf("defaults: %+v", o)
	}
	if o.mode() != "sync" {
		t.Errorf("mode %q", o.mode())
	}

	o, _ = parseProduce(strings.Fields("--namesrv 10.0.0.1:9876,10.0.0.2:9876 --topic T --size 512 --producers 4 --window 64 --batch 8 --duration 3s --report 1s --json --label x --broker-pid 42"), &out, &errOut)
	if o == nil {
		t.Fatalf("refused: %s", errOut.String())
	}
	if len(o.NameServers) != 2 || o.Topic != "T" || o.Size != 512 || o.Producers != 4 || o.Window != 64 || o.Batch != 8 ||
		o.Duration != 3*time.Second || o.Report != time.Second || !o.JSON || o.Label != "x" || o.BrokerPID != 42 {
		t.Fatalf("parsed: %+v", o)
	}
	if o.mode() != "async window 64, batches of 8" {
		t.Errorf("mode %q", o.mode())
	}

	// --messages without --duration runs until the messages are sent.
	o, _ = parseProduce([]string{"--messages", "1000"}, &out, &errOut)
	if o == nil || o.Duration < time.Hour {
		t.Fatalf("--messages alone: %+v", o)
	}
	o, _ = parseProduce([]string{"--messages", "1000", "--duration", "5s"}, &out, &errOut)
	if o == nil || o.Duration != 5*time.Second {
		t.Fatalf("--messages with --duration: %+v", o)
	}
}

func TestParseRefusals(t *testing.T) {
	for _, args := range []string{
		"--size 0", "--producers 0", "--window 0", "--batch 0", "--duration 0s", "--report 0s", "--topic=",
		"--size 1048576 --batch 8", "--warmup -1s", "--messages -1", "--nosuch", "extra",
	} {
		var out, errOut bytes.Buffer
		if o, code := parseProduce(strings.Fields(args), &out, &errOut); o != nil || code != exitUsage || errOut.Len() == 0 {
			t.Errorf("produce %q: accepted or wrong code %d (stderr %q)", args, code, errOut.String())
		}
	}
	for _, args := range []string{"--consumers 0", "--group=", "--from middle", "--pull-batch 0", "--messages -5"} {
		var out, errOut bytes.Buffer
		if o, code := parseConsume(strings.Fields(args), &out, &errOut); o != nil || code != exitUsage || errOut.Len() == 0 {
			t.Errorf("consume %q: accepted or wrong code %d (stderr %q)", args, code, errOut.String())
		}
	}
}

func TestHelpAndUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"produce", "--help"}, &out, &errOut); code != exitOK || !strings.Contains(out.String(), "--window") {
		t.Fatalf("produce --help: %d %q", code, out.String())
	}
	out.Reset()
	if code := Main(context.Background(), []string{"consume", "--help"}, &out, &errOut); code != exitOK || !strings.Contains(out.String(), "--consumers") {
		t.Fatalf("consume --help: %d %q", code, out.String())
	}
	if code := Main(context.Background(), []string{"frob"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), `unknown command "frob"`) {
		t.Fatalf("unknown: %d %q", code, errOut.String())
	}
	if code := Main(context.Background(), nil, &out, &errOut); code != exitUsage {
		t.Fatalf("no command: %d", code)
	}
}

func TestReadyFileGivesNamesrvAndPID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ready.json")
	if err := os.WriteFile(path, []byte(`{"namesrv":"127.0.0.1:4000","broker":"127.0.0.1:4001","pid":1234}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	o, _ := parseConsume([]string{"--ready-file", path}, &out, &errOut)
	if o == nil || o.NameServers[0] != "127.0.0.1:4000" || o.BrokerPID != 1234 {
		t.Fatalf("from ready file: %+v %s", o, errOut.String())
	}
	// Explicit flags win over the file.
	o, _ = parseConsume([]string{"--ready-file", path, "--namesrv", "127.0.0.1:9", "--broker-pid", "7"}, &out, &errOut)
	if o == nil || o.NameServers[0] != "127.0.0.1:9" || o.BrokerPID != 7 {
		t.Fatalf("flags over ready file: %+v", o)
	}
	if o, _ := parseConsume([]string{"--ready-file", path + ".missing"}, &out, &errOut); o != nil {
		t.Fatal("a missing ready file was accepted")
	}
}

func TestParseProcStat(t *testing.T) {
	// The command name may hold spaces and parentheses; utime 250 and stime 50 ticks = 3 s.
	line := "4242 (rocket go (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 100 2000000 3000 18446744073709551615\n"
	d, err := parseProcStat([]byte(line))
	if err != nil || d != 3*time.Second {
		t.Fatalf("parseProcStat = %v, %v; want 3s", d, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 5 1"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
	// This process's own entry reads, and grows with work.
	if _, err := procCPU(os.Getpid()); err != nil && !os.IsNotExist(err) {
		t.Fatalf("procCPU(self): %v", err)
	}
}

func TestCPUBetween(t *testing.T) {
	t0 := time.Unix(100, 0)
	a := cpuSample{at: t0, broker: 2 * time.Second, self: time.Second}
	b := cpuSample{at: t0.Add(10 * time.Second), broker: 7 * time.Second, self: 4 * time.Second}
	d := cpuBetween(a, b, 1_000_000)
	if d.BrokerCores != 0.5 || d.BrokerUsPerMsg != 5 || d.ClientCores != 0.3 {
		t.Fatalf("cpuBetween = %+v, want 0.5 cores, 5 us/msg, client 0.3", d)
	}
	a.broker = -1
	if d := cpuBetween(a, b, 10); d.BrokerUsPerMsg >= 0 || d.BrokerCores >= 0 {
		t.Fatalf("unknown broker CPU reported as %+v", d)
	}
}

func TestSeenSetCountsEachOffsetOnce(t *testing.T) {
	q1 := message.Queue{Topic: "T", BrokerName: "b", QueueID: 1}
	q2 := message.Queue{Topic: "T", BrokerName: "b", QueueID: 2}
	ext := func(q message.Queue, off int64) *message.Ext {
		return &message.Ext{Message: message.Message{Body: make([]byte, 10)}, Queue: q, QueueOffset: off}
	}
	var s seenSet
	fresh, bytes := s.add([]*message.Ext{ext(q1, 0), ext(q1, 1), ext(q2, 1), ext(q1, 1000)})
	if fresh != 4 || bytes != 40 {
		t.Fatalf("first batch: fresh %d bytes %d", fresh, bytes)
	}
	fresh, _ = s.add([]*message.Ext{ext(q2, 1), ext(q1, 1), ext(q1, 2), ext(q2, 0), ext(q1, 1000)})
	if fresh != 2 {
		t.Fatalf("second batch: fresh %d, want 2 (q1:2 and q2:0)", fresh)
	}
}

func TestFormatSendLineAndSummary(t *testing.T) {
	var h Histogram
	for i := range 1000 {
		h.Record(int64(100_000 + i*100)) // 100 us .. 200 us
	}
	h.Record(12_400_000) // one 12.4 ms outlier
	var lat HistSnapshot
	h.Snapshot(&lat)
	iv := sendInterval{Seconds: 2, Msgs: 20000, Bytes: 20000 * 1024, SendFailed: 1, RespFailed: 2, Lat: lat,
		CPU: cpuDelta{BrokerUsPerMsg: 3.25, BrokerCores: 0.4, ClientCores: 0.3}}
	at := time.Date(2025, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	line := formatSendLine(at, iv)
	for _, want := range []string{
		"Current Time: 2025-01-02 03:04:05.006 Send TPS: 10000 Max RT(ms): 12 Average RT(ms):   0.162 Send Failed: 1 Response Failed: 2",
		"p50(us): 151", "p99(us): 200", "p999(us): 201", "MB/s: 10.2", "Broker CPU(us/msg): 3.25",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %q:\n%s", want, line)
		}
	}
	iv.CPU.BrokerUsPerMsg = -1
	if line := formatSendLine(at, iv); !strings.Contains(line, "Broker CPU(us/msg): n/a") {
		t.Errorf("unknown CPU: %s", line)
	}

	o := ProduceOptions{Size: 1024, Producers: 1, Window: 1, Batch: 32}
	res := o.result(iv)
	res.FirstError = "SEND_MESSAGE_V2 answered SERVICE_NOT_AVAILABLE (14)"
	if res.TPS != 10000 || res.MBps < 10.2 || res.MBps > 10.25 || res.Latency.P50 < 149 || res.Latency.P50 > 152 || res.Latency.Max != 12400 {
		t.Fatalf("result: %+v", res)
	}
	sum := formatSendSummary(res, iv)
	for _, want := range []string{
		"[Complete] Send Total: 20003 Send TPS: 10000 Max RT(ms): 12",
		"Latency(us) per request of 32 messages: mean",
		"Throughput: 10000 msgs/s, 10.2 MB/s of 1024-byte bodies, 500 requests/s over 2.0 s",
		"Broker CPU: n/a",
		"First failure: SEND_MESSAGE_V2 answered SERVICE_NOT_AVAILABLE (14)",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	var js bytes.Buffer
	if err := res.writeJSON(&js); err != nil || !strings.Contains(js.String(), `"tps":10000`) || !strings.HasSuffix(js.String(), "}\n") {
		t.Fatalf("json %q %v", js.String(), err)
	}
}

func TestFormatConsumeLine(t *testing.T) {
	var b2c, s2c Histogram
	for i := range 100 {
		b2c.Record(int64(2_000_000 + i*10_000)) // 2 ms .. 3 ms
		s2c.Record(int64(1_000_000 + i*10_000))
	}
	iv := consumeInterval{Seconds: 1, Msgs: 100, Bytes: 102400, Dups: 3, CPU: cpuDelta{BrokerUsPerMsg: 1.5}}
	b2c.Snapshot(&iv.B2C)
	s2c.Snapshot(&iv.S2C)
	line := formatConsumeLine(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), iv)
	for _, want := range []string{
		"Consume TPS: 100 | AVG(B2C) RT(ms):   2.495 | AVG(S2C) RT(ms):   1.495 | MAX(B2C) RT(ms): 3 | MAX(S2C) RT(ms): 2 | Consume Fail: 0 | Consume Dup: 3",
		"B2C p50(us): 2490", "MB/s: 0.1", "Broker CPU(us/msg): 1.50",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %q:\n%s", want, line)
		}
	}
}
