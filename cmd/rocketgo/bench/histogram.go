package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// The histogram is log-bucketed in the manner of HdrHistogram: values below 2^subBits fall in
// buckets of width 1; above that every power of two is split into 2^subBits equal buckets, so a
// bucket's width is at most 1/128 of its lower bound (0.8% relative error). Values are
// nanoseconds, clamped to maxValue (about 18 minutes).
const (
	subBits   = 7
	subCount  = 1 << subBits
	maxBits   = 40
	maxValue  = 1<<maxBits - 1
	nBuckets  = (maxBits - subBits + 1) * subCount
	bucketMax = nBuckets - 1
)

// bucketOf is the index of the bucket holding v (v <= maxValue).
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits // >= 1
	return e*subCount + int(v>>(e-1)) - subCount
}

// bucketLow is the smallest value of bucket i.
func bucketLow(i int) uint64 {
	e, m := i/subCount, uint64(i%subCount)
	if e == 0 {
		return m
	}
	return (subCount + m) << (e - 1)
}

// bucketHigh is the largest value of bucket i.
func bucketHigh(i int) uint64 {
	if i >= bucketMax {
		return maxValue
	}
	return bucketLow(i+1) - 1
}

// Histogram records values concurrently: every method is safe for concurrent use and Record does
// not lock or allocate. Read it through Snapshot.
type Histogram struct {
	counts [nBuckets]atomic.Uint64
	n, sum atomic.Uint64
	max    atomic.Uint64
}

// Record adds one value; negative values count as 0.
func (h *Histogram) Record(v int64) {
	u := uint64(0)
	if v > 0 {
		u = uint64(v)
	}
	if u > maxValue {
		u = maxValue
	}
	h.counts[bucketOf(u)].Add(1)
	h.n.Add(1)
	h.sum.Add(u)
	for {
		m := h.max.Load()
		if u <= m || h.max.CompareAndSwap(m, u) {
			break
		}
	}
}

// Snapshot copies the histogram into s (reusing s's storage). Concurrent Records may land in
// some fields and not yet in others; the reporter's intervals tolerate that.
func (h *Histogram) Snapshot(s *HistSnapshot) {
	if len(s.Counts) != nBuckets {
		s.Counts = make([]uint64, nBuckets)
	}
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
	}
	s.N, s.Sum, s.Max = h.n.Load(), h.sum.Load(), h.max.Load()
}

// HistSnapshot is a plain copy of a Histogram, or a sum or difference of copies.
type HistSnapshot struct {
	Counts []uint64 // nil or nBuckets long
	N      uint64   // values recorded
	Sum    uint64   // their sum (mean = Sum/N)
	Max    uint64   // the largest value (for a difference: the upper bound of its top bucket)
}

// Add merges o into s.
func (s *HistSnapshot) Add(o *HistSnapshot) {
	if len(o.Counts) == 0 {
		return
	}
	if len(s.Counts) != nBuckets {
		s.Counts = make([]uint64, nBuckets)
	}
	for i, c := range o.Counts {
		s.Counts[i] += c
	}
	s.N += o.N
	s.Sum += o.Sum
	s.Max = max(s.Max, o.Max)
}

// Since is the part of s recorded after prev, an earlier snapshot of the same histograms. Its
// Max is estimated from its highest non-empty bucket (never above s.Max).
func (s *HistSnapshot) Since(prev *HistSnapshot) HistSnapshot {
	d := HistSnapshot{Counts: make([]uint64, nBuckets), N: s.N - prev.N, Sum: s.Sum - prev.Sum}
	top := -1
	for i := range s.Counts {
		var p uint64
		if len(prev.Counts) == nBuckets {
			p = prev.Counts[i]
		}
		if s.Counts[i] > p {
			d.Counts[i] = s.Counts[i] - p
			top = i
		}
	}
	if top >= 0 {
		d.Max = min(bucketHigh(top), s.Max)
	}
	return d
}

// Mean is the average value, 0 when empty.
func (s *HistSnapshot) Mean() float64 {
	if s.N == 0 {
		return 0
	}
	return float64(s.Sum) / float64(s.N)
}

// Quantile is the value at quantile q (0..1): the upper bound of the bucket holding the value of
// rank ceil(q*N), capped at Max. It is 0 when empty.
func (s *HistSnapshot) Quantile(q float64) uint64 {
	var total uint64
	for _, c := range s.Counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q*float64(total) - 1e-9))
	rank = min(max(rank, 1), total)
	var seen uint64
	for i, c := range s.Counts {
		seen += c
		if seen >= rank {
			v := bucketHigh(i)
			if s.Max > 0 && v > s.Max {
				v = s.Max
			}
			return v
		}
	}
	return s.Max
}
