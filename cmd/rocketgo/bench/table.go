package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// natsRef names one case of bench/peers/nats_jetstream.sh: its MODE (default: fsync every 2
// minutes; always: fsync after every write) and case name.
type natsRef struct {
	Mode, Case string
}

func (r natsRef) String() string { return r.Case + " (" + r.Mode + ")" }

// matrixCase is one row of `make bench`'s table. Label is what scripts/bench.sh passes to
// --label; the script and this list must agree.
type matrixCase struct {
	Label string
	Title string
	Kind  string  // produce | consume
	NATS  natsRef // the comparable NATS case; empty Case when there is none
	Note  string  // why NATS is the nearest, not an equal
	// NATSLat is NATS's latency case (natslat) printed beside the rocketgo latency.
	NATSLat natsRef
	// MinRatio is the target: rocketgo msgs/s at least this times NATS's; 0 when there is none.
	MinRatio float64
}

// Matrix is the fixed set of cases `make bench` runs (scripts/bench.sh).
var Matrix = []matrixCase{
	{Label: "sync_1", Title: "sync send, 1 producer", Kind: "produce",
		NATS: natsRef{"default", "pub_sync_1"}, NATSLat: natsRef{"default", "lat_sync_1"}},
	{Label: "sync_4", Title: "sync send, 4 producers", Kind: "produce",
		NATS: natsRef{"default", "pub_sync_4"}, NATSLat: natsRef{"default", "lat_sync_4"}, MinRatio: 1.3},
	{Label: "async_1", Title: "async pipelined send, 1 producer, window 100", Kind: "produce",
		NATS: natsRef{"default", "pub_async_1"}, Note: "NATS: 100 PubAcks outstanding", MinRatio: 1.0},
	{Label: "batch_32", Title: "sync send, batches of 32, 1 producer", Kind: "produce",
		NATS: natsRef{"default", "pub_async_1"}, Note: "nearest: nats bench has no batch publish"},
	{Label: "syncflush_64", Title: "sync flush, sync send, 64 producers", Kind: "produce",
		NATS: natsRef{"always", "pub_sync_4"}, NATSLat: natsRef{"always", "lat_sync_4"}, Note: "NATS sync_interval always", MinRatio: 3},
	{Label: "consume_1", Title: "consume, 1 consumer", Kind: "consume",
		NATS: natsRef{"default", "sub_pull_1"}, Note: "durable pull consumer, acks", MinRatio: 1.5},
	{Label: "consume_4", Title: "consume, 4 consumers", Kind: "consume",
		NATS: natsRef{"default", "sub_pull_4"}, Note: "durable pull consumer, acks", MinRatio: 1.5},
}

// natsRow is one line of nats_jetstream.sh's summary.
type natsRow struct {
	Rate, RateMin, RateMax float64 // msgs/s median [min..max]
	SrvCores, CliCores     float64
	SrvUsPerMsg            float64
	P50, P90, P99          float64 // latency cases only; 0 otherwise
}

// parseNATS reads the summaries nats_jetstream.sh prints (one or more, concatenated): after the
// header line starting with "mode", one line per case: mode case rate [min..max] MB/s [min..max] srv-cores cli-cores
// srv-us/msg [p50/p90/p99 p99 range ...].
func parseNATS(r io.Reader) (map[natsRef]natsRow, string, error) {
	rows := map[natsRef]natsRow{}
	var version string
	sc := bufio.NewScanner(r)
	inTable := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") { // a new summary (the script may run once per mode)
			inTable = false
			if strings.HasPrefix(line, "# nats-server") {
				version = strings.TrimSpace(strings.TrimPrefix(line, "#"))
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "mode" {
			inTable = true
			continue
		}
		if !inTable || len(f) < 9 || !strings.HasPrefix(f[3], "[") {
			continue
		}
		var row natsRow
		var err error
		num := func(s string) float64 {
			v, e := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
			if e != nil && err == nil {
				err = fmt.Errorf("nats summary %q: %w", line, e)
			}
			return v
		}
		row.Rate = num(f[2])
		lo, hi, ok := strings.Cut(strings.Trim(f[3], "[]"), "..")
		if !ok {
			return nil, "", fmt.Errorf("nats summary %q: range %q", line, f[3])
		}
		row.RateMin, row.RateMax = num(lo), num(hi)
		row.SrvCores, row.CliCores, row.SrvUsPerMsg = num(f[6]), num(f[7]), num(f[8])
		if len(f) > 9 {
			if p := strings.Split(f[9], "/"); len(p) == 3 {
				row.P50, row.P90, row.P99 = num(p[0]), num(p[1]), num(p[2])
			}
		}
		if err != nil {
			return nil, "", err
		}
		rows[natsRef{f[0], f[1]}] = row
	}
	if err := sc.Err(); err != nil {
		return nil, "", err
	}
	return rows, version, nil
}

