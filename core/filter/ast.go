package filter

import "strings"

// Node is a node of a parsed expression. Boolean nodes (conditions) are And, Or, Not, Compare,
// Between, In, Match, IsNull, BoolCast and the TRUE, FALSE and NULL literals; value nodes are
// Prop, Literal and Neg. Every node records the byte offset it starts at.
type Node interface {
	Pos() int
	String() string
}

// Op is a comparison operator.
type Op uint8

// Comparison operators.
const (
	OpEq Op = iota // =
	OpNe           // <>
	OpLt           // <
	OpLe           // <=
	OpGt           // >
	OpGe           // >=
)

var opText = [...]string{OpEq: "=", OpNe: "<>", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">="}

func (o Op) String() string { return opText[o] }

// Negate returns the operator that is TRUE exactly when o is FALSE (both are UNKNOWN together).
func (o Op) Negate() Op {
	return [...]Op{OpEq: OpNe, OpNe: OpEq, OpLt: OpGe, OpLe: OpGt, OpGt: OpLe, OpGe: OpLt}[o]
}

// Holds reports whether a comparison whose operands order with sign (-1, 0, 1) satisfies o.
func (o Op) Holds(sign int) bool {
	switch o {
	case OpEq:
		return sign == 0
	case OpNe:
		return sign != 0
	case OpLt:
		return sign < 0
	case OpLe:
		return sign <= 0
	case OpGt:
		return sign > 0
	}
	return sign >= 0
}

// MatchKind is one of the string tests.
type MatchKind uint8

// String tests.
const (
	Contains MatchKind = iota
	StartsWith
	EndsWith
)

var matchText = [...]string{Contains: "CONTAINS", StartsWith: "STARTSWITH", EndsWith: "ENDSWITH"}

func (k MatchKind) String() string { return matchText[k] }

// Test applies the string test.
func (k MatchKind) Test(s, search string) bool {
	switch k {
	case Contains:
		return strings.Contains(s, search)
	case StartsWith:
		return strings.HasPrefix(s, search)
	}
	return strings.HasSuffix(s, search)
}

type (
	// And is TRUE when every term is, FALSE when any is.
	And struct {
		At    int
		Terms []Node // two or more conditions
	}
	// Or is TRUE when any term is, FALSE when every term is.
	Or struct {
		At    int
		Terms []Node
	}
	// Not negates a condition.
	Not struct {
		At int
		X  Node
	}
	// Compare is L op R.
	Compare struct {
		At   int
		Op   Op
		L, R Node
	}
	// Between is X BETWEEN Lo AND Hi, that is X >= Lo AND X <= Hi; with Not, X < Lo OR X > Hi.
	Between struct {
		At        int
		X, Lo, Hi Node
		Not       bool
	}
	// In is X IN (values...): X is always a property, the values strings.
	In struct {
		At     int
		X      *Prop
		Values []string
		Not    bool
	}
	// Match is X CONTAINS, STARTSWITH or ENDSWITH Search.
	Match struct {
		At     int
		Kind   MatchKind
		X      Node
		Search string
		Not    bool
	}
	// IsNull is X IS NULL, or X IS NOT NULL with Not.
	IsNull struct {
		At  int
		X   Node
		Not bool
	}
	// BoolCast is a bare property used as a condition.
	BoolCast struct {
		At int
		X  *Prop
	}
	// Neg is -X: the negated number, or NULL when X is not a number.
	Neg struct {
		At int
		X  Node
	}
	// Prop is a message property.
	Prop struct {
		At   int
		Name string
	}
	// Literal is a constant.
	Literal struct {
		At  int
		Val Value
	}
)

func (n *And) Pos() int      { return n.At }
func (n *Or) Pos() int       { return n.At }
func (n *Not) Pos() int      { return n.At }
func (n *Compare) Pos() int  { return n.At }
func (n *Between) Pos() int  { return n.At }
func (n *In) Pos() int       { return n.At }
func (n *Match) Pos() int    { return n.At }
func (n *IsNull) Pos() int   { return n.At }
func (n *BoolCast) Pos() int { return n.At }
func (n *Neg) Pos() int      { return n.At }
func (n *Prop) Pos() int     { return n.At }
func (n *Literal) Pos() int  { return n.At }

// String renders nodes fully parenthesised, in the grammar above, so that the text parses back
// to the same tree.
func (n *And) String() string { return join(n.Terms, " AND ") }
func (n *Or) String() string  { return join(n.Terms, " OR ") }
func (n *Not) String() string { return "(NOT " + n.X.String() + ")" }
func (n *Compare) String() string {
	return "(" + n.L.String() + " " + n.Op.String() + " " + n.R.String() + ")"
}
func (n *Between) String() string {
	return "(" + n.X.String() + not(n.Not) + " BETWEEN " + n.Lo.String() + " AND " + n.Hi.String() + ")"
}
func (n *In) String() string {
	vals := make([]string, len(n.Values))
	for i, v := range n.Values {
		vals[i] = StringValue(v).String()
	}
	return "(" + n.X.String() + not(n.Not) + " IN (" + strings.Join(vals, ", ") + "))"
}
func (n *Match) String() string {
	return "(" + n.X.String() + not(n.Not) + " " + n.Kind.String() + " " + StringValue(n.Search).String() + ")"
}
func (n *IsNull) String() string {
	if n.Not {
		return "(" + n.X.String() + " IS NOT NULL)"
	}
	return "(" + n.X.String() + " IS NULL)"
}
func (n *BoolCast) String() string { return n.X.String() }
func (n *Neg) String() string      { return "(-" + n.X.String() + ")" }
func (n *Prop) String() string     { return n.Name }
func (n *Literal) String() string  { return n.Val.String() }

func not(b bool) string {
	if b {
		return " NOT"
	}
	return ""
}

func join(terms []Node, sep string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = t.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// IsCondition reports whether n is boolean-valued: a condition rather than a value. A bare
// property is a value (BoolCast wraps it where a condition is needed).
func IsCondition(n Node) bool {
	switch n := n.(type) {
	case *And, *Or, *Not, *Compare, *Between, *In, *Match, *IsNull, *BoolCast:
		return true
	case *Literal:
		return n.Val.Kind == KindBool || n.Val.Kind == KindNull
	}
	return false
}
