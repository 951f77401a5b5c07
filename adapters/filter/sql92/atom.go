package sql92

import (
	"github.com/rocketgo/rocketgo/core/filter"
)

// An atom is one leaf condition of a lowered expression: a comparison, IN, a string test, IS NULL
// on a property, or a bare property. The expr program calls it through the helpers T, F, V (and
// T1, F1, V1 when one operand is a condition whose truth value the program computed). Atoms are
// immutable and shared by every runner of a filter.
type atom struct {
	dispatch uint8 // eval's case (setDispatch)
	kind     atomKind
	op       filter.Op // aCmp
	fast     fastKind  // aCmp
	l, r     operand   // aCmp: both; others: l
	ci       int64     // cmpNumber: the literal as an integer, when it is one (cInt)
	cf       float64   // cmpNumber: the literal as a float64
	cInt     bool
	search   string // aMatch
	match    filter.MatchKind
	set      []string            // aIn, short lists
	setMap   map[string]struct{} // aIn, long lists
	not      bool                // aIn, aMatch, aIsNull
}

type atomKind uint8

const (
	aCmp    atomKind = iota // l op r
	aIn                     // l [NOT] IN set
	aMatch                  // l [NOT] CONTAINS|STARTSWITH|ENDSWITH search
	aIsNull                 // l IS [NOT] NULL, l a property
	aCast                   // l used as a condition, l a property
)

// fastKind picks a specialised comparison of a property with a literal; the literal is always
// on the right (the lowering mirrors the operator when it was on the left).
type fastKind uint8

const (
	cmpGeneric fastKind = iota // anything else, through core/filter's Equal and Order
	cmpString                  // property = or <> string literal
	cmpNumber                  // property op number literal
	cmpBool                    // property = or <> TRUE/FALSE
)

type operandKind uint8

const (
	opConst operandKind = iota // a literal, or a value folded at compile time
	opProp                     // a property, by slot
	opDyn                      // a condition's truth value, passed in by the program
)

type operand struct {
	kind operandKind
	slot int
	val  filter.Value
}

// longSet is the IN-list length from which a map beats a linear scan.
const longSet = 8

func (a *atom) inSet(s string) bool {
	if a.setMap != nil {
		_, ok := a.setMap[s]
		return ok
	}
	for _, v := range a.set {
		if v == s {
			return true
		}
	}
	return false
}

// eval decides the atom for the runner's current message; dyn is the truth value of an opDyn
// operand, if the atom has one. One switch covers every kind, fast comparisons first.
func (a *atom) eval(r *runner, dyn filter.Tri) filter.Tri {
	switch a.code() {
	case codeNumber:
		s := r.number(a.l.slot)
		var sign int
		switch {
		case s.num == numInt && a.cInt:
			sign = cmpInt(s.i, a.ci)
		case s.num == numInt:
			sign = cmpFloat(float64(s.i), a.cf)
		case s.num == numFloat:
			sign = cmpFloat(s.f, a.cf)
		default:
			return filter.Unknown
		}
		return tri(a.op.Holds(sign))
	case codeString:
		s := r.slot(a.l.slot)
		if !s.present {
			return filter.Unknown
		}
		return tri((s.s == a.r.val.Str) != (a.op == filter.OpNe))
	case codeIn:
		s := r.slot(a.l.slot)
		if !s.present {
			return filter.Unknown
		}
		return tri(a.inSet(s.s) != a.not)
	case codeIsNull:
		return tri(!r.slot(a.l.slot).present != a.not)
	case codeBool:
		s := r.slot(a.l.slot)
		if !s.present {
			return filter.Unknown
		}
		return tri((filter.ParseBool(s.s) == a.r.val.Bool) != (a.op == filter.OpNe))
	case codeCast:
		if r.slot(a.l.slot).present {
			return filter.False // a property is a string, never a boolean
		}
		return filter.Unknown
	case codeMatch:
		if a.search == "" {
			return filter.False // RocketMQ: an empty search string never matches, in either form
		}
		v := a.value(r, &a.l, dyn)
		switch v.Kind {
		case filter.KindNull:
			return filter.Unknown
		case filter.KindString:
			return tri(a.match.Test(v.Str, a.search) != a.not)
		}
		return filter.False
	}
	l, rv := a.value(r, &a.l, dyn), a.value(r, &a.r, dyn)
	switch a.op {
	case filter.OpEq:
		return filter.Equal(l, rv)
	case filter.OpNe:
		return filter.Equal(l, rv).Not()
	}
	sign, ok := filter.Order(l, rv)
	if !ok {
		return filter.Unknown
	}
	return tri(a.op.Holds(sign))
}

// dispatch codes of eval.
const (
	codeGeneric uint8 = iota
	codeNumber
	codeString
	codeBool
	codeIn
	codeMatch
	codeIsNull
	codeCast
)

func (a *atom) code() uint8 { return a.dispatch }

// setDispatch picks eval's case once, when the atom is built.
func (a *atom) setDispatch() {
	switch a.kind {
	case aCmp:
		a.dispatch = [...]uint8{cmpGeneric: codeGeneric, cmpString: codeString, cmpNumber: codeNumber, cmpBool: codeBool}[a.fast]
	case aIn:
		a.dispatch = codeIn
	case aMatch:
		a.dispatch = codeMatch
	case aIsNull:
		a.dispatch = codeIsNull
	case aCast:
		a.dispatch = codeCast
	}
}

func (a *atom) value(r *runner, o *operand, dyn filter.Tri) filter.Value {
	switch o.kind {
	case opProp:
		if s := r.slot(o.slot); s.present {
			return filter.StringValue(s.s)
		}
		return filter.Null
	case opDyn:
		return dyn.Value()
	}
	return o.val
}

func cmpInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func tri(b bool) filter.Tri {
	if b {
		return filter.True
	}
	return filter.False
}
