// Package tag is the filter adapter of TAG subscriptions: "*" (or nothing) takes every message,
// "A || B" the messages tagged A or B. The consume-queue unit holds the tag's hash (Java's
// String.hashCode), so MatchUnit keeps the units whose hash is subscribed, and MatchBatch settles
// hash collisions with the TAGS property, so a tag that merely collides never goes to the client.
package tag

import (
	"context"
	"slices"
	"strings"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/filter"
)

// Type is the expression type this adapter compiles.
const Type = filter.TypeTag

// Compiler compiles TAG expressions. Every expression is valid, as in RocketMQ.
type Compiler struct{}

// New returns the TAG compiler.
func New() Compiler { return Compiler{} }

// Type implements filter.Compiler.
func (Compiler) Type() string { return Type }

// Compile reads "*", "" or "A || B || C". Hash codes are computed here with the Java rule, never
// taken from the client (the Go client hashes UTF-8 bytes, which differs for non-ASCII tags).
func (Compiler) Compile(expr string) (filter.Filter, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" || expr == "*" {
		return all{}, nil
	}
	f := &tags{}
	for _, t := range strings.Split(expr, "||") {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(f.tags, t) {
			f.codes = append(f.codes, message.TagsCode(t))
			f.tags = append(f.tags, t)
		}
	}
	if len(f.tags) == 0 {
		return all{}, nil
	}
	return f, nil
}

// all takes every message, tagged or not, from the consume queue alone.
type all struct{}

func (all) MatchUnit(int64) bool { return true }
func (all) Exact() bool          { return true }
func (all) MatchBatch(_ context.Context, props []message.Properties, out []bool) error {
	if len(out) < len(props) {
		return filter.ErrBatch
	}
	for i := range props {
		out[i] = true
	}
	return nil
}

// tags takes the messages whose tag is one of a list.
type tags struct {
	codes []int64
	tags  []string
}

func (f *tags) MatchUnit(code int64) bool { return slices.Contains(f.codes, code) }

func (f *tags) MatchBatch(_ context.Context, props []message.Properties, out []bool) error {
	if len(out) < len(props) {
		return filter.ErrBatch
	}
	for i, p := range props {
		out[i] = slices.Contains(f.tags, p[message.PropertyTags])
	}
	return nil
}
