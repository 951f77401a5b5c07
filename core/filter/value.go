package filter

import (
	"math"
	"strconv"
	"strings"
)

// Kind is the type of a Value.
type Kind uint8

// Kinds of values. Properties are strings or NULL; literals may be any kind.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
)

func (k Kind) String() string {
	switch k {
	case KindNull:
		return "NULL"
	case KindBool:
		return "boolean"
	case KindInt:
		return "integer"
	case KindFloat:
		return "decimal"
	case KindString:
		return "string"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is what an expression evaluates to. Only the field of its Kind is meaningful.
type Value struct {
	Kind  Kind
	Bool  bool
	Int   int64
	Float float64
	Str   string
}

// Null is the NULL value (a missing property, an UNKNOWN condition).
var Null = Value{}

// BoolValue, IntValue, FloatValue and StringValue build values.
func BoolValue(b bool) Value     { return Value{Kind: KindBool, Bool: b} }
func IntValue(i int64) Value     { return Value{Kind: KindInt, Int: i} }
func FloatValue(f float64) Value { return Value{Kind: KindFloat, Float: f} }
func StringValue(s string) Value { return Value{Kind: KindString, Str: s} }

// IsNumber reports an integer or a decimal.
func (v Value) IsNumber() bool { return v.Kind == KindInt || v.Kind == KindFloat }

func (v Value) float() float64 {
	if v.Kind == KindInt {
		return float64(v.Int)
	}
	return v.Float
}

func (v Value) String() string {
	switch v.Kind {
	case KindNull:
		return "NULL"
	case KindBool:
		if v.Bool {
			return "TRUE"
		}
		return "FALSE"
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindFloat:
		s := strconv.FormatFloat(v.Float, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0" // stays a decimal when parsed again
		}
		return s
	}
	return "'" + strings.ReplaceAll(v.Str, "'", "''") + "'"
}

// Tri is a three-valued truth value. The numbers are chosen so that AND is the minimum, OR the
// maximum and NOT the difference from 2.
type Tri uint8

// Truth values.
const (
	False   Tri = 0
	Unknown Tri = 1
	True    Tri = 2
)

func (t Tri) String() string {
	switch t {
	case False:
		return "FALSE"
	case True:
		return "TRUE"
	}
	return "UNKNOWN"
}

// Not is three-valued negation: NOT UNKNOWN is UNKNOWN.
func (t Tri) Not() Tri { return 2 - t }

// TriOf reads a boolean value; anything else is UNKNOWN.
func TriOf(v Value) Tri {
	if v.Kind != KindBool {
		return Unknown
	}
	return triBool(v.Bool)
}

// Value turns a truth value into a boolean value, UNKNOWN into NULL.
func (t Tri) Value() Value {
	if t == Unknown {
		return Null
	}
	return BoolValue(t == True)
}

func triBool(b bool) Tri {
	if b {
		return True
	}
	return False
}

// ParseNumber reads a property value as a number: an optional sign, then digits with an optional
// fraction and exponent ("42", "-7", "3.5", ".5", "5.", "1e3"). It is an integer when it has
// neither fraction nor exponent and fits int64, and a decimal otherwise. Spaces, NaN, Infinity,
// hex and underscores are not numbers, and neither is a decimal out of float64's range.
func ParseNumber(s string) (Value, bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	// mant accumulates the first 19 significant digits: enough to decide the fast paths below.
	var mant uint64
	digits := 0
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		if digits < 19 {
			mant = mant*10 + uint64(s[i]-'0')
		}
		if mant != 0 {
			digits++
		}
		i++
	}
	intDigits := i - intStart
	if i == len(s) {
		if intDigits == 0 {
			return Null, false
		}
		if digits <= 18 { // below 10^18: fits int64 whatever the digits
			n := int64(mant)
			if neg {
				n = -n
			}
			return IntValue(n), true
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return IntValue(n), true
		}
		// An integer beyond int64 is still a number: read it as a decimal below.
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			if digits < 19 {
				mant = mant*10 + uint64(s[i]-'0')
			}
			if mant != 0 {
				digits++
			}
			i++
			fracDigits++
		}
	}
	if intDigits == 0 && fracDigits == 0 {
		return Null, false
	}
	hasExp := false
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		hasExp = true
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		expStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == expStart {
			return Null, false
		}
	}
	if i != len(s) {
		return Null, false
	}
	// Exact fast path: a mantissa below 2^53 and a power of ten up to 10^22 are both exact in
	// float64, so one division rounds correctly, as strconv would.
	if !hasExp && digits <= 15 && fracDigits <= 22 {
		f := float64(mant) / pow10[fracDigits]
		if neg {
			f = -f
		}
		return FloatValue(f), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return Null, false
	}
	return FloatValue(f), true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
	1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// asNumber reads v as a number: numbers as they are, strings through ParseNumber.
func asNumber(v Value) (Value, bool) {
	switch v.Kind {
	case KindInt, KindFloat:
		return v, true
	case KindString:
		return ParseNumber(v.Str)
	}
	return Null, false
}

// compareNumbers orders two numbers: exactly when both are integers, as float64 otherwise (as
// Java widens an Integer or a Long compared with a Double).
func compareNumbers(a, b Value) int {
	if a.Kind == KindInt && b.Kind == KindInt {
		switch {
		case a.Int < b.Int:
			return -1
		case a.Int > b.Int:
			return 1
		}
		return 0
	}
	x, y := a.float(), b.float()
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// ParseBool is Java's Boolean.valueOf: "true" in any case is true, anything else false.
func ParseBool(s string) bool { return strings.EqualFold(s, "true") }

// Equal is "l = r" in three-valued logic; see the package comment for the conversions.
func Equal(l, r Value) Tri {
	if l.Kind == KindNull || r.Kind == KindNull {
		return Unknown
	}
	if l.Kind == r.Kind {
		switch l.Kind {
		case KindBool:
			return triBool(l.Bool == r.Bool)
		case KindString:
			return triBool(l.Str == r.Str)
		}
		return triBool(compareNumbers(l, r) == 0)
	}
	switch {
	case l.Kind == KindBool && r.Kind == KindString:
		return triBool(l.Bool == ParseBool(r.Str))
	case l.Kind == KindString && r.Kind == KindBool:
		return triBool(ParseBool(l.Str) == r.Bool)
	case l.Kind == KindBool || r.Kind == KindBool:
		return False // Java's comparison of a Boolean with a Number answers "not equal"
	}
	a, ok1 := asNumber(l)
	b, ok2 := asNumber(r)
	if !ok1 || !ok2 {
		return Unknown
	}
	return triBool(compareNumbers(a, b) == 0)
}

// Order compares l and r as numbers for <, <=, > and >=: it returns the sign of l - r, or ok
// false (UNKNOWN) when either is NULL, a boolean, or a string that is not a number.
func Order(l, r Value) (sign int, ok bool) {
	a, ok1 := asNumber(l)
	b, ok2 := asNumber(r)
	if !ok1 || !ok2 {
		return 0, false
	}
	return compareNumbers(a, b), true
}
