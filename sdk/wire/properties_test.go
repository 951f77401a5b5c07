package wire

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"go style, trailing separator", "KEYS\x01k1\x02UNIQ_KEY\x01C0\x02TAGS\x01TagA\x02", map[string]string{"KEYS": "k1", "UNIQ_KEY": "C0", "TAGS": "TagA"}},
		{"java style, none", "CLUSTER\x01DefaultCluster\x02TAGS\x01TagA", map[string]string{"CLUSTER": "DefaultCluster", "TAGS": "TagA"}},
		{"empty name dropped", "\x01v\x02k\x01v", map[string]string{"k": "v"}},
		{"empty value dropped", "a\x01\x02k\x01v", map[string]string{"k": "v"}},
		{"segment without separator skipped", "junk\x02k\x01v\x02\x02", map[string]string{"k": "v"}},
		{"split at the first 0x01", "k\x01a\x01b", map[string]string{"k": "a\x01b"}},
		{"last wins", "k\x01a\x02k\x01b", map[string]string{"k": "b"}},
		{"empty", "", nil},
		{"nothing usable", "\x02\x02x", map[string]string{}},
	}
	for _, c := range cases {
		got := ParseProperties(c.in)
		if !maps.Equal(got, c.want) {
			t.Errorf("%s: ParseProperties(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
		for k, v := range c.want {
			if pv, ok := PropertyValue(c.in, k); !ok || pv != v {
				t.Errorf("%s: PropertyValue(%q) = %q %v, want %q", c.name, k, pv, ok, v)
			}
		}
	}
}

func TestPropertyValue(t *testing.T) {
	s := "KEYS\x01k1\x02TAGS\x01TagA\x02TAG\x01x\x02EMPTY\x01\x02DUP\x01one\x02DUP\x01two\x02DUP\x01\x02"
	for _, c := range []struct {
		name, want string
		ok         bool
	}{
		{"TAGS", "TagA", true},
		{"TAG", "x", true},
		{"KEYS", "k1", true},
		{"KEY", "", false},
		{"EMPTY", "", false},
		{"DUP", "two", true},
		{"", "", false},
		{"TAGS\x01TagA", "", false},
		{"MISSING", "", false},
	} {
		got, ok := PropertyValue(s, c.name)
		if got != c.want || ok != c.ok {
			t.Errorf("PropertyValue(%q) = %q %v, want %q %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestEncodePropertiesSortedJavaStyle(t *testing.T) {
	m := map[string]string{"UNIQ_KEY": "C0", "CLUSTER": "DefaultCluster", "KEYS": "k1", "TAGS": "TagA"}
	got := EncodeProperties(m)
	want := "CLUSTER\x01DefaultCluster\x02KEYS\x01k1\x02TAGS\x01TagA\x02UNIQ_KEY\x01C0"
	if got != want {
		t.Fatalf("EncodeProperties = %q, want %q", got, want)
	}
	if back := ParseProperties(got); !maps.Equal(back, m) {
		t.Fatalf("round trip %q", back)
	}
	if EncodeProperties(nil) != "" {
		t.Fatal("empty map must encode as empty string")
	}
}

// Encodings are sorted by name however many properties there are (up to 16 they are sorted on
// the stack, past that with a slice).
func TestEncodePropertiesSortedAtAnyCount(t *testing.T) {
	for _, n := range []int{1, 2, 15, 16, 17, 40} {
		m := make(map[string]string, n)
		for i := range n {
			m[fmt.Sprintf("p%03d", (i*7919)%1000)] = fmt.Sprint(i)
		}
		got := EncodeProperties(m)
		parts := strings.Split(got, string(PropertySeparator))
		if len(parts) != n || !slices.IsSorted(parts) {
			t.Fatalf("%d properties: %q is not %d sorted pairs", n, got, n)
		}
		if back := ParseProperties(got); !maps.Equal(back, m) {
			t.Fatalf("%d properties: round trip %q", n, back)
		}
	}
}

// SortProperties sorts only the pairs it appends: a caller reusing a slice that holds pairs of
// its own keeps them where they were, and the pairs it gets encode as AppendProperties does.
func TestSortPropertiesAppendsSortedAfterWhatIsThere(t *testing.T) {
	m := map[string]string{"TAGS": "TagA", "KEYS": "k1", "A": "1"}
	own := []Property{{"Z", "z"}}
	ps := SortProperties(own, m)
	want := []Property{{"Z", "z"}, {"A", "1"}, {"KEYS", "k1"}, {"TAGS", "TagA"}}
	if !slices.Equal(ps, want) {
		t.Fatalf("SortProperties = %q, want %q", ps, want)
	}
	if got := string(AppendSortedProperties([]byte("x"), ps[1:])); got != "x"+EncodeProperties(m) {
		t.Fatalf("AppendSortedProperties = %q, want %q", got, "x"+EncodeProperties(m))
	}
	if got := AppendSortedProperties([]byte("x"), nil); string(got) != "x" {
		t.Fatalf("no pairs: %q", got)
	}
}
