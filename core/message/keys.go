package message

import (
	"iter"
	"strings"
)

// IndexKeys yields the keys RocketMQ indexes a message under: its UNIQ_KEY, then every non-empty
// entry of its KEYS property split on KeySeparator. A key may repeat (a KEYS entry equal to the
// UNIQ_KEY, or listed twice); indexes keep each occurrence and queries answer a record once.
func IndexKeys(uniqKey, keys string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if uniqKey != "" && !yield(uniqKey) {
			return
		}
		for keys != "" {
			k, rest, _ := strings.Cut(keys, KeySeparator)
			if k != "" && !yield(k) {
				return
			}
			keys = rest
		}
	}
}

// HasIndexKey reports whether key is one of the keys IndexKeys yields for uniqKey and keys.
func HasIndexKey(uniqKey, keys, key string) bool {
	if key == "" {
		return false
	}
	for k := range IndexKeys(uniqKey, keys) {
		if k == key {
			return true
		}
	}
	return false
}
