package filter

import (
	"fmt"
	"strconv"
)

// Limits bound what Parse accepts, so that an expression from the network costs bounded memory
// and time to parse, compile and evaluate.
type Limits struct {
	// MaxLength is the longest expression in bytes.
	MaxLength int
	// MaxDepth bounds the depth of the expression's tree, where every operator and every pair
	// of parentheses is a level: "a = 1" is 2 deep, "(a = 1) AND b = 2" 4, "NOT NOT a" 4.
	MaxDepth int
	// MaxInList is the most values one IN list may hold.
	MaxInList int
}

// DefaultLimits are generous for hand-written selectors.
func DefaultLimits() Limits { return Limits{MaxLength: 16 << 10, MaxDepth: 64, MaxInList: 1024} }

// ParseError says where and why an expression does not parse. Pos is a 0-based byte offset
// into the expression.
type ParseError struct {
	Pos    int
	Reason string
}

func (e *ParseError) Error() string { return fmt.Sprintf("at offset %d: %s", e.Pos, e.Reason) }

// Expr is a parsed expression.
type Expr struct {
	// Source is the text it was parsed from.
	Source string
	// Root is a condition.
	Root Node
	// Props lists the properties the expression reads, each once, in order of first use.
	Props []string
}

// Parse parses a SQL92 selector within lim. Limits that are zero or negative take their
// DefaultLimits value. The error is a *ParseError.
func Parse(src string, lim Limits) (*Expr, error) {
	def := DefaultLimits()
	if lim.MaxLength <= 0 {
		lim.MaxLength = def.MaxLength
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = def.MaxDepth
	}
	if lim.MaxInList <= 0 {
		lim.MaxInList = def.MaxInList
	}
	if len(src) > lim.MaxLength {
		return nil, &ParseError{Pos: lim.MaxLength, Reason: fmt.Sprintf("expression is %d bytes, more than the limit of %d", len(src), lim.MaxLength)}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks, lim: lim, seen: map[string]bool{}}
	root, err := p.parse()
	if err != nil {
		return nil, err
	}
	return &Expr{Source: src, Root: root, Props: p.props}, nil
}

type parser struct {
	src   string
	toks  []token
	i     int
	lim   Limits
	nest  int // current recursion through parentheses and unary operators
	props []string
	seen  map[string]bool
}

// sized is a node with the depth of the tree under it.
type sized struct {
	n Node
	d int
}

// bail carries a *ParseError out of the recursive descent; parse recovers it.
type bail struct{ err *ParseError }

func (p *parser) parse() (root Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			root, err = nil, b.err
		}
	}()
	if p.peek().kind == tEOF {
		p.fail(0, "expression is empty")
	}
	n := p.or()
	if t := p.peek(); t.kind != tEOF {
		p.fail(t.pos, "unexpected %s after a complete expression", t.describe(p.src))
	}
	return p.condition(n, "the expression").n, nil
}

func (p *parser) fail(pos int, format string, args ...any) {
	panic(bail{&ParseError{Pos: pos, Reason: fmt.Sprintf(format, args...)}})
}

func (p *parser) peek() token    { return p.toks[p.i] }
func (p *parser) peek2() token   { return p.toks[min(p.i+1, len(p.toks)-1)] }
func (p *parser) advance() token { t := p.toks[p.i]; p.i = min(p.i+1, len(p.toks)-1); return t }

func (p *parser) expect(k tokKind, what string) token {
	t := p.peek()
	if t.kind != k {
		p.fail(t.pos, "expected %s %s, found %s", tokText[k], what, t.describe(p.src))
	}
	return p.advance()
}

// build checks a new node's depth against the limit.
func (p *parser) build(n Node, children ...sized) sized {
	d := 0
	for _, c := range children {
		d = max(d, c.d)
	}
	d++
	if d > p.lim.MaxDepth {
		p.fail(n.Pos(), "expression nests deeper than the limit of %d", p.lim.MaxDepth)
	}
	return sized{n, d}
}

// condition is RocketMQ's asBooleanExpression: conditions pass, a bare property becomes a
// BoolCast, anything else is an error.
func (p *parser) condition(s sized, where string) sized {
	if IsCondition(s.n) {
		return s
	}
	if prop, ok := s.n.(*Prop); ok {
		return p.build(&BoolCast{At: prop.At, X: prop}, s)
	}
	p.fail(s.n.Pos(), "%s must be a condition, but %s is a value", where, s.n.String())
	return sized{}
}

