package sql92

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	corefilter "github.com/rocketgo/rocketgo/core/filter"
	"github.com/rocketgo/rocketgo/core/filter/filtercases"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/filter"
	"github.com/rocketgo/rocketgo/ports/filter/filtertest"
)

func newCompiler(t testing.TB) *Compiler {
	t.Helper()
	c, err := New(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	red5 := message.Properties{"a": "5", "color": "red", message.PropertyTags: "TagA"}
	blue5 := message.Properties{"a": "5", "color": "blue"}
	red9 := message.Properties{"a": "9", "color": "red"}
	noA := message.Properties{"color": "red"}
	msgs := []message.Properties{red5, blue5, red9, noA, nil}
	filtertest.Run(t, filtertest.Suite{
		Compiler: newCompiler(t),
		Cases: []filtertest.Case{
			{Expr: "a BETWEEN 3 AND 7 AND color = 'red'", Messages: msgs, Want: []bool{true, false, false, false, false}},
			{Expr: "color IN ('blue') OR a IS NULL", Messages: msgs, Want: []bool{false, true, false, true, true}},
			{Expr: "NOT (a > 5)", Messages: msgs, Want: []bool{true, true, false, false, false}},
			{Expr: "a <> 5", Messages: msgs, Want: []bool{false, false, true, false, false}},
			{Expr: "TAGS = 'TagA'", Messages: msgs, Want: []bool{true, false, false, false, false}},
			{Expr: "TRUE", Messages: msgs, Want: []bool{true, true, true, true, true}},
			{Expr: "color ENDSWITH 'ue' OR color STARTSWITH 'r' AND a < 6", Messages: msgs, Want: []bool{true, true, false, false, false}},
		},
		Invalid: []string{"", "a =", "a > 'x'", "a BETWEEN 7 AND 3", "a = 1 xyz", "a IN ()", strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100)},
	})
}

// TestEvalTable runs core/filter's semantics table through the adapter: both must agree with the
// expected truth values, in both polarities and as values.
func TestEvalTable(t *testing.T) {
	for _, c := range filtercases.Cases {
		e, err := corefilter.Parse(c.Src, corefilter.DefaultLimits())
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.Src, err)
		}
		checkTree(t, c.Src, e.Root, c.Props)
		if got := evalTri(t, e.Root, c.Props); got.String() != c.Want {
			t.Errorf("%s over %v = %v, want %v", c.Src, c.Props, got, c.Want)
		}
	}
}

// evalTri reads the adapter's three-valued answer through T(root) and T(NOT root).
func evalTri(t testing.TB, root corefilter.Node, props message.Properties) corefilter.Tri {
	t.Helper()
	isTrue := match(t, root, props)
	isFalse := match(t, &corefilter.Not{X: root}, props)
	switch {
	case isTrue && isFalse:
		t.Fatalf("%s is both TRUE and FALSE", root)
	case isTrue:
		return corefilter.True
	case isFalse:
		return corefilter.False
	}
	return corefilter.Unknown
}

func match(t testing.TB, root corefilter.Node, props message.Properties) bool {
	t.Helper()
	f, err := compileTree(root)
	if err != nil {
		t.Fatalf("compiling %s: %v", root, err)
	}
	out := make([]bool, 1)
	if err := f.MatchBatch(context.Background(), []message.Properties{props}, out); err != nil {
		t.Fatalf("%s (program %s): %v", root, f.src, err)
	}
	return out[0]
}

// checkTree compares the adapter with the reference evaluator on root and on trees that put
// root where the lowering takes its other paths: under NOT (the FALSE polarity), under IS NULL
// and = (root's truth value computed as a value), and compared with TRUE through an atom.
func checkTree(t testing.TB, src string, root corefilter.Node, props message.Properties) {
	t.Helper()
	trees := []corefilter.Node{
		root,
		&corefilter.Not{X: root},
		&corefilter.IsNull{X: root},
		&corefilter.IsNull{X: root, Not: true},
		&corefilter.Compare{Op: corefilter.OpEq, L: root, R: root},
		&corefilter.Compare{Op: corefilter.OpNe, L: root, R: &corefilter.Not{X: root}},
		&corefilter.Compare{Op: corefilter.OpEq, L: root, R: &corefilter.Literal{Val: corefilter.BoolValue(true)}},
		&corefilter.Match{Kind: corefilter.Contains, X: root, Search: "x", Not: true},
	}
	for _, tree := range trees {
		want := corefilter.TriOf(corefilter.Eval(tree, props)) == corefilter.True
		f, err := compileTree(tree)
		if err != nil {
			t.Fatalf("%q: compiling %s: %v", src, tree, err)
		}
		out := make([]bool, 1)
		if err := f.MatchBatch(context.Background(), []message.Properties{props}, out); err != nil {
			t.Fatalf("%q: %s: %v", src, tree, err)
		}
		if out[0] != want {
			t.Fatalf("%q: %s over %v: adapter %v, reference %v\nprogram: %s", src, tree, props, out[0], want, f.src)
		}
	}
}

