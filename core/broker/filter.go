package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/filter"
	"github.com/rocketgo/rocketgo/ports/inbound"
)

// Expression types of subscriptions.
const (
	ExpressionTag   = filter.TypeTag
	ExpressionSQL92 = "SQL92"
)

// maxCachedFilters bounds the compiled filters kept (one per group and topic), whatever groups
// pull with expressions of their own.
const maxCachedFilters = 1 << 16

// maxRefusals bounds the remembered heartbeat refusals.
const maxRefusals = 4096

// errPropertyFilterOff is Java's answer to a SQL92 (any non-TAG) subscription on a broker with
// enablePropertyFilter off; like Java, it maps to SYSTEM_ERROR.
var errPropertyFilterOff = errors.New("the broker does not support consumer to filter message by")

// subFilters compiles subscriptions through the filter registry and keeps each (group, topic)'s
// compiled filter for as long as its expression type and text stay the same, across
// subscription versions. It also remembers why a group's last heartbeat was refused, so that the
// group's pulls answer with that reason rather than "no heartbeat yet".
type subFilters struct {
	reg      *filter.Registry
	property bool // enablePropertyFilter

	mu       sync.RWMutex
	cache    map[subKey]*compiledSub
	refusals map[string]error // by group
}

type subKey struct{ group, topic string }

type compiledSub struct {
	typ, expr string
	version   int64 // newest subscription version seen with this text
	f         filter.Filter
}

func newSubFilters(reg *filter.Registry, property bool) *subFilters {
	return &subFilters{reg: reg, property: property, cache: make(map[subKey]*compiledSub),
		refusals: make(map[string]error)}
}

// get returns the filter of group's subscription to topicName, compiling it when its type or
// expression changed since the last call for that group and topic.
func (s *subFilters) get(group, topicName string, version int64, typ, expr string) (filter.Filter, error) {
	typ = filter.NormalizeType(typ)
	k := subKey{group, topicName}
	s.mu.RLock()
	c, ok := s.cache[k]
	s.mu.RUnlock()
	if ok && c.typ == typ && c.expr == expr {
		return c.f, nil
	}
	f, err := s.compile(typ, expr)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= maxCachedFilters {
		for old := range s.cache { // drop any one: a dropped entry is only compiled again
			delete(s.cache, old)
			break
		}
	}
	s.cache[k] = &compiledSub{typ: typ, expr: expr, version: version, f: f}
	return f, nil
}

// compile checks the type against enablePropertyFilter, as Java does, and compiles. An invalid
// expression matches errs.ErrSubscriptionParse and keeps the adapter's *filter.ParseError (its
// position and reason) in its chain and its text.
func (s *subFilters) compile(typ, expr string) (filter.Filter, error) {
	typ = filter.NormalizeType(typ)
	if typ != filter.TypeTag && !s.property {
		return nil, fmt.Errorf("%w %s: broker.enablePropertyFilter is false", errPropertyFilterOff, typ)
	}
	f, err := s.reg.Compile(typ, expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrSubscriptionParse, err)
	}
	return f, nil
}

// check compiles every subscription of a heartbeat; names are checked by Clients.Heartbeat.
func (s *subFilters) check(hb *inbound.Heartbeat) error {
	for _, cd := range hb.Consumers {
		if topic.ValidateGroup(cd.Group) != nil {
			continue
		}
		for _, sub := range cd.Subscriptions {
			if topic.ValidateTopic(sub.Topic) != nil {
				continue
			}
			if _, err := s.get(cd.Group, sub.Topic, sub.Version, sub.ExpressionType, sub.Expression); err != nil {
				err = fmt.Errorf("consumer group %s, topic %s: %w", cd.Group, sub.Topic, err)
				s.refuse(cd.Group, err)
				return err
			}
		}
	}
	s.mu.Lock()
	for _, cd := range hb.Consumers {
		delete(s.refusals, cd.Group)
	}
	s.mu.Unlock()
	return nil
}

func (s *subFilters) refuse(group string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.refusals[group]; ok || len(s.refusals) < maxRefusals {
		s.refusals[group] = err
	}
}

// refusal is why group's last heartbeat was refused, if it was.
func (s *subFilters) refusal(group string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.refusals[group]
}

// CheckSubscription answers CHECK_CLIENT_CONFIG, which Java clients send before they use a
// SQL92 subscription: nil when it compiles; errs.ErrSubscriptionParse with the position and
// reason when it does not; Java's refusal when property filters are off. Like Java it checks the
// expression only, not the group.
func (b *Broker) CheckSubscription(_ context.Context, _ string, sub inbound.Subscription) error {
	_, err := b.filters.compile(sub.ExpressionType, sub.Expression)
	return err
}

var _ inbound.SubscriptionChecker = (*Broker)(nil)
