package filter

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	// Each expression parses, and its canonical form (fully parenthesised) is as given.
	cases := []struct{ src, canon string }{
		{"a = 'x'", "(a = 'x')"},
		{"a <> 'x'", "(a <> 'x')"},
		{"a > 1 AND b < 2.5 OR c >= 3 AND d <= 4", "(((a > 1) AND (b < 2.5)) OR ((c >= 3) AND (d <= 4)))"},
		{"a BETWEEN 3 AND 7", "(a BETWEEN 3 AND 7)"},
		{"a NOT BETWEEN 7 AND 3", "(a NOT BETWEEN 7 AND 3)"}, // RocketMQ checks the order only without NOT
		{"a BETWEEN -5 AND -9", "(a BETWEEN (-5) AND (-9))"}, // a negated bound is not a literal to RocketMQ
		{"a IN ('x', 'y''s')", "(a IN ('x', 'y''s'))"},
		{"a NOT IN ('x')", "(a NOT IN ('x'))"},
		{"(a) IN ('x')", "(a IN ('x'))"},
		{"a IS NULL", "(a IS NULL)"},
		{"a IS NOT NULL AND b IS NULL", "((a IS NOT NULL) AND (b IS NULL))"},
		{"a CONTAINS 'x' OR a NOT STARTSWITH 'y' OR a ENDSWITH 'z'", "((a CONTAINS 'x') OR (a NOT STARTSWITH 'y') OR (a ENDSWITH 'z'))"},
		{"NOT a = 1", "((NOT a) = 1)"}, // NOT binds tighter than comparisons, as in RocketMQ
		{"NOT (a = 1)", "(NOT (a = 1))"},
		{"a", "a"},
		{"TRUE", "TRUE"},
		{"false", "FALSE"},
		{"NULL", "NULL"},
		{"a = TRUE", "(a = TRUE)"},
		{"1 = TRUE", "(1 = TRUE)"}, // RocketMQ only refuses a boolean literal on the left
		{"a > 1 = TRUE", "((a > 1) = TRUE)"},
		{"a = 5L", "(a = 5)"},
		{"a = 0", "(a = 0)"},
		{"a > 1.5e3 AND b < .5 AND c > 5. AND d > 2E-1", "((a > 1500.0) AND (b < 0.5) AND (c > 5.0) AND (d > 0.2))"},
		{"a > 0.0", "(a > 0.0)"},
		{"a > +3", "(a > 3)"},
		{"a > - - 3", "(a > (-(-3)))"},
		{"-a > 3", "((-a) > 3)"},
		{"a = 9223372036854775807", "(a = 9223372036854775807)"},
		{"and_1 = 1 And $x = 2 aNd _y = 3", "((and_1 = 1) AND ($x = 2) AND (_y = 3))"},
		{"a = 1 -- trailing comment", "(a = 1)"},
		{"a = 1 -- comment\n AND b = 2", "((a = 1) AND (b = 2))"},
		{"a /* note */ = 1", "(a = 1)"},
		{" \t\r\n\fa=1 ", "(a = 1)"},
		{"a = 'it''s'", "(a = 'it''s')"},
		{"a = ''", "(a = '')"},
		{"a = 'héllo'", "(a = 'héllo')"},
		{"a CONTAINS 'x' CONTAINS 'y'", "((a CONTAINS 'x') CONTAINS 'y')"},
		{"a IS NULL IS NULL", "((a IS NULL) IS NULL)"},
		{"((((a = 1))))", "(a = 1)"},
		{"TAGS = 'TagA' AND KEYS IS NOT NULL", "((TAGS = 'TagA') AND (KEYS IS NOT NULL))"},
	}
	for _, c := range cases {
		e, err := Parse(c.src, DefaultLimits())
		if err != nil {
			t.Errorf("Parse(%q): %v", c.src, err)
			continue
		}
		if got := e.Root.String(); got != c.canon {
			t.Errorf("Parse(%q) = %s, want %s", c.src, got, c.canon)
		}
		again, err := Parse(e.Root.String(), DefaultLimits())
		if err != nil || again.Root.String() != c.canon {
			t.Errorf("canonical form of %q does not parse back: %v", c.src, err)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	cases := []struct {
		src    string
		pos    int
		reason string // a part of the reason
	}{
		{"", 0, "empty"},
		{"   ", 0, "empty"},
		{"a =", 3, "expected a value"},
		{"a = 1 xyz", 6, "after a complete expression"}, // RocketMQ ignores the rest; we refuse it
		{"a = 1)", 5, "after a complete expression"},
		{"(a = 1", 6, "to close the ("},
		{"a = \"x\"", 4, "single-quoted"},
		{"a != 1", 2, "write <>"},
		{"a = 'x", 4, "not closed"},
		{"a = 1 /* x", 6, "comment is not closed"},
		{"a = 007", 4, "leading zero"},
		{"a = 9223372036854775808", 4, "out of range"},
		{"a > 1e999", 4, "out of range"},
		{"a > 1e", 4, "exponent"},
		{"a > .", 4, "unexpected"},
		{"a = é", 4, "non-ASCII"},
		{"a = NULL", 4, "IS NULL"},
		{"NULL <> a", 0, "IS NULL"},
		{"TRUE = 1", 0, "cannot be compared"},
		{"a > 'x'", 4, "takes numbers"},
		{"'x' < 3", 0, "takes numbers"},
		{"a > TRUE", 4, "takes numbers"},
		{"(a = 1) > 3", 1, "condition"},
		{"a BETWEEN 7 AND 3", 10, "reversed"},
		{"a BETWEEN 'a' AND 'z'", 10, "takes numbers"},
		{"a BETWEEN 1", 11, "expected AND"},
		{"a IN ()", 6, "expected string"},
		{"a IN (1, 2)", 6, "strings"},
		{"a IN 'x'", 5, "expected ("},
		{"1 IN ('x')", 2, "needs a property"},
		{"a CONTAINS b", 11, "expected string"},
		{"a IS 1", 5, "expected NULL"},
		{"5", 0, "must be a condition"},
		{"'x'", 0, "must be a condition"},
		{"-a", 0, "must be a condition"},
		{"a = 1 AND 5", 10, "operand of AND"},
		{"NOT 5", 4, "operand of NOT"},
		{"a = 1 OR 'x'", 9, "operand of OR"},
		{"a NOT = 1", 2, "after a complete expression"},
	}
	for _, c := range cases {
		_, err := Parse(c.src, DefaultLimits())
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a *ParseError", c.src, err)
			continue
		}
		if pe.Pos != c.pos || !strings.Contains(pe.Reason, c.reason) {
			t.Errorf("Parse(%q): %v; want offset %d and a reason containing %q", c.src, err, c.pos, c.reason)
		}
	}
}

