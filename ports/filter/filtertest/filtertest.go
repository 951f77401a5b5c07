// Package filtertest is the conformance suite of the filter port: every Compiler adapter (tag,
// sql92, a plugin behind the host) runs it from its tests with cases of its own language, and the
// suite checks the contract the broker relies on around them.
package filtertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/filter"
)

// Case is one valid expression and which of a set of messages it delivers.
type Case struct {
	Expr     string
	Messages []message.Properties // a nil map is a message without properties
	Want     []bool               // delivered, one per message
}

// Suite is what an adapter provides.
type Suite struct {
	Compiler filter.Compiler
	Cases    []Case
	// Invalid expressions must fail to compile with a *filter.ParseError.
	Invalid []string
}

// Run checks the contract:
//   - Type is upper case and not empty;
//   - invalid expressions fail with an error matching filter.ErrParse whose *filter.ParseError
//     names the type and points inside the expression;
//   - the two-step decision (MatchUnit on the TAGS hash, then MatchBatch unless the filter is
//     Exact) delivers exactly what each case wants;
//   - MatchUnit never refuses a message MatchBatch would deliver;
//   - MatchBatch decides each message independently of the others in its batch, accepts an
//     empty batch, refuses a short out slice with filter.ErrBatch, and gives the same answers
//     from many goroutines at once on one Filter (run with -race);
//   - compiling the same expression again gives a filter that decides the same.
func Run(t *testing.T, s Suite) {
	t.Helper()
	c := s.Compiler
	t.Run("Type", func(t *testing.T) {
		if typ := c.Type(); typ == "" || typ != filter.NormalizeType(typ) {
			t.Fatalf("Type() = %q: want a non-empty upper-case name", typ)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		for _, expr := range s.Invalid {
			f, err := c.Compile(expr)
			if err == nil {
				t.Errorf("Compile(%q) = %v, want an error", expr, f)
				continue
			}
			var pe *filter.ParseError
			if !errors.Is(err, filter.ErrParse) || !errors.As(err, &pe) {
				t.Errorf("Compile(%q): %v does not match filter.ErrParse with a *filter.ParseError", expr, err)
				continue
			}
			if pe.Type != c.Type() || pe.Pos < 0 || pe.Pos > len(expr) || pe.Reason == "" || pe.Expr != expr {
				t.Errorf("Compile(%q): %+v: want type %s, the expression, a position inside it and a reason", expr, pe, c.Type())
			}
		}
	})
	for i, tc := range s.Cases {
		t.Run(fmt.Sprintf("Case%d", i), func(t *testing.T) {
			if len(tc.Messages) != len(tc.Want) {
				t.Fatalf("case %q: %d messages, %d wants", tc.Expr, len(tc.Messages), len(tc.Want))
			}
			f, err := c.Compile(tc.Expr)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.Expr, err)
			}
			got := decide(t, f, tc.Messages)
			for j, want := range tc.Want {
				if got[j] != want {
					t.Errorf("%q over %v: delivered %v, want %v", tc.Expr, tc.Messages[j], got[j], want)
				}
			}
			checkUnitNecessary(t, f, tc)
			checkBatchIndependence(t, f, tc)
			checkConcurrent(t, f, tc, got)
			again, err := c.Compile(tc.Expr)
			if err != nil {
				t.Fatalf("second Compile(%q): %v", tc.Expr, err)
			}
			if got2 := decide(t, again, tc.Messages); fmt.Sprint(got2) != fmt.Sprint(got) {
				t.Errorf("%q compiled again decides %v, first time %v", tc.Expr, got2, got)
			}
		})
	}
	t.Run("Batch", func(t *testing.T) {
		if len(s.Cases) == 0 {
			t.Skip("no cases")
		}
		f, err := c.Compile(s.Cases[0].Expr)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.MatchBatch(context.Background(), nil, nil); err != nil {
			t.Errorf("empty batch: %v", err)
		}
		props := []message.Properties{{"a": "1"}, nil}
		if err := f.MatchBatch(context.Background(), props, make([]bool, 1)); !errors.Is(err, filter.ErrBatch) {
			t.Errorf("out shorter than the batch: %v, want filter.ErrBatch", err)
		}
	})
}

// decide is the broker's two-step decision for each message.
func decide(t *testing.T, f filter.Filter, msgs []message.Properties) []bool {
	t.Helper()
	out := make([]bool, len(msgs))
	var cand []message.Properties
	var idx []int
	for i, m := range msgs {
		if f.MatchUnit(message.TagsCode(m[message.PropertyTags])) {
			cand = append(cand, m)
			idx = append(idx, i)
		}
	}
	if filter.IsExact(f) {
		for _, i := range idx {
			out[i] = true
		}
		return out
	}
	res := make([]bool, len(cand))
	if err := f.MatchBatch(context.Background(), cand, res); err != nil {
		t.Fatalf("MatchBatch: %v", err)
	}
	for k, i := range idx {
		out[i] = res[k]
	}
	return out
}

func checkUnitNecessary(t *testing.T, f filter.Filter, tc Case) {
	t.Helper()
	res := make([]bool, len(tc.Messages))
	if err := f.MatchBatch(context.Background(), tc.Messages, res); err != nil {
		t.Fatalf("MatchBatch: %v", err)
	}
	for i, m := range tc.Messages {
		unit := f.MatchUnit(message.TagsCode(m[message.PropertyTags]))
		if res[i] && !unit {
			t.Errorf("%q: MatchUnit refuses %v, which MatchBatch delivers", tc.Expr, m)
		}
		if filter.IsExact(f) && res[i] != unit {
			t.Errorf("%q is Exact, but MatchUnit says %v and MatchBatch %v for %v", tc.Expr, unit, res[i], m)
		}
	}
}

func checkBatchIndependence(t *testing.T, f filter.Filter, tc Case) {
	t.Helper()
	all := make([]bool, len(tc.Messages)+1) // one spare: out may be longer than the batch
	if err := f.MatchBatch(context.Background(), tc.Messages, all); err != nil {
		t.Fatalf("MatchBatch: %v", err)
	}
	for i, m := range tc.Messages {
		one := make([]bool, 1)
		if err := f.MatchBatch(context.Background(), []message.Properties{m}, one); err != nil {
			t.Fatalf("MatchBatch: %v", err)
		}
		if one[0] != all[i] {
			t.Errorf("%q over %v: %v alone, %v in a batch", tc.Expr, m, one[0], all[i])
		}
	}
}

func checkConcurrent(t *testing.T, f filter.Filter, tc Case, want []bool) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				got := decideQuiet(f, tc.Messages)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					errs <- fmt.Sprintf("%q concurrently decides %v, alone %v", tc.Expr, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// decideQuiet is decide for other goroutines, which may not call t.Fatal.
func decideQuiet(f filter.Filter, msgs []message.Properties) []bool {
	out := make([]bool, len(msgs))
	for i, m := range msgs {
		if !f.MatchUnit(message.TagsCode(m[message.PropertyTags])) {
			continue
		}
		if filter.IsExact(f) {
			out[i] = true
			continue
		}
		res := make([]bool, 1)
		if err := f.MatchBatch(context.Background(), []message.Properties{m}, res); err != nil {
			return nil
		}
		out[i] = res[0]
	}
	return out
}
