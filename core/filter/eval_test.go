package filter

import "testing"

// evalCase is one expression over one property set; both are shared with the adapters' tests
// through EvalCases.
type evalCase struct {
	src   string
	props map[string]string
	want  Tri
}

var (
	none = map[string]string{}
	abc  = map[string]string{"a": "5", "b": "red", "c": "3.5", "t": "TRUE", "e": "", "n": "-2", "big": "9223372036854775807"}
)

var evalCases = []evalCase{
	// Missing properties make comparisons UNKNOWN, and only TRUE delivers.
	{"a = '5'", abc, True},
	{"a = '5'", none, Unknown},
	{"a <> '5'", none, Unknown},
	{"NOT (a = '5')", none, Unknown},
	{"x > 1", abc, Unknown},
	{"x IN ('1')", abc, Unknown},
	{"x NOT IN ('1')", abc, Unknown},
	{"x BETWEEN 1 AND 2", abc, Unknown},
	{"x NOT BETWEEN 1 AND 2", abc, Unknown},
	{"x CONTAINS 'a'", abc, Unknown},
	{"x NOT CONTAINS 'a'", abc, Unknown},
	{"x", abc, Unknown},
	{"x IS NULL", abc, True},
	{"x IS NOT NULL", abc, False},
	{"a IS NULL", abc, False},
	{"a IS NOT NULL", abc, True},
	{"e IS NULL", abc, False}, // an empty property is present
	// Kleene logic.
	{"x = 1 AND a = 5", abc, Unknown},
	{"x = 1 AND a = 6", abc, False},
	{"x = 1 OR a = 5", abc, True},
	{"x = 1 OR a = 6", abc, Unknown},
	{"NOT (x = 1 OR a = 6)", abc, Unknown},
	{"NOT (x = 1 AND a = 6)", abc, True},
	{"TRUE AND NULL", abc, Unknown},
	{"FALSE AND NULL", abc, False},
	{"TRUE OR NULL", abc, True},
	{"NOT NULL", abc, Unknown},
	{"NULL", abc, Unknown},
	{"TRUE", none, True},
	{"FALSE", none, False},
	// Strings against numbers are read as numbers.
	{"a = 5", abc, True},
	{"a = 5.0", abc, True},
	{"a > 4", abc, True},
	{"a >= 5", abc, True},
	{"a < 5", abc, False},
	{"a <= 4.99", abc, False},
	{"c > 3", abc, True}, // a throw in Java (Integer.valueOf("3.5")); TRUE here
	{"c = 3.5", abc, True},
	{"c BETWEEN 3 AND 4", abc, True},
	{"n < 0", abc, True},
	{"n = -2", abc, True},
	{"a > -6", abc, True},
	{"big = 9223372036854775807", abc, True},
	{"big > 9223372036854775806", abc, True}, // exact for integers, not through float64
	{"b > 1", abc, Unknown},                  // not a number: a throw in Java
	{"b = 1", abc, Unknown},
	{"b = 1 OR a = 5", abc, True}, // Java drops the message on the throw; here OR still delivers
	{"e = 0", abc, Unknown},
	{"a > c", abc, True}, // two strings under > compare as numbers
	{"a = c", abc, False},
	{"b = 'red'", abc, True},
	{"a = '5.0'", abc, False}, // two strings under = compare as strings
	// Booleans.
	{"t = TRUE", abc, True},
	{"b = FALSE", abc, True}, // Java's Boolean.valueOf("red") is false
	{"a = TRUE", abc, False},
	{"(a = 5) = TRUE", abc, True},
	{"(a = 5) = FALSE", abc, False},
	{"(x = 5) = TRUE", abc, Unknown},
	{"(a = 5) = 1", abc, False}, // a boolean never equals a number
	{"(a = 5) = 'true'", abc, True},
	{"(a = 5) = (b = 'red')", abc, True},
	{"(a = 5) <> (b = 'red')", abc, False},
	{"(x = 5) IS NULL", abc, True},
	{"(a = 5) IS NULL", abc, False},
	{"NOT a = 1", abc, False},  // (NOT a) = 1: a bare property is FALSE, NOT gives TRUE, TRUE <> 1
	{"NOT a", abc, True},       // a present property is FALSE as a condition
	{"NOT x", abc, Unknown},    // a missing one UNKNOWN
	{"a AND TRUE", abc, False}, //
	{"-a > 1", abc, Unknown},   // negating a string gives NULL
	{"-(-5) = a", abc, True},   //
	{"-(a = 5) = 1", abc, Unknown},
	// BETWEEN and IN.
	{"a BETWEEN 3 AND 7", abc, True},
	{"a BETWEEN 5 AND 5", abc, True},
	{"a BETWEEN 6 AND 7", abc, False},
	{"a NOT BETWEEN 6 AND 7", abc, True},
	{"a NOT BETWEEN 3 AND 7", abc, False},
	{"a BETWEEN x AND 7", abc, Unknown},
	{"a BETWEEN x AND 4", abc, False}, // FALSE AND UNKNOWN
	{"a NOT BETWEEN x AND 4", abc, True},
	{"b IN ('red', 'blue')", abc, True},
	{"b IN ('Red')", abc, False},
	{"b NOT IN ('red')", abc, False},
	{"b NOT IN ('blue')", abc, True},
	{"a IN ('5.0')", abc, False},
	// String tests.
	{"b CONTAINS 'e'", abc, True},
	{"b CONTAINS 'x'", abc, False},
	{"b NOT CONTAINS 'x'", abc, True},
	{"b STARTSWITH 're'", abc, True},
	{"b NOT STARTSWITH 're'", abc, False},
	{"b ENDSWITH 'ed'", abc, True},
	{"b ENDSWITH 'e'", abc, False},
	{"b CONTAINS ''", abc, False},
	{"b NOT CONTAINS ''", abc, False},
	{"x CONTAINS ''", abc, False},
	{"'abc' CONTAINS 'b'", abc, True},
	{"5 CONTAINS '5'", abc, False},
	{"5 NOT CONTAINS '5'", abc, False},
	{"(a = 5) CONTAINS 'x'", abc, False},
	// A nil map is a message without properties.
	{"a IS NULL", nil, True},
	{"a = 1", nil, Unknown},
}

func TestEval(t *testing.T) {
	for _, c := range evalCases {
		e, err := Parse(c.src, DefaultLimits())
		if err != nil {
			t.Errorf("Parse(%q): %v", c.src, err)
			continue
		}
		if got := e.Eval(c.props); got != c.want {
			t.Errorf("%s over %v = %v, want %v", c.src, c.props, got, c.want)
		}
		if got := e.Match(c.props); got != (c.want == True) {
			t.Errorf("Match(%s) = %v", c.src, got)
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
