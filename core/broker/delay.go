package broker

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultDelayLevels are RocketMQ's 18 delay levels.
const DefaultDelayLevels = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"

// ParseDelayLevels reads a space-separated list of delays with the units s, m, h or d (RocketMQ's
// messageDelayLevel). Level n is element n-1.
func ParseDelayLevels(s string) ([]time.Duration, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, fmt.Errorf("delay levels: none given")
	}
	out := make([]time.Duration, len(fields))
	for i, f := range fields {
		if len(f) < 2 {
			return nil, fmt.Errorf("delay level %d: %q needs a number and a unit (s, m, h, d)", i+1, f)
		}
		n, err := strconv.ParseInt(f[:len(f)-1], 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("delay level %d: %q is not a positive number with a unit", i+1, f)
		}
		var unit time.Duration
		switch f[len(f)-1] {
		case 's':
			unit = time.Second
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = 24 * time.Hour
		default:
			return nil, fmt.Errorf("delay level %d: %q has an unknown unit (use s, m, h or d)", i+1, f)
		}
		out[i] = time.Duration(n) * unit
	}
	return out, nil
}
