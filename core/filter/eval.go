package filter

// Eval is the reference evaluation of the expression over a message's properties (a nil map is
// a message without properties). Only True delivers the message.
func (e *Expr) Eval(props map[string]string) Tri { return TriOf(Eval(e.Root, props)) }

// Match reports whether the expression is TRUE for the properties.
func (e *Expr) Match(props map[string]string) bool { return e.Eval(props) == True }

// Eval evaluates any node: conditions give a boolean or NULL (UNKNOWN), values their value.
func Eval(n Node, props map[string]string) Value {
	switch n := n.(type) {
	case *Literal:
		return n.Val
	case *Prop:
		if v, ok := props[n.Name]; ok {
			return StringValue(v)
		}
		return Null
	case *Neg:
		v := Eval(n.X, props)
		switch v.Kind {
		case KindInt:
			return IntValue(-v.Int)
		case KindFloat:
			return FloatValue(-v.Float)
		}
		return Null // RocketMQ negates numbers only; a property is a string
	case *And:
		t := True
		for _, x := range n.Terms {
			t = min(t, TriOf(Eval(x, props)))
			if t == False {
				break
			}
		}
		return t.Value()
	case *Or:
		t := False
		for _, x := range n.Terms {
			t = max(t, TriOf(Eval(x, props)))
			if t == True {
				break
			}
		}
		return t.Value()
	case *Not:
		return TriOf(Eval(n.X, props)).Not().Value()
	case *Compare:
		return compare(n.Op, Eval(n.L, props), Eval(n.R, props)).Value()
	case *Between:
		x := Eval(n.X, props)
		lo, hi := Eval(n.Lo, props), Eval(n.Hi, props)
		if n.Not {
			return max(compare(OpLt, x, lo), compare(OpGt, x, hi)).Value()
		}
		return min(compare(OpGe, x, lo), compare(OpLe, x, hi)).Value()
	case *In:
		v, ok := props[n.X.Name]
		if !ok {
			return Null
		}
		found := false
		for _, s := range n.Values {
			if s == v {
				found = true
				break
			}
		}
		return BoolValue(found != n.Not)
	case *Match:
		if n.Search == "" {
			return BoolValue(false) // RocketMQ: an empty search string never matches
		}
		v := Eval(n.X, props)
		switch v.Kind {
		case KindNull:
			return Null
		case KindString:
			return BoolValue(n.Kind.Test(v.Str, n.Search) != n.Not)
		}
		return BoolValue(false) // not a string: neither form matches, as in RocketMQ
	case *IsNull:
		return BoolValue((Eval(n.X, props).Kind == KindNull) != n.Not)
	case *BoolCast:
		if _, ok := props[n.X.Name]; !ok {
			return Null
		}
		return BoolValue(false) // a property is a string, never a boolean
	}
	panic("filter: unknown node type")
}

// compare applies a comparison operator to two values.
func compare(op Op, l, r Value) Tri {
	switch op {
	case OpEq:
		return Equal(l, r)
	case OpNe:
		return Equal(l, r).Not()
	}
	sign, ok := Order(l, r)
	if !ok {
		return Unknown
	}
	return triBool(op.Holds(sign))
}
