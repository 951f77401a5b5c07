package message

import (
	"sort"
	"strings"
	"unicode/utf16"
)

// TagHash is the code a broker stores for a tag in its consume queue: Java's String.hashCode over
// the UTF-16 code units of the tag (h = 31*h + c with int32 wrap-around), widened to int64.
func TagHash(tag string) int64 {
	var h int32
	for _, r := range tag {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h = 31*h + int32(r1)
			h = 31*h + int32(r2)
			continue
		}
		h = 31*h + int32(r)
	}
	return int64(h)
}

// ParseTagExpression splits a tag expression ("*", "", "TagA", "TagA || TagB") into its trimmed,
// sorted, distinct tags; "*" and "" give none (everything matches).
func ParseTagExpression(expr string) []string {
	expr = strings.TrimSpace(expr)
	if expr == "" || expr == "*" {
		return nil
	}
	seen := map[string]bool{}
	var tags []string
	for _, t := range strings.Split(expr, "||") {
		t = strings.TrimSpace(t)
		if t != "" && !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	return tags
}
