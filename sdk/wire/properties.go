package wire

import (
	"slices"
	"strings"
)

// Property separators.
const (
	NameValueSeparator = '\x01'
	PropertySeparator  = '\x02'
)

// MaxPropertiesLen is the longest properties string a record can hold (int16 length).
const MaxPropertiesLen = 32767

// ParseProperties splits a properties string. It is lenient as RocketMQ's readers are: empty
// segments are skipped, a segment is split at its first 0x01, and entries with an empty name or
// value are dropped. A trailing 0x02 (the Go client writes one) is accepted.
func ParseProperties(s string) map[string]string {
	if s == "" {
		return nil
	}
	m := make(map[string]string, strings.Count(s, "\x02")+1)
	for s != "" {
		var seg string
		if i := strings.IndexByte(s, PropertySeparator); i >= 0 {
			seg, s = s[:i], s[i+1:]
		} else {
			seg, s = s, ""
		}
		k, v, ok := strings.Cut(seg, "\x01")
		if !ok || k == "" || v == "" {
			continue
		}
		m[k] = v
	}
	return m
}

// AppendProperties writes m in RocketMQ's form with names sorted (so encodings are stable) and no
// trailing separator, as Java writes it. It runs for every stored message: pairs are taken from
// the map in one pass (no lookup per name) and the few of a message sorted by insertion.
func AppendProperties(dst []byte, m map[string]string) []byte {
	if len(m) == 0 {
		return dst
	}
	var stack [16]property
	ps := stack[:0]
	for k, v := range m {
		ps = append(ps, property{k, v})
	}
	if len(ps) <= len(stack) {
		for i := 1; i < len(ps); i++ {
			for j := i; j > 0 && ps[j].name < ps[j-1].name; j-- {
				ps[j], ps[j-1] = ps[j-1], ps[j]
			}
		}
	} else {
		slices.SortFunc(ps, func(a, b property) int { return strings.Compare(a.name, b.name) })
	}
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, PropertySeparator)
		}
		dst = append(dst, p.name...)
		dst = append(dst, NameValueSeparator)
		dst = append(dst, p.value...)
	}
	return dst
}

type property struct{ name, value string }

// EncodeProperties is AppendProperties into a new string.
func EncodeProperties(m map[string]string) string { return string(AppendProperties(nil, m)) }

// PropertyValue finds one property in an encoded string without building a map, with the same
// answer as ParseProperties: the last non-empty occurrence wins, as in RocketMQ's readers.
func PropertyValue(s, name string) (string, bool) {
	if name == "" || strings.ContainsAny(name, "\x01\x02") {
		return "", false
	}
	for s != "" {
		var seg string
		if i := strings.LastIndexByte(s, PropertySeparator); i >= 0 {
			seg, s = s[i+1:], s[:i]
		} else {
			seg, s = s, ""
		}
		if len(seg) > len(name)+1 && seg[len(name)] == NameValueSeparator && seg[:len(name)] == name {
			return seg[len(name)+1:], true
		}
	}
	return "", false
}
