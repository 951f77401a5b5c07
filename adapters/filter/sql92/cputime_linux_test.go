//go:build linux

package sql92

import (
	"runtime"
	"syscall"
	"time"
)

// cpuClock measures the CPU time of the calling goroutine's thread (getrusage RUSAGE_THREAD),
// which, unlike wall time, leaves out the time other processes on a busy machine take: benchmarks
// report it beside ns/op. start locks the goroutine to its thread; stop unlocks it.
type cpuClock struct{ t0 time.Duration }

const rusageThread = 1

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuClock) start() { runtime.LockOSThread(); c.t0 = threadCPU() }
func (c *cpuClock) stop() time.Duration {
	d := threadCPU() - c.t0
	runtime.UnlockOSThread()
	return d
}
