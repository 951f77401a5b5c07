package message

import (
	"math/rand/v2"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

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

// hashCodeByUnit is Java's definition, one UTF-16 code unit a step.
func hashCodeByUnit(h int32, s string) int32 {
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// The four-bytes-a-step ASCII path equals the definition for every length, with non-ASCII at
// every position, and continuing a hash equals hashing the concatenation.
func TestHashCodeMatchesTheDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcXYZ09#-_ é中😀")
	for n := range 40 {
		for range 50 {
			rs := make([]rune, n)
			for i := range rs {
				rs[i] = alphabet[rng.IntN(len(alphabet))]
				if rng.IntN(4) != 0 { // mostly ASCII, so long ASCII runs occur
					rs[i] = alphabet[rng.IntN(9)]
				}
			}
			s := string(rs)
			seed := int32(rng.Uint32())
			if got, want := HashCode(seed, s), hashCodeByUnit(seed, s); got != want {
				t.Fatalf("HashCode(%d, %q) = %d, want %d", seed, s, got, want)
			}
			cut := len(s) / 2
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			if got, want := HashCode(HashCode(seed, s[:cut]), s[cut:]), HashCode(seed, s); got != want {
				t.Fatalf("hashing %q in two parts: %d, whole: %d", s, got, want)
			}
		}
	}
}

func BenchmarkHashCode(b *testing.B) {
	s := "BenchTopic#order-20261121-000042"
	b.SetBytes(int64(len(s)))
	var h int32
	for b.Loop() {
		h = HashCode(h, s)
	}
	_ = h
}
