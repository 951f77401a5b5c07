// Package sql92 is the filter adapter of SQL92 subscriptions. It parses an expression with
// core/filter's bounded parser, lowers the tree onto an expr (github.com/expr-lang/expr) program
// whose boolean skeleton (AND, OR, NOT by polarity, conditions used as values) expr runs with its
// own short-circuit jumps and whose leaf conditions are small three-valued Go helpers, one call
// per leaf or per run of leaves (lower.go, atom.go), and compiles it once per expression: the
// Compiler keeps the compiled filters of the most recent expressions, so every consumer and every
// subscription version with the same text shares one. Filters run on a pool of expr VMs, so one
// filter serves concurrent pulls. MatchUnit cannot decide anything from a consume-queue unit and
// always says "maybe"; MatchBatch decides from the properties.
//
// The semantics are core/filter's (its package comment lists where they differ from RocketMQ's
// Java broker); a differential fuzz test checks this adapter against core/filter's evaluator.
package sql92

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	corefilter "github.com/rocketgo/rocketgo/core/filter"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/filter"
)

// Type is the expression type this adapter compiles.
const Type = "SQL92"

// Config bounds what the compiler accepts and keeps.
type Config struct {
	// MaxExpressionLength is the longest expression in bytes.
	MaxExpressionLength int
	// MaxDepth bounds the nesting of the expression's tree (core/filter.Limits.MaxDepth).
	MaxDepth int
	// MaxInList is the most values of one IN list.
	MaxInList int
	// CacheSize is how many compiled expressions are kept for reuse.
	CacheSize int
}

// Defaults are core/filter's default limits and a cache of 1024 expressions.
func Defaults() Config {
	l := corefilter.DefaultLimits()
	return Config{MaxExpressionLength: l.MaxLength, MaxDepth: l.MaxDepth, MaxInList: l.MaxInList, CacheSize: 1024}
}

// Compiler compiles SQL92 expressions. It is safe for concurrent use.
type Compiler struct {
	lim corefilter.Limits
	max int

	mu    sync.Mutex
	cache map[string]*sqlFilter
	order []string // cache keys, oldest first
}

// New returns a compiler with cfg's limits.
func New(cfg Config) (*Compiler, error) {
	if cfg.MaxExpressionLength <= 0 || cfg.MaxDepth <= 0 || cfg.MaxInList <= 0 || cfg.CacheSize < 0 {
		return nil, fmt.Errorf("sql92: limits must be positive (length %d, depth %d, IN list %d) and the cache size not negative (%d)",
			cfg.MaxExpressionLength, cfg.MaxDepth, cfg.MaxInList, cfg.CacheSize)
	}
	return &Compiler{
		lim:   corefilter.Limits{MaxLength: cfg.MaxExpressionLength, MaxDepth: cfg.MaxDepth, MaxInList: cfg.MaxInList},
		max:   cfg.CacheSize,
		cache: make(map[string]*sqlFilter),
	}, nil
}

// Type implements filter.Compiler.
func (c *Compiler) Type() string { return Type }

