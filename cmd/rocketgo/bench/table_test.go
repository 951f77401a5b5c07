package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// natsSample has the layout nats_jetstream.sh prints (the Python f-strings of its summary).
const natsSample = `# nats-server v2.15.2, nats CLI v0.1.6, 2 cores shared by server and clients
MB/s = msgs/s x 1024 B / 1e6. cores = CPU seconds / wall seconds of the whole client command
(includes CLI start-up and stream set-up). srv us/msg = server CPU time per message.
mode     case           msgs/s                       MB/s                   srv cores  cli cores  srv us/msg  latency us p50/p90/p99 (median of reps)
default  pub_sync_1     10,000 [9,000..11,000]       10.2 [9.2..11.3]       0.60       0.50       60.0        
default  pub_sync_4     20,000 [19,000..21,000]      20.5 [19.5..21.5]      0.80       0.70       40.0        
default  pub_async_1    50,000 [45,000..55,000]      51.2 [46.1..56.3]      0.90       0.80       18.0        
default  sub_pull_1     100,000 [90,000..110,000]    102.4 [92.2..112.6]    0.50       0.90       5.0         
default  sub_pull_4     80,000 [70,000..90,000]      81.9 [71.7..92.2]      0.50       0.90       6.0         
default  lat_sync_1     9,500 [9,000..10,000]        9.7 [9.2..10.2]        0.60       0.50       61.0        90/120/200  p99 range 200 [180..250]
default  lat_sync_4     19,000 [18,000..20,000]      19.5 [18.4..20.5]      0.80       0.70       41.0        180/240/400  p99 range 400 [380..450]
always   pub_sync_4     2,000 [1,900..2,100]         2.0 [1.9..2.2]         0.30       0.20       150.0       
always   lat_sync_4     1,900 [1,800..2,000]         1.9 [1.8..2.0]         0.30       0.20       151.0       2000/2500/3000  p99 range 3,000 [2,900..3,100]
`

func TestParseNATS(t *testing.T) {
	rows, version, err := parseNATS(strings.NewReader(natsSample))
	if err != nil {
		t.Fatal(err)
	}
	if version != "nats-server v2.15.2, nats CLI v0.1.6, 2 cores shared by server and clients" {
		t.Errorf("version %q", version)
	}
	if len(rows) != 9 {
		t.Errorf("%d rows, want 9", len(rows))
	}
	r := rows[natsRef{"default", "sub_pull_1"}]
	if r.Rate != 100000 || r.RateMin != 90000 || r.RateMax != 110000 || r.SrvUsPerMsg != 5 || r.SrvCores != 0.5 || r.CliCores != 0.9 {
		t.Errorf("sub_pull_1 %+v", r)
	}
	l := rows[natsRef{"always", "lat_sync_4"}]
	if l.P50 != 2000 || l.P90 != 2500 || l.P99 != 3000 {
		t.Errorf("lat_sync_4 %+v", l)
	}
	// Two summaries one after the other (make bench runs the script once per mode).
	split := strings.Index(natsSample, "always   pub_sync_4")
	header := natsSample[:strings.Index(natsSample, "default  pub_sync_1")]
	twice := natsSample[:split] + header + natsSample[split:]
	rows2, _, err := parseNATS(strings.NewReader(twice))
	if err != nil || len(rows2) != 9 || rows2[natsRef{"always", "pub_sync_4"}].Rate != 2000 {
		t.Errorf("two summaries: %d rows, %v", len(rows2), err)
	}
	if _, _, err := parseNATS(strings.NewReader("mode case\ndefault x 1,0a0 [1..2] 1 [1..2] 1 1 1\n")); err == nil {
		t.Error("a malformed number was accepted")
	}
}

func TestSpreadAndThousands(t *testing.T) {
	if s := spreadOf([]float64{3, 1, 2}); s != (spread{2, 1, 3}) {
		t.Errorf("odd: %+v", s)
	}
	if s := spreadOf([]float64{4, 1, 2, 3}); s != (spread{2.5, 1, 4}) {
		t.Errorf("even: %+v", s)
	}
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.6: "1,234,568", -12345: "-12,345"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
}

