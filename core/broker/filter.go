package broker

import (
	"fmt"
	"strings"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/message"
)

// Expression types of subscriptions.
const (
	ExpressionTag   = "TAG"
	ExpressionSQL92 = "SQL92"
)

// tagFilter matches consume-queue units by tag hash; the tag strings settle hash collisions.
type tagFilter struct {
	all   bool
	codes []int64
	tags  []string
}

// parseTagExpression reads "*", "" or "A || B || C". Codes are computed here with the Java rule,
// not taken from the client (the Go client hashes UTF-8 bytes, which differs for non-ASCII tags).
func parseTagExpression(expr string) tagFilter {
	expr = strings.TrimSpace(expr)
	if expr == "" || expr == "*" {
		return tagFilter{all: true}
	}
	var f tagFilter
	for _, t := range strings.Split(expr, "||") {
		if t = strings.TrimSpace(t); t != "" {
			f.codes = append(f.codes, message.TagsCode(t))
			f.tags = append(f.tags, t)
		}
	}
	if len(f.codes) == 0 {
		return tagFilter{all: true}
	}
	return f
}

func (f tagFilter) match(code int64) bool {
	if f.all {
		return true
	}
	for _, c := range f.codes {
		if c == code {
			return true
		}
	}
	return false
}

// matchTag settles a unit whose hash matched: its tag must be one of the subscribed strings.
func (f tagFilter) matchTag(tag string) bool {
	if f.all {
		return true
	}
	for _, t := range f.tags {
		if t == tag {
			return true
		}
	}
	return false
}

func compileFilter(exprType, expr string) (tagFilter, error) {
	switch strings.ToUpper(exprType) {
	case "", ExpressionTag:
		return parseTagExpression(expr), nil
	default:
		return tagFilter{}, fmt.Errorf("%w: expression type %q is not supported", errs.ErrSubscriptionParse, exprType)
	}
}
