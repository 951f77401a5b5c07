package app

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// leaf is one configuration key and its value, in struct order.
type leaf struct {
	path  string // dotted key, e.g. "remoting.maxFrameSize"
	value any    // as written in YAML: durations as strings, lists as []any
}

// leaves walks cfg the way the decoder does (koanf tags, ",squash" flattening an embedded
// struct into its parent), so the key set, the defaults map and the printed config all come
// from one place and cannot disagree with the struct.
func leaves(cfg Config) []leaf {
	var out []leaf
	walk(reflect.ValueOf(cfg), "", &out)
	return out
}

func walk(v reflect.Value, prefix string, out *[]leaf) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("koanf"), ",")
		fv := v.Field(i)
		if slices.Contains(strings.Split(opts, ","), "squash") {
			walk(fv, prefix, out)
			continue
		}
		if name == "" {
			// The decoder matches an untagged field by name, case-insensitively.
			name = lowerFirst(f.Name)
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		if fv.Kind() == reflect.Struct {
			walk(fv, path, out)
			continue
		}
		*out = append(*out, leaf{path: path, value: yamlValue(fv)})
	}
}

// yamlValue renders a field the way a person would write it in the YAML file.
func yamlValue(v reflect.Value) any {
	if d, ok := v.Interface().(time.Duration); ok {
		return formatDuration(d)
	}
	if v.Kind() == reflect.Slice {
		items := make([]any, v.Len())
		for i := range items {
			items[i] = yamlValue(v.Index(i))
		}
		return items
	}
	return v.Interface()
}

// formatDuration is time.Duration.String without the zero tails ("5m" rather than "5m0s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// keySet knows every key of the tree: leaves (values) and sections (maps of keys).
type keySet struct {
	leaves   map[string]bool
	sections map[string]bool
	folded   map[string]string // lower-case path -> path, for environment variables
}

func newKeySet(ls []leaf) keySet {
	ks := keySet{leaves: map[string]bool{}, sections: map[string]bool{}, folded: map[string]string{}}
	for _, l := range ls {
		ks.leaves[l.path] = true
		ks.folded[strings.ToLower(l.path)] = l.path
		for p := l.path; ; {
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[:i]
			ks.sections[p] = true
			ks.folded[strings.ToLower(p)] = p
		}
	}
	return ks
}

// suggest returns the known key an unknown one was most likely meant to be, or "": the
// closest key within two edits, else a key with the same last segment in another section
// ("storage.flush" -> "storage.mmap.flush").
func (ks keySet) suggest(key string) string {
	key = strings.ToLower(key)
	best, bestDist := "", 3 // three edits or more is a different key, not a typo
	for _, k := range slices.Sorted(maps.Keys(ks.leaves)) {
		if d := editDistance(key, strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return best
	}
	last := key[strings.LastIndexByte(key, '.')+1:]
	for _, k := range slices.Sorted(maps.Keys(ks.leaves)) {
		if strings.EqualFold(k[strings.LastIndexByte(k, '.')+1:], last) {
			return k
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// nest turns leaves into the nested map koanf and the YAML encoder work on.
func nest(ls []leaf) map[string]any {
	root := map[string]any{}
	for _, l := range ls {
		m := root
		parts := strings.Split(l.path, ".")
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = l.value
	}
	return root
}