func result(label, kind string, tps, p50, p99, cpu float64) Result {
	return Result{Label: label, Kind: kind, TPS: tps, MBps: tps * 1024 / 1e6, Batch: 1,
		Latency: Percentiles{P50: p50, P99: p99, P999: p99 * 2}, BrokerCPUUsPerMsg: cpu}
}

func TestTable(t *testing.T) {
	results := map[string][]Result{
		"sync_1":  {result("sync_1", "produce", 9000, 100, 180, 30), result("sync_1", "produce", 8000, 110, 190, 31), result("sync_1", "produce", 10000, 90, 170, 29)},
		"sync_4":  {result("sync_4", "produce", 30000, 200, 500, 20)},
		"async_1": {result("async_1", "produce", 45000, 2000, 4000, 3.5)},
		// batch_32 not measured
		"syncflush_64": {result("syncflush_64", "produce", 7000, 9000, 20000, 50)},
		"consume_1":    {result("consume_1", "consume", 160000, 0, 0, 2)},
		"consume_4":    {result("consume_4", "consume", 100000, 0, 0, 2)},
	}
	nats, version, err := parseNATS(strings.NewReader(natsSample))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	Table(&b, results, nats, version)
	out := b.String()
	for _, want := range []string{
		"| sync send, 1 producer | 9,000 [8,000..10,000] | 9.2 | 100 / 180 / 360 | 30.00 | pub_sync_1 (default) | 10,000 [9,000..11,000] | 90 / 200 | 60.0 | 0.90x |",
		"| sync send, 4 producers | 30,000 [30,000..30,000] |",
		"| 1.50x |", // sync_4: 30000 / 20000
		"| sync send, batches of 32, 1 producer | not measured |",
		"| 3.50x |", // syncflush: 7000 / 2000 (always)
		"NATS: nats-server v2.15.2",
		"- sync send, 4 producers: at least 1.3x NATS (pub_sync_4 (default)) — 1.50x: **met**",
		"- async pipelined send, 1 producer, window 100: at least 1.0x NATS (pub_async_1 (default)) — 0.90x: **not met**",
		"- sync flush, sync send, 64 producers: at least 3.0x NATS (pub_sync_4 (always)) — 3.50x: **met**",
		"- consume, 1 consumer: at least 1.5x NATS (sub_pull_1 (default)) — 1.60x: **met**",
		"- consume, 4 consumers: at least 1.5x NATS (sub_pull_4 (default)) — 1.25x: **not met**",
		"- sync send p99 latency, 1 producer: no higher than NATS's (lat_sync_1, default) — 180 µs vs 200 µs: **met**",
		"- broker CPU per produced 1 KiB message: at most 4 µs — sync_1 30.00, sync_4 20.00, async_1 3.50, syncflush_64 50.00 µs: **not met**",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// Without NATS the rocketgo columns stand and the ratios are not measured.
	b.Reset()
	Table(&b, results, nil, "")
	if out := b.String(); !strings.Contains(out, "— —: **not measured**") || strings.Contains(out, "**met**") {
		t.Errorf("no NATS:\n%s", out)
	}
}

func TestTableMain(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "results.jsonl")
	var js bytes.Buffer
	r := result("sync_4", "produce", 30000, 200, 500, 20)
	if err := r.writeJSON(&js); err != nil {
		t.Fatal(err)
	}
	r = result("sync_4", "produce", 32000, 200, 500, 20)
	if err := r.writeJSON(&js); err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(res, js.Bytes(), 0o644))
	natsFile := filepath.Join(dir, "nats.txt")
	must(t, os.WriteFile(natsFile, []byte(natsSample), 0o644))
	facts := filepath.Join(dir, "facts.md")
	must(t, os.WriteFile(facts, []byte("Machine: test\n"), 0o644))

	var out, errOut bytes.Buffer
	if code := Main(t.Context(), []string{"table", "--results", res, "--nats", natsFile, "--facts", facts}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if s := out.String(); !strings.HasPrefix(s, "Machine: test\n") || !strings.Contains(s, "| sync send, 4 producers | 31,000 [30,000..32,000] |") || !strings.Contains(s, "| 1.55x |") {
		t.Errorf("output:\n%s", s)
	}
	if code := Main(t.Context(), []string{"table"}, &out, &errOut); code != exitUsage {
		t.Errorf("no --results: exit %d", code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
