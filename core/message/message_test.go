package message

import "testing"

func TestTagsCodeMatchesJava(t *testing.T) {
	cases := map[string]int64{
		"":     0,
		"TagA": 2598919,
		"TagB": 2598920,
		// values printed by Java's String.hashCode (the emoji is a surrogate pair)
		"héllo": 103094734,
		"😀":     1772899,
		// overflow wraps as Java int does: "polygenelubricants".hashCode() == Integer.MIN_VALUE
		"polygenelubricants": -2147483648,
	}
	for in, want := range cases {
		if got := TagsCode(in); got != want {
			t.Errorf("TagsCode(%q) = %d, want %d", in, got, want)
		}
	}
}
