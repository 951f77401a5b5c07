package sql92

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/core/filter"
)

// The lowering turns core/filter's AST into atoms (atom.go) and an expr program over them.
//
// expr's && and || are two-valued, so a condition c is lowered twice over: T(c), the expr
// expression "c is TRUE", and F(c), "c is FALSE"; UNKNOWN is neither. Then
//
//	T(a AND b) = T(a) && T(b)    F(a AND b) = F(a) || F(b)
//	T(a OR b)  = T(a) || T(b)    F(a OR b)  = F(a) && F(b)
//	T(NOT a)   = F(a)            F(NOT a)   = T(a)
//
// and an atom i becomes T(i) or F(i), calls of Go helpers. Each node is lowered in one polarity
// only, so the program is as long as the expression and keeps expr's short-circuit jumps; the
// filter runs T(root). A run of consecutive atoms under one AND or OR is one call (AT, ET, AF,
// EF: see fuse), since a call through the VM costs as much as the atom it calls.
//
// A condition used as a value ("(a > 1) = TRUE", "(a = 1) IS NULL") is lowered to its truth
// value as an int, 0 FALSE, 1 UNKNOWN, 2 TRUE, computed with expr's own operators: AND is the
// minimum, OR the maximum, NOT is 2 - x. Atoms give theirs through V(i); an atom with such an
// operand receives it as an argument (T1(i, x), F1(i, x), V1(i, x)).
//
// Values are folded while lowering: a literal stays a literal, and -x, which RocketMQ defines on
// numbers only, is a literal too (a negated property or condition is NULL). An atom without a
// property or a condition among its operands is decided at compile time.

// lnode is a node of the lowered tree.
type lnode interface{ lnode() }

type (
	lConst struct{ t filter.Tri }
	lAnd   struct{ terms []lnode }
	lOr    struct{ terms []lnode }
	lNot   struct{ x lnode }
	lAtom  struct {
		i   int
		dyn lnode
	} // dyn: the condition of the atom's opDyn operand, or nil
	lEqDyn struct {
		a, b lnode
		ne   bool
	}
	lNullDyn struct {
		x   lnode
		not bool
	}
)

func (lConst) lnode()   {}
func (lAnd) lnode()     {}
func (lOr) lnode()      {}
func (lNot) lnode()     {}
func (lAtom) lnode()    {}
func (lEqDyn) lnode()   {}
func (lNullDyn) lnode() {}

type lowerer struct {
	atoms []atom
	props []string
	slots map[string]int
}

// lower builds the atoms and the lowered tree of a condition.
func lower(root filter.Node) (lnode, []atom, []string) {
	l := &lowerer{slots: map[string]int{}}
	n := l.cond(root)
	return n, l.atoms, l.props
}

func (l *lowerer) slot(name string) int {
	if i, ok := l.slots[name]; ok {
		return i
	}
	l.slots[name] = len(l.props)
	l.props = append(l.props, name)
	return len(l.props) - 1
}