func (p *parser) or() sized {
	first := p.and()
	if p.peek().kind != tOr {
		return first
	}
	terms := []sized{p.condition(first, "an operand of OR")}
	for p.peek().kind == tOr {
		p.advance()
		terms = append(terms, p.condition(p.and(), "an operand of OR"))
	}
	return p.build(&Or{At: first.n.Pos(), Terms: nodes(terms)}, terms...)
}

func (p *parser) and() sized {
	first := p.equality()
	if p.peek().kind != tAnd {
		return first
	}
	terms := []sized{p.condition(first, "an operand of AND")}
	for p.peek().kind == tAnd {
		p.advance()
		terms = append(terms, p.condition(p.equality(), "an operand of AND"))
	}
	return p.build(&And{At: first.n.Pos(), Terms: nodes(terms)}, terms...)
}

func nodes(ss []sized) []Node {
	out := make([]Node, len(ss))
	for i, s := range ss {
		out[i] = s.n
	}
	return out
}

func (p *parser) equality() sized {
	left := p.comparison()
	for {
		t := p.peek()
		switch t.kind {
		case tEq, tNe:
			p.advance()
			right := p.comparison()
			p.checkEqualOperands(t, left, right)
			op := OpEq
			if t.kind == tNe {
				op = OpNe
			}
			left = p.build(&Compare{At: left.n.Pos(), Op: op, L: left.n, R: right.n}, left, right)
		case tIs:
			p.advance()
			not := false
			if p.peek().kind == tNot {
				p.advance()
				not = true
			}
			p.expect(tNull, "after IS")
			left = p.build(&IsNull{At: left.n.Pos(), X: left.n, Not: not}, left)
		default:
			return left
		}
	}
}

func (p *parser) comparison() sized {
	left := p.unary()
	for {
		t := p.peek()
		not := false
		if t.kind == tNot {
			switch p.peek2().kind {
			case tContains, tStartsWith, tEndsWith, tBetween, tIn:
				p.advance()
				not = true
				t = p.peek()
			default:
				return left
			}
		}
		switch t.kind {
		case tGt, tGe, tLt, tLe:
			p.advance()
			right := p.unary()
			p.checkOrderOperand(t, left)
			p.checkOrderOperand(t, right)
			op := map[tokKind]Op{tGt: OpGt, tGe: OpGe, tLt: OpLt, tLe: OpLe}[t.kind]
			left = p.build(&Compare{At: left.n.Pos(), Op: op, L: left.n, R: right.n}, left, right)
		case tContains, tStartsWith, tEndsWith:
			p.advance()
			s := p.expect(tString, "after "+tokText[t.kind])
			kind := map[tokKind]MatchKind{tContains: Contains, tStartsWith: StartsWith, tEndsWith: EndsWith}[t.kind]
			left = p.build(&Match{At: left.n.Pos(), Kind: kind, X: left.n, Search: s.text, Not: not}, left)
		case tBetween:
			p.advance()
			lo := p.unary()
			p.expect(tAnd, "between the bounds of BETWEEN")
			hi := p.unary()
			if !not {
				p.checkBetweenBounds(lo, hi)
			}
			p.checkOrderOperand(t, left)
			p.checkOrderOperand(t, lo)
			p.checkOrderOperand(t, hi)
			left = p.build(&Between{At: left.n.Pos(), X: left.n, Lo: lo.n, Hi: hi.n, Not: not}, left, lo, hi)
		case tIn:
			in := p.advance()
			prop, ok := left.n.(*Prop)
			if !ok {
				p.fail(in.pos, "IN needs a property on its left, not %s", left.n.String())
			}
			p.expect(tLParen, "after IN")
			var vals []string
			for {
				if len(vals) == p.lim.MaxInList {
					p.fail(p.peek().pos, "IN list has more than the limit of %d values", p.lim.MaxInList)
				}
				vals = append(vals, p.expect(tString, "in the IN list (its values are strings)").text)
				if p.peek().kind != tComma {
					break
				}
				p.advance()
			}
			p.expect(tRParen, "to close the IN list")
			left = p.build(&In{At: left.n.Pos(), X: prop, Values: vals, Not: not}, left)
		default:
			return left
		}
	}
}

