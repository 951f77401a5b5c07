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
// trailing separator, as Java writes it.
func AppendProperties(dst []byte, m map[string]string) []byte {
	var stack [16]Property
	return AppendSortedProperties(dst, SortProperties(stack[:0], m))
}

// Property is one name and value of a message's properties.
type Property struct{ Name, Value string }

// SortProperties appends the pairs of m to ps sorted by name, the order AppendProperties writes
// them in. It runs for every stored message: the pairs are taken from the map in one pass, and a
// caller that needs some of the values finds them among the few pairs instead of looking each
// up in the map.
func SortProperties(ps []Property, m map[string]string) []Property {
	from := len(ps)
	for k, v := range m {
		ps = append(ps, Property{k, v})
	}
	if sorted := ps[from:]; len(sorted) <= 16 {
		for i := 1; i < len(sorted); i++ {
			for j := i; j > 0 && sorted[j].Name < sorted[j-1].Name; j-- {
				sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
			}
		}
	} else {
		slices.SortFunc(sorted, func(a, b Property) int { return strings.Compare(a.Name, b.Name) })
	}
	return ps
}

// AppendSortedProperties writes ps, in their order, in RocketMQ's form.
func AppendSortedProperties(dst []byte, ps []Property) []byte {
	if len(ps) == 0 {
		return dst
	}
	n := len(ps)*2 - 1
	for _, p := range ps {
		n += len(p.Name) + len(p.Value)
	}
	dst = slices.Grow(dst, n)
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, PropertySeparator)
		}
		dst = append(dst, p.Name...)
		dst = append(dst, NameValueSeparator)
		dst = append(dst, p.Value...)
	}
	return dst
}

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
