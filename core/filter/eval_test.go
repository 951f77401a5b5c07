package filter

import (
	"testing"

	"github.com/rocketgo/rocketgo/core/filter/filtercases"
)

func TestEval(t *testing.T) {
	for _, c := range filtercases.Cases {
		e, err := Parse(c.Src, DefaultLimits())
		if err != nil {
			t.Errorf("Parse(%q): %v", c.Src, err)
			continue
		}
		if got := e.Eval(c.Props); got.String() != c.Want {
			t.Errorf("%s over %v = %v, want %v", c.Src, c.Props, got, c.Want)
		}
		if got := e.Match(c.Props); got != (c.Want == "TRUE") {
			t.Errorf("Match(%s) = %v", c.Src, got)
		}
	}
}

func TestEqualAndOrder(t *testing.T) {
	if Equal(IntValue(3), FloatValue(3)) != True || Equal(StringValue("x"), Null) != Unknown {
		t.Fatal("Equal")
	}
	if _, ok := Order(BoolValue(true), IntValue(1)); ok {
		t.Fatal("a boolean was ordered")
	}
	if s, ok := Order(StringValue("10"), StringValue("9")); !ok || s != 1 {
		t.Fatal("numeric strings order as numbers")
	}
	for _, op := range []Op{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe} {
		for _, sign := range []int{-1, 0, 1} {
			if op.Holds(sign) == op.Negate().Holds(sign) {
				t.Errorf("%v and its negation %v agree on %d", op, op.Negate(), sign)
			}
		}
	}
}
