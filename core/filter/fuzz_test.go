package filter

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"testing"

	"github.com/rocketgo/rocketgo/core/filter/filtercases"
)

// FuzzParse: Parse never panics, refuses with a *ParseError that points into the expression,
// stays within its limits, and what it accepts prints back to text that parses to the same tree
// and evaluates without panicking. The seed corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, c := range filtercases.Cases {
		f.Add(c.Src)
	}
	lim := Limits{MaxLength: 256, MaxDepth: 8, MaxInList: 4}
	f.Fuzz(func(t *testing.T, src string) {
		for _, l := range []Limits{lim, DefaultLimits()} {
			e, err := Parse(src, l)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Parse(%q): %T %v is not a *ParseError", src, err, err)
				}
				if pe.Pos < 0 || pe.Pos > len(src) || pe.Reason == "" {
					t.Fatalf("Parse(%q): %v points outside the expression", src, err)
				}
				continue
			}
			if len(src) > l.MaxLength {
				t.Fatalf("Parse(%q) accepted %d bytes over a limit of %d", src, len(src), l.MaxLength)
			}
			if d := depth(e.Root); d > l.MaxDepth {
				t.Fatalf("Parse(%q) built a tree %d deep over a limit of %d", src, d, l.MaxDepth)
			}
			walk(e.Root, func(n Node) {
				if in, ok := n.(*In); ok && (len(in.Values) > l.MaxInList || len(in.Values) == 0) {
					t.Fatalf("Parse(%q) built an IN list of %d values (limit %d)", src, len(in.Values), l.MaxInList)
				}
			})
			canon := e.Root.String()
			again, err := Parse(canon, Limits{MaxLength: 1 << 20, MaxDepth: 1 << 10, MaxInList: l.MaxInList})
			if err != nil {
				t.Fatalf("Parse(%q) printed as %q, which does not parse: %v", src, canon, err)
			}
			if again.Root.String() != canon {
				t.Fatalf("%q printed as %q, parsed back as %q", src, canon, again.Root.String())
			}
			props := map[string]string{}
			for i, name := range e.Props {
				props[name] = []string{"1", "x", "2.5", "", "true", "-3"}[i%6]
			}
			if e.Eval(props) != again.Eval(props) {
				t.Fatalf("%q and its printed form %q disagree", src, canon)
			}
			e.Eval(nil)
		}
	})
}

// depth counts a tree's levels as the parser does, less the parentheses it drops.
func depth(n Node) int {
	d := 0
	for _, c := range children(n) {
		d = max(d, depth(c))
	}
	return d + 1
}

func walk(n Node, fn func(Node)) {
	fn(n)
	for _, c := range children(n) {
		walk(c, fn)
	}
}

func children(n Node) []Node {
	switch n := n.(type) {
	case *And:
		return n.Terms
	case *Or:
		return n.Terms
	case *Not:
		return []Node{n.X}
	case *Compare:
		return []Node{n.L, n.R}
	case *Between:
		return []Node{n.X, n.Lo, n.Hi}
	case *In:
		return []Node{n.X}
	case *Match:
		return []Node{n.X}
	case *IsNull:
		return []Node{n.X}
	case *BoolCast:
		return []Node{n.X}
	case *Neg:
		return []Node{n.X}
	}
	return nil
}

// FuzzParseNumber: ParseNumber's own fast paths agree with strconv on everything it accepts, and
// it accepts exactly the plain decimal syntax.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"0", "-7", "12.5", ".5", "5.", "1e3", "0.1", "123456789012345.678", "9223372036854775808", "-0.0", "007.50"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseNumber(s)
		if !ok {
			if plainDecimal(s) {
				if fl, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(fl, 0) {
					t.Fatalf("ParseNumber(%q) refused a plain decimal", s)
				}
			}
			return
		}
		if !plainDecimal(s) {
			t.Fatalf("ParseNumber(%q) accepted what is not a plain decimal", s)
		}
		switch v.Kind {
		case KindInt:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n != v.Int {
				t.Fatalf("ParseNumber(%q) = %d, strconv %d %v", s, v.Int, n, err)
			}
		case KindFloat:
			fl, err := strconv.ParseFloat(s, 64)
			if err != nil || fl != v.Float {
				t.Fatalf("ParseNumber(%q) = %v, strconv %v %v", s, v.Float, fl, err)
			}
		default:
			t.Fatalf("ParseNumber(%q) = %v", s, v)
		}
	})
}

var plainDecimalRe = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

func plainDecimal(s string) bool { return plainDecimalRe.MatchString(s) }