func (p *parser) unary() sized {
	t := p.peek()
	switch t.kind {
	case tPlus, tMinus, tNot:
		p.advance()
		p.enter(t.pos)
		x := p.unary()
		p.nest--
		switch t.kind {
		case tPlus:
			return x
		case tMinus:
			return p.build(&Neg{At: t.pos, X: x.n}, x)
		}
		x = p.condition(x, "the operand of NOT")
		return p.build(&Not{At: t.pos, X: x.n}, x)
	}
	return p.primary()
}

func (p *parser) enter(pos int) {
	p.nest++
	if p.nest > p.lim.MaxDepth {
		p.fail(pos, "expression nests deeper than the limit of %d", p.lim.MaxDepth)
	}
}

func (p *parser) primary() sized {
	t := p.advance()
	lit := func(v Value) sized { return p.build(&Literal{At: t.pos, Val: v}) }
	switch t.kind {
	case tString:
		return lit(StringValue(t.text))
	case tInt:
		return lit(IntValue(t.i))
	case tFloat:
		return lit(FloatValue(t.f))
	case tTrue:
		return lit(BoolValue(true))
	case tFalse:
		return lit(BoolValue(false))
	case tNull:
		return lit(Null)
	case tIdent:
		if !p.seen[t.text] {
			p.seen[t.text] = true
			p.props = append(p.props, t.text)
		}
		return p.build(&Prop{At: t.pos, Name: t.text})
	case tLParen:
		p.enter(t.pos)
		x := p.or()
		p.nest--
		p.expect(tRParen, "to close the ( at offset "+strconv.Itoa(t.pos))
		if x.d++; x.d > p.lim.MaxDepth {
			p.fail(t.pos, "expression nests deeper than the limit of %d", p.lim.MaxDepth)
		}
		return x
	}
	p.fail(t.pos, "expected a value, a property or (, found %s", t.describe(p.src))
	return sized{}
}

// checkEqualOperands applies RocketMQ's checks on = and <>: NULL cannot be compared (use IS
// NULL), and a TRUE or FALSE literal cannot be compared with a literal of another type.
func (p *parser) checkEqualOperands(op token, l, r sized) {
	for _, s := range []sized{l, r} {
		if lit, ok := s.n.(*Literal); ok && lit.Val.Kind == KindNull {
			p.fail(s.n.Pos(), "NULL cannot be compared with %s: write IS NULL or IS NOT NULL", tokText[op.kind])
		}
	}
	ll, ok1 := l.n.(*Literal)
	rl, ok2 := r.n.(*Literal)
	if ok1 && ok2 && ll.Val.Kind == KindBool && rl.Val.Kind != KindBool {
		p.fail(l.n.Pos(), "%s cannot be compared with %s", ll.Val, rl.Val)
	}
}

// checkOrderOperand applies RocketMQ's checks on <, <=, >, >= and BETWEEN: literals must be
// numbers and conditions cannot be ordered.
func (p *parser) checkOrderOperand(op token, s sized) {
	if lit, ok := s.n.(*Literal); ok && !lit.Val.IsNumber() {
		p.fail(s.n.Pos(), "%s takes numbers, not the %s %s", tokText[op.kind], lit.Val.Kind, lit.Val)
	}
	if IsCondition(s.n) {
		p.fail(s.n.Pos(), "%s takes numbers, not the condition %s", tokText[op.kind], s.n.String())
	}
}

// checkBetweenBounds is RocketMQ's check that two literal bounds come in order.
func (p *parser) checkBetweenBounds(lo, hi sized) {
	ll, ok1 := lo.n.(*Literal)
	hl, ok2 := hi.n.(*Literal)
	if !ok1 || !ok2 || !ll.Val.IsNumber() || !hl.Val.IsNumber() {
		return // literals that are not numbers are refused by checkOrderOperand
	}
	if compareNumbers(ll.Val, hl.Val) > 0 {
		p.fail(lo.n.Pos(), "BETWEEN bounds are reversed: %s is above %s", ll.Val, hl.Val)
	}
}
