package filter_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/filter"
)

type fakeCompiler struct{ typ string }

func (c fakeCompiler) Type() string { return c.typ }
func (c fakeCompiler) Compile(expr string) (filter.Filter, error) {
	if expr == "bad" {
		return nil, &filter.ParseError{Type: c.typ, Expr: expr, Pos: 1, Reason: "bad"}
	}
	return everything{}, nil
}

type everything struct{}

func (everything) MatchUnit(int64) bool { return true }
func (everything) Exact() bool          { return true }
func (everything) MatchBatch(_ context.Context, props []message.Properties, out []bool) error {
	for i := range props {
		out[i] = true
	}
	return nil
}

func TestRegistry(t *testing.T) {
	r, err := filter.NewRegistry(fakeCompiler{"TAG"}, fakeCompiler{"SQL92"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Types(), ","); got != "SQL92,TAG" {
		t.Fatalf("types %s", got)
	}
	for _, typ := range []string{"", "tag", " TAG ", "Sql92"} {
		if _, err := r.Compile(typ, "x"); err != nil {
			t.Errorf("Compile(%q): %v", typ, err)
		}
	}
	_, err = r.Compile("XPATH", "x")
	if !errors.Is(err, filter.ErrUnknownType) || !strings.Contains(err.Error(), "SQL92, TAG") {
		t.Fatalf("unknown type: %v", err)
	}
	_, err = r.Compile("SQL92", "bad")
	var pe *filter.ParseError
	if !errors.Is(err, filter.ErrParse) || !errors.As(err, &pe) || pe.Pos != 1 {
		t.Fatalf("parse error: %v", err)
	}
	if err := r.Register(fakeCompiler{"sql92"}); err == nil {
		t.Fatal("a second SQL92 compiler was registered")
	}
	if _, err := filter.NewRegistry(fakeCompiler{"A"}, fakeCompiler{"a"}); err == nil {
		t.Fatal("NewRegistry accepted a duplicate type")
	}
	if !filter.IsExact(everything{}) {
		t.Fatal("IsExact")
	}
}
