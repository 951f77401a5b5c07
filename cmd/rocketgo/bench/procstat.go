package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: Linux always reports them in
// USER_HZ, which is 100 on every architecture Go supports.
const userHZ = 100

// procCPU reads the CPU time (user + system) a process has used so far from /proc/<pid>/stat.
// Its resolution is 10 ms, plenty over a run of seconds.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(b)
}

// parseProcStat takes utime (field 14) and stime (field 15) of a /proc/<pid>/stat line. The
// command name (field 2) is in parentheses and may itself hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseProcStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat: no command field")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// readyDoc is what `rocketgo standalone|broker --ready-file` writes.
type readyDoc struct {
	Namesrv string `json:"namesrv"`
	Broker  string `json:"broker"`
	PID     int    `json:"pid"`
}

func readReadyFile(path string) (readyDoc, error) {
	var d readyDoc
	b, err := os.ReadFile(path)
	if err != nil {
		return d, fmt.Errorf("ready file: %w", err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("ready file %s: %w", path, err)
	}
	return d, nil
}

// cpuSampler reads the broker's and this process's CPU time; a zero broker pid, or a broker
// whose /proc entry cannot be read, gives a negative broker time ("unknown").
type cpuSampler struct {
	brokerPID int
}

type cpuSample struct {
	at     time.Time
	broker time.Duration // < 0: unknown
	self   time.Duration
}

func (c cpuSampler) sample() cpuSample {
	s := cpuSample{at: time.Now(), broker: -1, self: selfCPU()}
	if c.brokerPID > 0 {
		if d, err := procCPU(c.brokerPID); err == nil {
			s.broker = d
		}
	}
	return s
}

// cpuDelta is what a process used between two samples: cores (CPU seconds per wall second) and
// microseconds per message; negative when unknown.
type cpuDelta struct {
	BrokerCores    float64
	BrokerUsPerMsg float64
	ClientCores    float64
}

func cpuBetween(a, b cpuSample, msgs uint64) cpuDelta {
	d := cpuDelta{BrokerCores: -1, BrokerUsPerMsg: -1}
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return d
	}
	d.ClientCores = (b.self - a.self).Seconds() / wall
	if a.broker >= 0 && b.broker >= 0 {
		used := b.broker - a.broker
		d.BrokerCores = used.Seconds() / wall
		if msgs > 0 {
			d.BrokerUsPerMsg = float64(used.Microseconds()) / float64(msgs)
		}
	}
	return d
}
