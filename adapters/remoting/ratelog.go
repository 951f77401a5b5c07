package remoting

import (
	"sync"
	"time"
)

// rateLimit lets one event through per interval and counts the ones it held back, so a flood of
// refused connections costs one log line a second instead of one each.
type rateLimit struct {
	interval time.Duration
	mu       sync.Mutex
	last     time.Time
	dropped  int
}

// allow reports whether to log now and how many events were suppressed since the last log.
func (r *rateLimit) allow(now time.Time) (ok bool, suppressed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < r.interval {
		r.dropped++
		return false, 0
	}
	suppressed, r.dropped, r.last = r.dropped, 0, now
	return true, suppressed
}
