package bench

import "time"

// pace is a phase's progress: how many bytes it had written at each mark, oldest first. A
// phase whose second half runs much slower than its first did not measure one thing: on the
// 2-core VM these figures come from, only the few GB of guest memory used most recently are
// fast to touch, and past them every new page, anonymous or page cache, costs ~13 µs (the host
// backs it on first touch; touching 512 MiB chunks of fresh anonymous memory: 0.9-1.9 GB/s for
// the first 2.5-3.5 GB, 0.2-0.46 GB/s after, also when paced at 800 MB/s). A raw write of 3 GB
// then runs at ~3 GB/s for its first 2-2.5 GB and at a fifth of that for the rest, and its
// average says more about where it crossed that line than about the disk.
type pace []paceMark

type paceMark struct {
	bytes int64
	at    time.Duration // since the phase started
}

// mark records that bytes had been written at. Marks that do not move forward are dropped.
func (p *pace) mark(bytes int64, at time.Duration) {
	if n := len(*p); n > 0 && ((*p)[n-1].bytes >= bytes || (*p)[n-1].at >= at) {
		return
	}
	*p = append(*p, paceMark{bytes, at})
}

// halves is the rate in MB/s over the first half of the phase's bytes and over the second,
// split at the first mark at or past half of them. ok is false when the marks cannot split the
// phase (fewer than two, or the split falls on the last).
func (p pace) halves() (first, second float64, ok bool) {
	if len(p) < 2 {
		return 0, 0, false
	}
	last := p[len(p)-1]
	for _, m := range p {
		if m.bytes*2 >= last.bytes {
			if m == last {
				return 0, 0, false
			}
			return mbps(m.bytes, m.at), mbps(last.bytes-m.bytes, last.at-m.at), true
		}
	}
	return 0, 0, false
}

// slowed says whether the second half ran at less than half the rate of the first, and if so
// after how many bytes: the start of the first stretch between marks that ran that slow.
func (p pace) slowed() (after int64, ok bool) {
	first, second, ok := p.halves()
	if !ok || second >= first/2 {
		return 0, false
	}
	for i := 1; i < len(p); i++ {
		if mbps(p[i].bytes-p[i-1].bytes, p[i].at-p[i-1].at) < first/2 {
			return p[i-1].bytes, true
		}
	}
	return p[len(p)-1].bytes, true // unreachable: some stretch of the slow half is slower than it
}
