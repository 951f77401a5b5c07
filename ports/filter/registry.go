package filter

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// TypeTag is the expression type of tag subscriptions, which an empty type also means.
const TypeTag = "TAG"

// Registry finds the Compiler of an expression type. Types are matched case-insensitively. It is
// safe for concurrent use, so a plugin host may register a type while the broker compiles.
type Registry struct {
	mu        sync.RWMutex
	compilers map[string]Compiler
}

// NewRegistry registers each compiler; two with the same type are an error.
func NewRegistry(cs ...Compiler) (*Registry, error) {
	r := &Registry{compilers: make(map[string]Compiler, len(cs))}
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// NormalizeType is how types are compared: trimmed, upper case, and "" is TAG (RocketMQ treats
// a missing expression type as a tag subscription).
func NormalizeType(typ string) string {
	typ = strings.ToUpper(strings.TrimSpace(typ))
	if typ == "" {
		return TypeTag
	}
	return typ
}

// Register adds a compiler for a type not registered yet.
func (r *Registry) Register(c Compiler) error {
	typ := NormalizeType(c.Type())
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.compilers[typ]; ok {
		return fmt.Errorf("filter: a compiler for expression type %s is already registered", typ)
	}
	r.compilers[typ] = c
	return nil
}

// Compiler returns the compiler of typ, or an error matching ErrUnknownType that lists the
// registered types.
func (r *Registry) Compiler(typ string) (Compiler, error) {
	typ = NormalizeType(typ)
	r.mu.RLock()
	c, ok := r.compilers[typ]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q: this broker filters by %s", ErrUnknownType, typ, strings.Join(r.Types(), ", "))
	}
	return c, nil
}

// Compile compiles expr with the compiler of typ.
func (r *Registry) Compile(typ, expr string) (Filter, error) {
	c, err := r.Compiler(typ)
	if err != nil {
		return nil, err
	}
	return c.Compile(expr)
}

// Types lists the registered types, sorted.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	types := make([]string, 0, len(r.compilers))
	for t := range r.compilers {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}
