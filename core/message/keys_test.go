package message

import (
	"slices"
	"testing"
)

func TestIndexKeys(t *testing.T) {
	for _, tc := range []struct {
		uniq, keys string
		want       []string
	}{
		{"", "", nil},
		{"U1", "", []string{"U1"}},
		{"", "a", []string{"a"}},
		{"U1", "a b", []string{"U1", "a", "b"}},
		{"", "  a   b ", []string{"a", "b"}}, // empty entries between separators are skipped
		{"U1", "U1 a a", []string{"U1", "U1", "a", "a"}},
	} {
		got := slices.Collect(IndexKeys(tc.uniq, tc.keys))
		if !slices.Equal(got, tc.want) {
			t.Errorf("IndexKeys(%q, %q) = %q, want %q", tc.uniq, tc.keys, got, tc.want)
		}
	}
	// Stopping early must stop the walk.
	n := 0
	for range IndexKeys("U", "a b c") {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("early break yielded %d keys", n)
	}
}

func TestHasIndexKey(t *testing.T) {
	if !HasIndexKey("U", "a b", "b") || !HasIndexKey("U", "a b", "U") {
		t.Fatal("a present key was not found")
	}
	if HasIndexKey("U", "a b", "a b") || HasIndexKey("U", "a b", "") || HasIndexKey("", "", "x") {
		t.Fatal("an absent key was found")
	}
}
