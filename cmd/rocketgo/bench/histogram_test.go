package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func TestBucketBounds(t *testing.T) {
	// Every bucket's bounds map back to it, buckets tile the range without gaps, and a bucket
	// is at most 1/128 of its lower bound wide.
	for i := 0; i < nBuckets; i++ {
		lo, hi := bucketLow(i), bucketHigh(i)
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d: [%d, %d] maps to %d and %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if i > 0 && bucketHigh(i-1)+1 != lo {
			t.Fatalf("gap before bucket %d: previous ends at %d, this starts at %d", i, bucketHigh(i-1), lo)
		}
		if lo >= subCount && float64(hi-lo+1) > float64(lo)/subCount {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d of its lower bound", i, lo, hi, subCount)
		}
	}
	if bucketOf(maxValue) != bucketMax {
		t.Fatalf("maxValue in bucket %d, want %d", bucketOf(maxValue), bucketMax)
	}
}

func TestQuantileSmallValuesExact(t *testing.T) {
	var h Histogram
	for v := int64(1); v <= 100; v++ {
		h.Record(v)
	}
	var s HistSnapshot
	h.Snapshot(&s)
	for _, c := range []struct {
		q    float64
		want uint64
	}{{0, 1}, {0.01, 1}, {0.5, 50}, {0.9, 90}, {0.99, 99}, {0.999, 100}, {1, 100}} {
		if got := s.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %d, want %d", c.q, got, c.want)
		}
	}
	if s.N != 100 || s.Max != 100 || s.Mean() != 50.5 {
		t.Errorf("N %d Max %d Mean %v, want 100 100 50.5", s.N, s.Max, s.Mean())
	}
}

func TestQuantileWithinRelativeError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]uint64, 100000)
	for i := range vals {
		// log-uniform from 1 µs to 100 ms, as latencies spread
		v := uint64(math.Exp(math.Log(1e3) + rng.Float64()*(math.Log(1e8)-math.Log(1e3))))
		vals[i] = v
		h.Record(int64(v))
	}
	slices.Sort(vals)
	var s HistSnapshot
	h.Snapshot(&s)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(math.Ceil(q*float64(len(vals))-1e-9))-1]
		got := s.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/subCount {
			t.Errorf("Quantile(%v) = %d, exact %d: outside [exact, exact*(1+1/%d)]", q, got, exact, subCount)
		}
	}
	if s.Max != vals[len(vals)-1] || s.Quantile(1) != s.Max {
		t.Errorf("Max %d Quantile(1) %d, want %d", s.Max, s.Quantile(1), vals[len(vals)-1])
	}
}

func TestRecordClampsAndEmpty(t *testing.T) {
	var h Histogram
	var s HistSnapshot
	h.Snapshot(&s)
	if s.Quantile(0.5) != 0 || s.Mean() != 0 {
		t.Fatalf("empty histogram: Quantile %d Mean %v", s.Quantile(0.5), s.Mean())
	}
	h.Record(-5)
	h.Record(math.MaxInt64)
	h.Snapshot(&s)
	if s.Counts[0] != 1 || s.Counts[bucketMax] != 1 || s.Max != maxValue {
		t.Fatalf("clamping: counts[0]=%d counts[max]=%d max=%d", s.Counts[0], s.Counts[bucketMax], s.Max)
	}
}

func TestSinceAndAdd(t *testing.T) {
	var a, b Histogram
	for v := int64(1); v <= 10; v++ {
		a.Record(v * 1000)
	}
	var before HistSnapshot
	a.Snapshot(&before)
	for v := int64(1); v <= 10; v++ {
		a.Record(v * 1_000_000)
		b.Record(7)
	}
	var after, sb HistSnapshot
	a.Snapshot(&after)
	b.Snapshot(&sb)

	d := after.Since(&before)
	if d.N != 10 || d.Sum != 55_000_000 {
		t.Fatalf("interval N %d Sum %d, want 10 55000000", d.N, d.Sum)
	}
	if got := d.Quantile(0.1); got < 1_000_000 || got > 1_000_000+1_000_000/subCount {
		t.Errorf("interval p10 %d, want about 1e6 (the earlier values excluded)", got)
	}
	if d.Max != after.Max { // the top bucket's bound is capped at the overall max
		t.Errorf("interval max %d, want %d", d.Max, after.Max)
	}
	// An interval whose values are all below the overall max estimates its own max.
	var empty HistSnapshot
	sa := before.Since(&empty)
	if sa.Max < 10000 || sa.Max > 10000+10000/subCount {
		t.Errorf("max estimated from the top bucket %d, want about 10000", sa.Max)
	}

	var sum HistSnapshot
	sum.Add(&after)
	sum.Add(&sb)
	if sum.N != 30 || sum.Max != after.Max || sum.Quantile(0.3) != 7 {
		t.Errorf("merged: N %d Max %d p30 %d", sum.N, sum.Max, sum.Quantile(0.3))
	}
}

func TestRecordConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10000 {
				h.Record(int64(g*10000 + i))
			}
		}()
	}
	wg.Wait()
	var s HistSnapshot
	h.Snapshot(&s)
	var total uint64
	for _, c := range s.Counts {
		total += c
	}
	if s.N != 80000 || total != 80000 || s.Max != 79999 {
		t.Fatalf("N %d counted %d max %d, want 80000 80000 79999", s.N, total, s.Max)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(int64(i&0xffff) * 1000)
	}
}
