package sql92

import (
	"context"
	"strconv"
	"testing"

	corefilter "github.com/rocketgo/rocketgo/core/filter"
	"github.com/rocketgo/rocketgo/core/message"
)

// bench5 has five clauses over five properties: a range, string equality, an IN list, a decimal
// comparison and a presence test.
const bench5 = "a BETWEEN 3 AND 7 AND color = 'red' AND region IN ('eu', 'us', 'ap') AND price > 10.5 AND name IS NOT NULL"

// benchBatch is a batch of messages with the properties a real client sends (TAGS, KEYS,
// UNIQ_KEY, WAIT) beside the filtered ones; about half of them match all five clauses.
func benchBatch(n int) []message.Properties {
	out := make([]message.Properties, n)
	for i := range out {
		p := message.Properties{
			message.PropertyTags: "TagA", message.PropertyKeys: "k" + strconv.Itoa(i),
			message.PropertyUniqKey: "7F0000010001" + strconv.Itoa(100000+i), message.PropertyWait: "true",
			"a": strconv.Itoa(3 + i%5), "color": "red", "region": []string{"eu", "us", "ap"}[i%3],
			"price": "12.5", "name": "n",
		}
		if i%2 == 1 {
			p["price"] = "9.5" // fails the fourth clause, after three passed
		}
		out[i] = p
	}
	return out
}

// BenchmarkMatch5Clauses is the evaluation time per message of a 5-clause expression, in
// batches of 256 as the broker calls it; ns/msg is the figure to read.
func BenchmarkMatch5Clauses(b *testing.B) {
	f, err := newCompiler(b).Compile(bench5)
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(256)
	out := make([]bool, len(batch))
	b.ReportAllocs()
	var clk cpuClock
	clk.start()
	for b.Loop() {
		if err := f.MatchBatch(context.Background(), batch, out); err != nil {
			b.Fatal(err)
		}
	}
	cpu := clk.stop()
	if !out[0] || out[1] {
		b.Fatalf("wrong answers %v %v", out[0], out[1])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/msg")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(batch)), "cpu-ns/msg")
}

// BenchmarkMatch5ClausesSingle calls MatchBatch with one message: the cost of a batch of one,
// VM pool included.
func BenchmarkMatch5ClausesSingle(b *testing.B) {
	f, err := newCompiler(b).Compile(bench5)
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(1)
	out := make([]bool, 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.MatchBatch(context.Background(), batch, out); err != nil || !out[0] {
			b.Fatal(err)
		}
	}
}

// BenchmarkReference5Clauses is core/filter's tree-walking evaluator on the same batch, for
// comparison.
func BenchmarkReference5Clauses(b *testing.B) {
	e, err := corefilter.Parse(bench5, corefilter.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(256)
	b.ReportAllocs()
	var clk cpuClock
	clk.start()
	for b.Loop() {
		for _, p := range batch {
			e.Match(p)
		}
	}
	cpu := clk.stop()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/msg")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(batch)), "cpu-ns/msg")
}

// BenchmarkCompile5Clauses is parsing, lowering and compiling once (what a new subscription
// version costs), without the cache.
func BenchmarkCompile5Clauses(b *testing.B) {
	c, err := New(Config{MaxExpressionLength: 1 << 14, MaxDepth: 64, MaxInList: 1024, CacheSize: 0})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Compile(bench5); err != nil {
			b.Fatal(err)
		}
	}
}