// Compile implements filter.Compiler. An invalid expression gives a *filter.ParseError.
func (c *Compiler) Compile(src string) (filter.Filter, error) {
	c.mu.Lock()
	f, ok := c.cache[src]
	c.mu.Unlock()
	if ok {
		return f, nil
	}
	e, err := corefilter.Parse(src, c.lim)
	if err != nil {
		var pe *corefilter.ParseError
		if errors.As(err, &pe) {
			return nil, &filter.ParseError{Type: Type, Expr: src, Pos: pe.Pos, Reason: pe.Reason}
		}
		return nil, fmt.Errorf("sql92: %w", err)
	}
	f, err = compileTree(e.Root)
	if err != nil {
		// A tree the parser accepted always lowers; failing here is a bug, reported as such.
		return nil, fmt.Errorf("sql92: compiling %q: %w", src, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.cache[src]; ok {
		return old, nil // compiled concurrently: keep one
	}
	if c.max > 0 {
		for len(c.order) >= c.max {
			delete(c.cache, c.order[0])
			c.order = c.order[1:]
		}
		c.cache[src] = f
		c.order = append(c.order, src)
	}
	return f, nil
}

// sqlFilter is one compiled expression.
type sqlFilter struct {
	src   string // the expr program, for debugging
	prog  *vm.Program
	atoms []atom
	props []string // property of each slot
	pool  sync.Pool
}

// envTypes declares the helpers to expr's type checker; each runner binds its own closures.
var envTypes = map[string]any{
	"t": (func(int) bool)(nil), "f": (func(int) bool)(nil),
	"t1": (func(int, int) bool)(nil), "f1": (func(int, int) bool)(nil),
	"v": (func(int) int)(nil), "v1": (func(int, int) int)(nil),
	"at": (func(int, int) bool)(nil), "et": (func(int, int) bool)(nil),
	"af": (func(int, int) bool)(nil), "ef": (func(int, int) bool)(nil),
}

// compileTree lowers a condition and compiles the program.
func compileTree(root corefilter.Node) (*sqlFilter, error) {
	tree, atoms, props := lower(root)
	src := source(tree)
	prog, err := expr.Compile(src, expr.Env(envTypes), expr.AsBool(), expr.DisableAllBuiltins(),
		expr.MaxNodes(0)) // the parser's limits already bound the size
	if err != nil {
		return nil, err
	}
	f := &sqlFilter{src: src, prog: prog, atoms: atoms, props: props}
	f.pool.New = func() any { return newRunner(f) }
	return f, nil
}

// MatchUnit implements filter.Filter: a consume-queue unit holds no properties.
func (f *sqlFilter) MatchUnit(int64) bool { return true }

// MatchBatch implements filter.Filter.
func (f *sqlFilter) MatchBatch(_ context.Context, props []message.Properties, out []bool) error {
	if len(out) < len(props) {
		return filter.ErrBatch
	}
	if len(props) == 0 {
		return nil
	}
	r := f.pool.Get().(*runner)
	defer f.pool.Put(r)
	for i, p := range props {
		ok, err := r.run(p)
		if err != nil {
			return err
		}
		out[i] = ok
	}
	return nil
}

// runner evaluates one message at a time: an expr VM, the helpers bound to it, and the slots
// holding the properties of the current message, loaded when first read.
type runner struct {
	f     *sqlFilter
	vm    vm.VM
	env   map[string]any
	slots []slot
	props message.Properties
	gen   uint64 // message number; a slot of an older one is stale
}

type slot struct {
	gen     uint64
	s       string
	present bool
	num     uint8 // numUnread, numInt, numFloat or numNot
	i       int64
	f       float64
}

const (
	numUnread uint8 = iota
	numInt
	numFloat
	numNot
)

func newRunner(f *sqlFilter) *runner {
	r := &runner{f: f, slots: make([]slot, len(f.props))}
	r.env = map[string]any{
		"t":  func(i int) bool { return f.atoms[i].eval(r, corefilter.Unknown) == corefilter.True },
		"f":  func(i int) bool { return f.atoms[i].eval(r, corefilter.Unknown) == corefilter.False },
		"t1": func(i, d int) bool { return f.atoms[i].eval(r, corefilter.Tri(d)) == corefilter.True },
		"f1": func(i, d int) bool { return f.atoms[i].eval(r, corefilter.Tri(d)) == corefilter.False },
		"v":  func(i int) int { return int(f.atoms[i].eval(r, corefilter.Unknown)) },
		"v1": func(i, d int) int { return int(f.atoms[i].eval(r, corefilter.Tri(d))) },
		"at": func(lo, hi int) bool { return r.all(lo, hi, corefilter.True) },
		"af": func(lo, hi int) bool { return r.all(lo, hi, corefilter.False) },
		"et": func(lo, hi int) bool { return r.any(lo, hi, corefilter.True) },
		"ef": func(lo, hi int) bool { return r.any(lo, hi, corefilter.False) },
	}
	return r
}

func (r *runner) run(p message.Properties) (bool, error) {
	r.props = p
	r.gen++
	out, err := r.vm.Run(r.f.prog, r.env)
	r.props = nil
	if err != nil {
		return false, fmt.Errorf("sql92: evaluating %s: %w", r.f.src, err)
	}
	return out.(bool), nil
}

// all reports whether atoms lo..hi-1 all evaluate to want, stopping at the first that does not.
func (r *runner) all(lo, hi int, want corefilter.Tri) bool {
	for i := lo; i < hi; i++ {
		if r.f.atoms[i].eval(r, corefilter.Unknown) != want {
			return false
		}
	}
	return true
}

// any reports whether one of atoms lo..hi-1 evaluates to want, stopping at the first that does.
func (r *runner) any(lo, hi int, want corefilter.Tri) bool {
	for i := lo; i < hi; i++ {
		if r.f.atoms[i].eval(r, corefilter.Unknown) == want {
			return true
		}
	}
	return false
}

// slot returns property i of the current message, reading it from the map on first use.
func (r *runner) slot(i int) *slot {
	s := &r.slots[i]
	if s.gen != r.gen {
		v, ok := r.props[r.f.props[i]]
		*s = slot{gen: r.gen, present: ok, s: v}
	}
	return s
}

// number returns property i with its value read as a number (num says which kind, or numNot),
// parsing it once per message.
func (r *runner) number(i int) *slot {
	s := r.slot(i)
	if s.num == numUnread {
		s.num = numNot
		if s.present {
			if n, ok := corefilter.ParseNumber(s.s); ok {
				if n.Kind == corefilter.KindInt {
					s.num, s.i = numInt, n.Int
				} else {
					s.num, s.f = numFloat, n.Float
				}
			}
		}
	}
	return s
}