// readResults reads the JSON lines of `bench produce|consume --json`.
func readResults(r io.Reader) (map[string][]Result, error) {
	out := map[string][]Result{}
	dec := json.NewDecoder(r)
	for {
		var res Result
		err := dec.Decode(&res)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		out[res.Label] = append(out[res.Label], res)
	}
}

// spread is the median and range of a case's repetitions.
type spread struct{ Med, Min, Max float64 }

func spreadOf(vs []float64) spread {
	if len(vs) == 0 {
		return spread{math.NaN(), math.NaN(), math.NaN()}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{m, s[0], s[len(s)-1]}
}

func medianOf(rs []Result, f func(Result) float64) float64 {
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = f(r)
	}
	return spreadOf(vs).Med
}

// thousands formats v rounded, with commas: 1234567 -> 1,234,567.
func thousands(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func (s spread) String() string {
	return fmt.Sprintf("%s [%s..%s]", thousands(s.Med), thousands(s.Min), thousands(s.Max))
}

// check is one target's verdict.
type check struct {
	What    string
	Value   string
	Met     bool
	Unknown bool
}

// Table writes the Markdown table of results against NATS (nats may be nil: not measured) and
// the list of targets.
func Table(w io.Writer, results map[string][]Result, nats map[natsRef]natsRow, natsVersion string) {
	fmt.Fprintln(w, "| case | rocketgo msgs/s, median [min..max] | MB/s | latency µs p50 / p99 / p999 | broker CPU µs/msg | NATS JetStream case | NATS msgs/s, median [min..max] | NATS latency µs p50 / p99 | NATS server CPU µs/msg | rocketgo / NATS |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
	var checks []check
	var cpuCases []string
	cpuWorst := -1.0
	for _, c := range Matrix {
		rs := results[c.Label]
		tps := make([]float64, len(rs))
		for i, r := range rs {
			tps[i] = r.TPS
		}
		sp := spreadOf(tps)
		lat := "n/a"
		cpu := "n/a"
		mbs := "n/a"
		if len(rs) > 0 {
			mbs = fmt.Sprintf("%.1f", medianOf(rs, func(r Result) float64 { return r.MBps }))
			if c.Kind == "produce" {
				lat = fmt.Sprintf("%.0f / %.0f / %.0f", medianOf(rs, func(r Result) float64 { return r.Latency.P50 }),
					medianOf(rs, func(r Result) float64 { return r.Latency.P99 }), medianOf(rs, func(r Result) float64 { return r.Latency.P999 }))
				if c.Kind == "produce" && rs[0].Batch > 1 {
					lat += fmt.Sprintf(" (per batch of %d)", rs[0].Batch)
				}
			} else {
				lat = "— (pre-filled)"
			}
			if v := medianOf(rs, func(r Result) float64 { return r.BrokerCPUUsPerMsg }); v >= 0 {
				cpu = fmt.Sprintf("%.2f", v)
				if c.Kind == "produce" {
					cpuCases = append(cpuCases, fmt.Sprintf("%s %.2f", c.Label, v))
					cpuWorst = max(cpuWorst, v)
				}
			}
		}
		natsCase, natsRate, natsLat, natsCPU, ratio := "—", "—", "—", "—", "—"
		var ratioV float64
		haveRatio := false
		if c.NATS.Case != "" {
			natsCase = c.NATS.String()
			if c.Note != "" {
				natsCase += "; " + c.Note
			}
			if row, ok := nats[c.NATS]; ok && nats != nil {
				natsRate = spread{row.Rate, row.RateMin, row.RateMax}.String()
				natsCPU = fmt.Sprintf("%.1f", row.SrvUsPerMsg)
				if len(rs) > 0 && row.Rate > 0 {
					ratioV, haveRatio = sp.Med/row.Rate, true
					ratio = fmt.Sprintf("%.2fx", ratioV)
				}
			} else {
				natsRate = "not measured"
			}
		}
		if c.NATSLat.Case != "" {
			if row, ok := nats[c.NATSLat]; ok {
				natsLat = fmt.Sprintf("%.0f / %.0f", row.P50, row.P99)
			}
		}
		tpsText := "not measured"
		if len(rs) > 0 {
			tpsText = sp.String()
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			c.Title, tpsText, mbs, lat, cpu, natsCase, natsRate, natsLat, natsCPU, ratio)
		if c.MinRatio > 0 {
			ch := check{What: fmt.Sprintf("%s: at least %.1fx NATS (%s)", c.Title, c.MinRatio, c.NATS)}
			if haveRatio {
				ch.Value, ch.Met = fmt.Sprintf("%.2fx", ratioV), ratioV >= c.MinRatio
			} else {
				ch.Unknown = true
			}
			checks = append(checks, ch)
		}
	}
	// Sync-send p99 with one producer against NATS's sync-publish p99 (natslat, same mode).
	latCheck := check{What: "sync send p99 latency, 1 producer: no higher than NATS's (lat_sync_1, default)"}
	if rs, row, ok := results["sync_1"], nats[natsRef{"default", "lat_sync_1"}], nats != nil; ok && len(rs) > 0 && row.P99 > 0 {
		p99 := medianOf(rs, func(r Result) float64 { return r.Latency.P99 })
		latCheck.Value, latCheck.Met = fmt.Sprintf("%.0f µs vs %.0f µs", p99, row.P99), p99 <= row.P99
	} else {
		latCheck.Unknown = true
	}
	checks = append(checks, latCheck)
	cpuCheck := check{What: "broker CPU per produced 1 KiB message: at most 4 µs"}
	if cpuWorst >= 0 {
		cpuCheck.Value, cpuCheck.Met = strings.Join(cpuCases, ", ")+" µs", cpuWorst <= 4
	} else {
		cpuCheck.Unknown = true
	}
	checks = append(checks, cpuCheck)

	fmt.Fprintln(w)
	if natsVersion != "" {
		fmt.Fprintf(w, "NATS: %s.\n\n", natsVersion)
	}
	fmt.Fprintln(w, "Targets (issue item 5):")
	fmt.Fprintln(w)
	for _, ch := range checks {
		verdict := "not met"
		switch {
		case ch.Unknown:
			verdict, ch.Value = "not measured", "—"
		case ch.Met:
			verdict = "met"
		}
		fmt.Fprintf(w, "- %s — %s: **%s**\n", ch.What, ch.Value, verdict)
	}
}

// tableMain is `rocketgo bench table`.
func tableMain(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("rocketgo bench table", pflag.ContinueOnError)
	results := fs.String("results", "", "JSON lines of 'bench produce|consume --json --label CASE' (required)")
	natsFile := fs.String("nats", "", "output of bench/peers/nats_jetstream.sh (optional)")
	facts := fs.String("facts", "", "Markdown printed above the table: machine facts (optional)")
	if ok, code := parseFlags(fs, "table", args, stdout, stderr); !ok {
		return code
	}
	if *results == "" {
		return usageError(stderr, "table", errors.New("--results is required"))
	}
	f, err := os.Open(*results)
	if err != nil {
		return usageError(stderr, "table", err)
	}
	defer f.Close()
	res, err := readResults(f)
	if err != nil {
		fmt.Fprintf(stderr, "rocketgo bench table: %v\n", err)
		return exitFailure
	}
	var nats map[natsRef]natsRow
	var version string
	if *natsFile != "" {
		nf, err := os.Open(*natsFile)
		if err != nil {
			return usageError(stderr, "table", err)
		}
		defer nf.Close()
		if nats, version, err = parseNATS(nf); err != nil {
			fmt.Fprintf(stderr, "rocketgo bench table: %v\n", err)
			return exitFailure
		}
	}
	if *facts != "" {
		b, err := os.ReadFile(*facts)
		if err != nil {
			return usageError(stderr, "table", err)
		}
		stdout.Write(b)
		fmt.Fprintln(stdout)
	}
	Table(stdout, res, nats, version)
	return exitOK
}
