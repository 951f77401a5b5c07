package sql92

import (
	"testing"

	corefilter "github.com/rocketgo/rocketgo/core/filter"
	"github.com/rocketgo/rocketgo/core/filter/filtercases"
	"github.com/rocketgo/rocketgo/core/message"
)

// palette holds the property values the differential test draws from: missing, numbers of
// every shape, strings that are almost numbers, booleans in both cases.
var palette = []string{"", "0", "1", "5", "-3", "3.5", ".5", "1e3", "x", "red", "true", "TRUE",
	"false", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "abc", " 5", "NaN", "7"}

// FuzzDifferential: for every expression core/filter parses, the expr program this adapter
// compiles decides like core/filter's reference evaluator, over property sets drawn from the
// palette by the fuzzer's bytes, in both polarities and with the expression used as a value
// (see checkTree). The seed corpus is in testdata/fuzz/FuzzDifferential.
func FuzzDifferential(f *testing.F) {
	for i, c := range filtercases.Cases {
		f.Add(c.Src, []byte{byte(i), byte(i * 7), byte(i * 13)})
	}
	c, err := New(Config{MaxExpressionLength: 512, MaxDepth: 12, MaxInList: 8, CacheSize: 0})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string, choice []byte) {
		e, err := corefilter.Parse(src, c.lim)
		if err != nil {
			if _, err2 := c.Compile(src); err2 == nil {
				t.Fatalf("%q: core/filter refuses (%v), the adapter compiles", src, err)
			}
			return
		}
		if _, err := c.Compile(src); err != nil {
			t.Fatalf("%q parses but does not compile: %v", src, err)
		}
		for set := 0; set < 3; set++ {
			props := message.Properties{}
			for i, name := range e.Props {
				k := 0
				if n := len(choice); n > 0 {
					k = int(choice[(set*len(e.Props)+i)%n])
				}
				k = (k + set*5) % (len(palette) + 1)
				if k < len(palette) {
					props[name] = palette[k] // k == len(palette): missing
				}
			}
			checkTree(t, src, e.Root, props)
		}
	})
}
