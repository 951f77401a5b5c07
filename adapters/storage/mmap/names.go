package mmap

import (
	"fmt"
	"strconv"
)

// fileName is the 20-digit zero-padded name of a file that starts at offset off.
func fileName(off int64) string { return fmt.Sprintf("%020d", off) }

// parseFileName reads a name written by fileName; anything else is not one of the store's files.
func parseFileName(name string) (int64, bool) {
	if len(name) != 20 {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(name, 10, 64)
	return v, err == nil
}

// parseQueueDir reads a queue id directory name: a canonical non-negative int32.
func parseQueueDir(name string) (int32, bool) {
	v, err := strconv.ParseInt(name, 10, 32)
	if err != nil || v < 0 || strconv.FormatInt(v, 10) != name {
		return 0, false
	}
	return int32(v), true
}