func TestParseErrorCarriesPosition(t *testing.T) {
	_, err := newCompiler(t).Compile("a > 1 AND b > 'x'")
	var pe *filter.ParseError
	if !errors.Is(err, filter.ErrParse) || !errors.As(err, &pe) {
		t.Fatalf("%v", err)
	}
	if pe.Pos != 14 || !strings.Contains(pe.Reason, "takes numbers") || pe.Type != "SQL92" {
		t.Fatalf("%+v", pe)
	}
	if msg := err.Error(); !strings.Contains(msg, "at offset 14") {
		t.Fatalf("message %q", msg)
	}
}

func TestLimits(t *testing.T) {
	c, err := New(Config{MaxExpressionLength: 30, MaxDepth: 4, MaxInList: 2, CacheSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"a IN ('1', '2', '3')", "a = '" + strings.Repeat("x", 30) + "'", "((a = 1) AND b) OR c"} {
		if _, err := c.Compile(src); !errors.Is(err, filter.ErrParse) {
			t.Errorf("Compile(%q) = %v, want a limit refusal", src, err)
		}
	}
	if _, err := New(Config{MaxExpressionLength: 1, MaxDepth: 0, MaxInList: 1}); err == nil {
		t.Error("New accepted a zero depth")
	}
}

func TestCacheSharesCompiledFilters(t *testing.T) {
	c, err := New(Config{MaxExpressionLength: 100, MaxDepth: 10, MaxInList: 10, CacheSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	a1, _ := c.Compile("a = 1")
	a2, _ := c.Compile("a = 1")
	if a1 != a2 {
		t.Fatal("the same expression was compiled twice")
	}
	c.Compile("b = 1")
	c.Compile("c = 1") // evicts "a = 1"
	if a3, _ := c.Compile("a = 1"); a3 == a1 {
		t.Fatal("the cache kept more than its size")
	}
	if len(c.cache) != 2 || len(c.order) != 2 {
		t.Fatalf("cache holds %d, order %d", len(c.cache), len(c.order))
	}
}

func TestConcurrentMatchBatch(t *testing.T) {
	f, err := newCompiler(t).Compile("a BETWEEN 3 AND 7 AND color = 'red' OR n IS NULL")
	if err != nil {
		t.Fatal(err)
	}
	batch := []message.Properties{{"a": "5", "color": "red", "n": "1"}, {"a": "9", "color": "red", "n": "1"}, {"a": "x"}}
	want := []bool{true, false, true}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]bool, len(batch))
			for range 200 {
				if err := f.MatchBatch(context.Background(), batch, out); err != nil {
					t.Error(err)
					return
				}
				for i := range want {
					if out[i] != want[i] {
						t.Errorf("message %d: %v", i, out[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestProgramShape(t *testing.T) {
	f, err := newCompiler(t).Compile("a BETWEEN 3 AND 7 AND NOT (color = 'red' OR b IS NULL)")
	if err != nil {
		t.Fatal(err)
	}
	// NOT over OR becomes the FALSE polarity of each term (all FALSE: AF); the BETWEEN joins
	// the outer AND, whose run of atoms is one call.
	want := "let AT = at; let AF = af; (AT(0, 2) && AF(2, 4))"
	if src := f.(*sqlFilter).src; src != want {
		t.Fatalf("program %q, want %q", src, want)
	}
	f, _ = newCompiler(t).Compile("a = 1 OR NOT b = 2 AND c IS NULL")
	want = "let T = t; let T1 = t1; let V = v; (T(0) || (T1(2, (2 - V(1))) && T(3)))"
	if src := f.(*sqlFilter).src; src != want {
		t.Fatalf("program %q, want %q", src, want)
	}
	f, _ = newCompiler(t).Compile("(a = 1 AND b = 2) = (c IS NULL)")
	if src := f.(*sqlFilter).src; !strings.Contains(src, "let x1") || strings.Contains(src, "T(") {
		t.Fatalf("a condition compared as a value should be computed as one: %s", src)
	}
}
