// Package filter states what the broker needs from a message filter: a Compiler per expression
// type (TAG, SQL92, or a plugin's) that turns a subscription's expression into a Filter once, and
// Filters that decide, first from the consume-queue unit alone and then from the message's
// properties in batches, which messages a pull delivers. A Registry finds the Compiler of a type.
// The conformance suite in filtertest holds every adapter to the same contract.
package filter

import (
	"context"
	"errors"
	"fmt"

	"github.com/rocketgo/rocketgo/core/message"
)

// Errors of the port; adapters wrap them with context.
var (
	// ErrParse: the expression does not compile. The error chain holds a *ParseError.
	ErrParse = errors.New("filter: expression does not parse")
	// ErrUnknownType: no Compiler is registered for the expression type.
	ErrUnknownType = errors.New("filter: unknown expression type")
	// ErrBatch: MatchBatch was given an out slice shorter than its properties.
	ErrBatch = errors.New("filter: out is shorter than the batch")
	// ErrUnavailable: the filter cannot decide now (a plugin is down). The broker answers the
	// pull with an error rather than delivering or skipping messages: a filter fails closed.
	ErrUnavailable = errors.New("filter: unavailable")
)

// ParseError says where and why an expression does not compile. It matches ErrParse with
// errors.Is, so callers test for ErrParse and use errors.As to read the position.
type ParseError struct {
	Type   string // expression type, e.g. "SQL92"
	Expr   string // the expression
	Pos    int    // 0-based byte offset of the problem in Expr
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid %s expression %q at offset %d: %s", e.Type, e.Expr, e.Pos, e.Reason)
}

// Is makes errors.Is(err, ErrParse) true.
func (e *ParseError) Is(target error) bool { return target == ErrParse }

// Compiler turns expressions of one type into filters.
type Compiler interface {
	// Type is the expression type the compiler handles, in upper case: "TAG", "SQL92".
	Type() string
	// Compile parses expr once; the broker keeps the Filter for as long as the subscription
	// version lasts. An invalid expression gives an error matching ErrParse.
	Compile(expr string) (Filter, error)
}

// Filter decides which messages of a subscription a pull delivers, in two steps: MatchUnit from
// the consume-queue unit alone, then MatchBatch from the properties of the units that passed.
// A Filter is safe for concurrent use.
type Filter interface {
	// MatchUnit is the cheap first step: false means the message is not delivered and its
	// record is not read. true means "maybe": MatchBatch decides, unless the filter is Exact.
	MatchUnit(tagsCode int64) bool
	// MatchBatch decides for each message of a batch (all of which passed MatchUnit) whether
	// it is delivered, writing out[i] for props[i]; len(out) must be at least len(props)
	// (ErrBatch otherwise). An error other than ErrBatch means nothing was decided (the
	// broker fails the pull rather than guess); ctx bounds a filter that calls out.
	MatchBatch(ctx context.Context, props []message.Properties, out []bool) error
}

// Exact is an optional capability of a Filter: when it reports true, MatchUnit's answer is final,
// so the broker delivers what MatchUnit accepts without reading properties (TAG "*").
type Exact interface {
	Exact() bool
}

// IsExact reports whether f declares MatchUnit final.
func IsExact(f Filter) bool {
	e, ok := f.(Exact)
	return ok && e.Exact()
}