func TestParseLimits(t *testing.T) {
	lim := Limits{MaxLength: 40, MaxDepth: 4, MaxInList: 3}
	ok := []string{
		"a IN ('1', '2', '3')",
		"((a = 1))",    // two parentheses over a comparison (two levels)
		"a = 1 = TRUE", // depth 2
		"a = 1 AND b = 2 AND c = 3 AND d = 4",
	}
	for _, src := range ok {
		if _, err := Parse(src, lim); err != nil {
			t.Errorf("Parse(%q) within %+v: %v", src, lim, err)
		}
	}
	refused := []struct {
		src, reason string
		pos         int
	}{
		{"a IN ('1', '2', '3', '4')", "more than the limit of 3", 21},
		{strings.Repeat(" ", 41), "41 bytes, more than the limit of 40", 40},
		{"(((a = 1)))", "deeper than the limit of 4", 0},
		{"NOT NOT NOT NOT NOT a", "deeper than the limit of 4", 16},
		{"a = 1 = TRUE = TRUE = TRUE", "deeper than the limit of 4", 0},
		{"a IS NULL IS NULL IS NULL IS NULL", "deeper than the limit of 4", 0},
	}
	for _, c := range refused {
		_, err := Parse(c.src, lim)
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(pe.Reason, c.reason) || pe.Pos != c.pos {
			t.Errorf("Parse(%q) within %+v = %v; want offset %d and %q", c.src, lim, err, c.pos, c.reason)
		}
	}
	// Zero limits take the defaults.
	if _, err := Parse(strings.Repeat("(", 60)+"a = 1"+strings.Repeat(")", 60), Limits{}); err != nil {
		t.Errorf("default depth: %v", err)
	}
	if _, err := Parse(strings.Repeat("(", 70)+"a = 1"+strings.Repeat(")", 70), Limits{}); err == nil {
		t.Error("nesting of 70 passed the default limit of 64")
	}
}

func TestParseListsPropertiesOnce(t *testing.T) {
	e, err := Parse("b = 1 AND a = 2 OR b IN ('x') OR c IS NULL OR a > 1", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.Props, ","); got != "b,a,c" {
		t.Fatalf("props %s", got)
	}
}

func TestParseNumber(t *testing.T) {
	cases := []struct {
		s    string
		want Value
		ok   bool
	}{
		{"0", IntValue(0), true},
		{"42", IntValue(42), true},
		{"-7", IntValue(-7), true},
		{"+7", IntValue(7), true},
		{"007", IntValue(7), true},
		{"9223372036854775807", IntValue(9223372036854775807), true},
		{"-9223372036854775808", IntValue(-9223372036854775808), true},
		{"9223372036854775808", FloatValue(9223372036854775808), true},
		{"3.5", FloatValue(3.5), true},
		{".5", FloatValue(0.5), true},
		{"5.", FloatValue(5), true},
		{"1e3", FloatValue(1000), true},
		{"-1.5E-2", FloatValue(-0.015), true},
		{"", Null, false},
		{"-", Null, false},
		{".", Null, false},
		{" 5", Null, false},
		{"5 ", Null, false},
		{"1e", Null, false},
		{"1e+", Null, false},
		{"NaN", Null, false},
		{"Infinity", Null, false},
		{"0x10", Null, false},
		{"1_000", Null, false},
		{"1e400", Null, false},
		{"abc", Null, false},
	}
	for _, c := range cases {
		got, ok := ParseNumber(c.s)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseNumber(%q) = %v %v, want %v %v", c.s, got, ok, c.want, c.ok)
		}
	}
}
