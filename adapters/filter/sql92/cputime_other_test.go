//go:build !linux

package sql92

import "time"

// cpuClock falls back to wall time where thread CPU time is not available.
type cpuClock struct{ t0 time.Time }

func (c *cpuClock) start()              { c.t0 = time.Now() }
func (c *cpuClock) stop() time.Duration { return time.Since(c.t0) }