// flatTerms lowers terms, splicing in the terms of any that lowered to the same connective
// (same reports them).
func (l *lowerer) flatTerms(terms []filter.Node, same func(lnode) ([]lnode, bool)) []lnode {
	var out []lnode
	for _, t := range terms {
		c := l.cond(t)
		if inner, ok := same(c); ok {
			out = append(out, inner...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

func (l *lowerer) cond(n filter.Node) lnode {
	switch n := n.(type) {
	case *filter.Literal:
		return lConst{filter.TriOf(n.Val)}
	case *filter.And:
		// AND and OR are associative in three-valued logic too: an AND (a BETWEEN) inside an
		// AND joins its terms, so that fuse sees one flat run.
		return lAnd{l.flatTerms(n.Terms, func(c lnode) ([]lnode, bool) { a, ok := c.(lAnd); return a.terms, ok })}
	case *filter.Or:
		return lOr{l.flatTerms(n.Terms, func(c lnode) ([]lnode, bool) { o, ok := c.(lOr); return o.terms, ok })}
	case *filter.Not:
		return lNot{l.cond(n.X)}
	case *filter.BoolCast:
		return l.atom(atom{kind: aCast, l: operand{kind: opProp, slot: l.slot(n.X.Name)}}, nil)
	case *filter.Compare:
		return l.compare(n.Op, n.L, n.R)
	case *filter.Between:
		if n.Not {
			return lOr{[]lnode{l.compare(filter.OpLt, n.X, n.Lo), l.compare(filter.OpGt, n.X, n.Hi)}}
		}
		return lAnd{[]lnode{l.compare(filter.OpGe, n.X, n.Lo), l.compare(filter.OpLe, n.X, n.Hi)}}
	case *filter.In:
		a := atom{kind: aIn, l: operand{kind: opProp, slot: l.slot(n.X.Name)}, not: n.Not}
		if len(n.Values) >= longSet {
			a.setMap = make(map[string]struct{}, len(n.Values))
			for _, v := range n.Values {
				a.setMap[v] = struct{}{}
			}
		} else {
			a.set = n.Values
		}
		return l.atom(a, nil)
	case *filter.Match:
		x, dyn := l.operand(n.X)
		return l.atom(atom{kind: aMatch, l: x, match: n.Kind, search: n.Search, not: n.Not}, dyn)
	case *filter.IsNull:
		x, dyn := l.operand(n.X)
		switch x.kind {
		case opDyn:
			return lNullDyn{dyn, n.Not}
		case opConst:
			return lConst{tri((x.val.Kind == filter.KindNull) != n.Not)}
		}
		return l.atom(atom{kind: aIsNull, l: x, not: n.Not}, nil)
	}
	panic(fmt.Sprintf("sql92: %T is not a condition", n))
}

func (l *lowerer) compare(op filter.Op, ln, rn filter.Node) lnode {
	lo, ld := l.operand(ln)
	ro, rd := l.operand(rn)
	if ld != nil && rd != nil {
		// Two conditions compared: only = and <> take conditions.
		return lEqDyn{ld, rd, op == filter.OpNe}
	}
	if lo.kind == opConst && ro.kind != opConst {
		// Literal on the left: mirror so that the fast paths see it on the right.
		lo, ro = ro, lo
		op = map[filter.Op]filter.Op{filter.OpEq: filter.OpEq, filter.OpNe: filter.OpNe,
			filter.OpLt: filter.OpGt, filter.OpLe: filter.OpGe, filter.OpGt: filter.OpLt, filter.OpGe: filter.OpLe}[op]
	}
	a := atom{kind: aCmp, op: op, l: lo, r: ro}
	if ro.kind == opConst && ro.val.Kind == filter.KindNull {
		return lConst{filter.Unknown} // anything compared with NULL
	}
	if lo.kind == opProp && ro.kind == opConst {
		switch {
		case ro.val.Kind == filter.KindString && (op == filter.OpEq || op == filter.OpNe):
			a.fast = cmpString
		case ro.val.IsNumber():
			a.fast = cmpNumber
			a.cInt, a.ci, a.cf = ro.val.Kind == filter.KindInt, ro.val.Int, ro.val.Float
			if a.cInt {
				a.cf = float64(ro.val.Int)
			}
		case ro.val.Kind == filter.KindBool && (op == filter.OpEq || op == filter.OpNe):
			a.fast = cmpBool
		}
	}
	return l.atom(a, ld, rd)
}

// operand lowers a value: a literal or folded value, a property, or a condition (returned as
// the lowered condition, with an opDyn operand).
func (l *lowerer) operand(n filter.Node) (operand, lnode) {
	switch n := n.(type) {
	case *filter.Literal:
		return operand{kind: opConst, val: n.Val}, nil
	case *filter.Prop:
		return operand{kind: opProp, slot: l.slot(n.Name)}, nil
	case *filter.Neg:
		return operand{kind: opConst, val: negate(n.X)}, nil
	}
	return operand{kind: opDyn}, l.cond(n)
}

// negate folds -x: numbers negate, everything else (a property is a string, a condition a
// boolean) is NULL.
func negate(x filter.Node) filter.Value {
	var v filter.Value
	switch x := x.(type) {
	case *filter.Literal:
		v = x.Val
	case *filter.Neg:
		v = negate(x.X)
	default:
		return filter.Null
	}
	switch v.Kind {
	case filter.KindInt:
		return filter.IntValue(-v.Int)
	case filter.KindFloat:
		return filter.FloatValue(-v.Float)
	}
	return filter.Null
}

// atom records a, or decides it now when none of its operands is a property or a condition.
func (l *lowerer) atom(a atom, dyns ...lnode) lnode {
	var dyn lnode
	for _, d := range dyns {
		if d != nil {
			dyn = d
		}
	}
	a.setDispatch()
	if dyn == nil && a.l.kind == opConst && (a.kind != aCmp || a.r.kind == opConst) {
		return lConst{a.eval(nil, filter.Unknown)}
	}
	l.atoms = append(l.atoms, a)
	return lAtom{len(l.atoms) - 1, dyn}
}

// emitter writes the expr source of a lowered tree.
type emitter struct {
	b    strings.Builder
	tmp  int
	used map[string]bool // helpers called
}

// helpers are the Go functions the program calls, by the name they are bound to in the program
// (the environment names them in lower case).
var helpers = []string{"T", "F", "T1", "F1", "V", "V1", "AT", "ET", "AF", "EF"}

// source is the expr program deciding T(root).
func source(root lnode) string {
	e := &emitter{used: map[string]bool{}}
	e.pred(root, true)
	var head strings.Builder
	for _, h := range helpers {
		if e.used[h] {
			// Bound once per run, so each call is a variable load rather than a map lookup.
			fmt.Fprintf(&head, "let %s = %s; ", h, strings.ToLower(h))
		}
	}
	return head.String() + e.b.String()
}

func (e *emitter) w(s ...string) {
	for _, x := range s {
		e.b.WriteString(x)
	}
}

func (e *emitter) call(h string, i int) {
	e.used[h] = true
	e.w(h, "(", strconv.Itoa(i))
}

func (e *emitter) temp() string {
	e.tmp++
	return "x" + strconv.Itoa(e.tmp)
}

// pred writes "n is TRUE" (pol) or "n is FALSE" (!pol) as an expr bool.
func (e *emitter) pred(n lnode, pol bool) {
	switch n := n.(type) {
	case lConst:
		if n.t == filter.True && pol || n.t == filter.False && !pol {
			e.w("true")
		} else {
			e.w("false")
		}
	case lAnd:
		// TRUE when every term is, FALSE when one is.
		e.chain(fuse(n.terms, map[bool]string{true: "AT", false: "EF"}[pol]), pol, map[bool]string{true: " && ", false: " || "}[pol])
	case lOr:
		// TRUE when one term is, FALSE when every term is.
		e.chain(fuse(n.terms, map[bool]string{true: "ET", false: "AF"}[pol]), pol, map[bool]string{true: " || ", false: " && "}[pol])
	case lRun:
		e.call(n.helper, n.lo)
		e.w(", ", strconv.Itoa(n.hi), ")")
	case lNot:
		e.pred(n.x, !pol)
	case lAtom:
		h := map[bool]string{true: "T", false: "F"}[pol]
		if n.dyn == nil {
			e.call(h, n.i)
			e.w(")")
			return
		}
		e.call(h+"1", n.i)
		e.w(", ")
		e.val(n.dyn)
		e.w(")")
	case lEqDyn:
		a, b := e.temp(), e.temp()
		e.w("(let ", a, " = ")
		e.val(n.a)
		e.w("; let ", b, " = ")
		e.val(n.b)
		eq := pol != n.ne // the operands must be known and equal (or known and different)
		e.w("; ", a, " != 1 && ", b, " != 1 && ", a, map[bool]string{true: " == ", false: " != "}[eq], b, ")")
	case lNullDyn:
		isNull := pol != n.not
		e.w("(")
		e.val(n.x)
		e.w(map[bool]string{true: " == 1)", false: " != 1)"}[isNull])
	default:
		panic(fmt.Sprintf("sql92: cannot lower %T", n))
	}
}

// lRun is a run of consecutive atoms, terms of one AND or OR, that one helper call decides by
// looping over them in Go: AT (all TRUE), ET (one TRUE), AF (all FALSE), EF (one FALSE).
type lRun struct {
	helper string
	lo, hi int // atoms lo..hi-1
}

func (lRun) lnode() {}

// fuse replaces each run of two or more consecutive atoms (without a condition operand) among
// terms by one lRun: "a BETWEEN 3 AND 7 AND b = 'x' AND c IN (...)" is one call rather than one
// per atom. A call through expr's VM costs about as much as the atom itself (some 30 ns), so
// this is most of the cost of a flat expression; expr still runs everything around the runs.
func fuse(terms []lnode, helper string) []lnode {
	var out []lnode
	for i := 0; i < len(terms); {
		first, ok := terms[i].(lAtom)
		j := i + 1
		for ok && first.dyn == nil && j < len(terms) {
			next, ok2 := terms[j].(lAtom)
			if !ok2 || next.dyn != nil || next.i != first.i+(j-i) {
				break
			}
			j++
		}
		if ok && first.dyn == nil && j-i >= 2 {
			out = append(out, lRun{helper, first.i, first.i + (j - i)})
		} else {
			out = append(out, terms[i])
			j = i + 1
		}
		i = j
	}
	return out
}

// chain joins the terms with op as a balanced tree, so that neither expr's parser nor its
// compiler recurses once per term of a long AND or OR.
func (e *emitter) chain(terms []lnode, pol bool, op string) {
	if len(terms) == 1 {
		e.pred(terms[0], pol)
		return
	}
	mid := len(terms) / 2
	e.w("(")
	e.chain(terms[:mid], pol, op)
	e.w(op)
	e.chain(terms[mid:], pol, op)
	e.w(")")
}

// val writes n's truth value as an expr int: 0 FALSE, 1 UNKNOWN, 2 TRUE.
func (e *emitter) val(n lnode) {
	switch n := n.(type) {
	case lConst:
		e.w(strconv.Itoa(int(n.t)))
	case lAnd:
		e.extreme(n.terms, "0", " < ")
	case lOr:
		e.extreme(n.terms, "2", " > ")
	case lNot:
		e.w("(2 - ")
		e.val(n.x)
		e.w(")")
	case lAtom:
		if n.dyn == nil {
			e.call("V", n.i)
			e.w(")")
			return
		}
		e.call("V1", n.i)
		e.w(", ")
		e.val(n.dyn)
		e.w(")")
	case lEqDyn:
		a, b := e.temp(), e.temp()
		e.w("(let ", a, " = ")
		e.val(n.a)
		e.w("; let ", b, " = ")
		e.val(n.b)
		same, differ := "2", "0"
		if n.ne {
			same, differ = differ, same
		}
		e.w("; ", a, " == 1 || ", b, " == 1 ? 1 : (", a, " == ", b, " ? ", same, " : ", differ, "))")
	case lNullDyn:
		yes, no := "2", "0"
		if n.not {
			yes, no = no, yes
		}
		e.w("(")
		e.val(n.x)
		e.w(" == 1 ? ", yes, " : ", no, ")")
	default:
		panic(fmt.Sprintf("sql92: cannot lower %T", n))
	}
}

// extreme writes the minimum (AND: stop at 0) or maximum (OR: stop at 2) of the terms' values,
// halving the list so that nesting grows with its logarithm.
func (e *emitter) extreme(terms []lnode, stop, better string) {
	if len(terms) == 1 {
		e.val(terms[0])
		return
	}
	mid := len(terms) / 2
	x, y := e.temp(), e.temp()
	e.w("(let ", x, " = ")
	e.extreme(terms[:mid], stop, better)
	e.w("; ", x, " == ", stop, " ? ", stop, " : (let ", y, " = ")
	e.extreme(terms[mid:], stop, better)
	e.w("; ", x, better, y, " ? ", x, " : ", y, "))")
}
