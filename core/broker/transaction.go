package broker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/outbound"
	"github.com/rocketgo/rocketgo/ports/storage"
	"go.uber.org/zap"
)

// Transaction bookkeeping properties (RocketMQ's names).
const (
	PropertyTransactionCheckTimes = "TRANSACTION_CHECK_TIMES"
	PropertyCheckImmunitySeconds  = "CHECK_IMMUNITY_TIME_IN_SECONDS"
	PropertyTransactionID         = "__transactionId__"
	opTag                         = "d"
)

// Transaction decisions as END_TRANSACTION carries them (message sys flag values).
const (
	TxDecisionUnknown  int32 = 0
	TxDecisionCommit   int32 = message.SysFlagTxCommit
	TxDecisionRollback int32 = message.SysFlagTxRollback
)

var (
	halfQueue = topic.QueueRef{Topic: topic.TransHalfTopic, QueueID: 0}
	opQueue   = topic.QueueRef{Topic: topic.TransOpHalfTopic, QueueID: 0}
)

// transactions keeps RocketMQ's two-topic bookkeeping: half messages wait in the half topic, and
// every decision (commit, rollback, superseded by a re-check copy, discarded) is an op record whose
// body is the half message's queue offset. Both are ordinary log data, so they survive restarts.
type transactions struct {
	b   *Broker
	log *zap.Logger

	mu       sync.Mutex    // serializes decisions, so each half message is decided once
	resolved map[int64]int // half queue offset -> 1 once decided, for offsets >= progress
	progress int64         // every half offset below it is decided
}

func newTransactions(b *Broker, log *zap.Logger) *transactions {
	return &transactions{b: b, log: log, resolved: make(map[int64]int)}
}

// load rebuilds the decided set from the op topic.
func (t *transactions) load(ctx context.Context) error {
	st := t.b.store
	minOff, maxOff := st.QueueBounds(opQueue)
	var units []storage.Unit
	for off := minOff; off < maxOff; {
		var err error
		units, err = st.Lookup(ctx, opQueue, off, 256, units[:0])
		if err != nil {
			return fmt.Errorf("read transaction op queue at %d: %w", off, err)
		}
		if len(units) == 0 {
			break
		}
		for _, u := range units {
			off++
			m, err := st.Message(ctx, u.PhyOffset)
			if err != nil {
				continue // gone with retention
			}
			if half, err := strconv.ParseInt(string(m.Body), 10, 64); err == nil {
				t.resolved[half] = 1
			}
		}
	}
	t.progress, _ = st.QueueBounds(halfQueue)
	t.advanceLocked()
	return nil
}

// advanceLocked moves progress over decided offsets and forgets them.
func (t *transactions) advanceLocked() {
	_, maxOff := t.b.store.QueueBounds(halfQueue)
	for t.progress < maxOff {
		if _, ok := t.resolved[t.progress]; !ok {
			return
		}
		delete(t.resolved, t.progress)
		t.progress++
	}
}

func (t *transactions) isResolvedLocked(halfOffset int64) bool {
	_, ok := t.resolved[halfOffset]
	return ok || halfOffset < t.progress
}

// prepare turns a transactional send into a half message.
func (b *Broker) prepareHalf(ctx context.Context, m *message.Message) error {
	if _, err := b.topics.Ensure(ctx, topic.TransHalfTopic, 1, topic.PermRead|topic.PermWrite); err != nil {
		return err
	}
	if _, err := b.topics.Ensure(ctx, topic.TransOpHalfTopic, 1, topic.PermRead|topic.PermWrite); err != nil {
		return err
	}
	if m.Properties[message.PropertyProducerGroup] == "" {
		return fmt.Errorf("%w: a transactional message needs the PGROUP property", errs.ErrMessageIllegal)
	}
	m.SetProperty(message.PropertyRealTopic, m.Topic)
	m.SetProperty(message.PropertyRealQueueID, strconv.Itoa(int(m.QueueID)))
	m.SysFlag &^= message.SysFlagTxMask
	m.Topic, m.QueueID = topic.TransHalfTopic, 0
	return nil
}

func isTransactional(m *message.Message) bool {
	v, _ := strconv.ParseBool(m.Properties[message.PropertyTransactionMsg])
	return v
}

// EndTransaction applies a producer's decision to a half message, once.
func (b *Broker) EndTransaction(ctx context.Context, req *inbound.EndTransactionRequest) error {
	if req.Decision == TxDecisionUnknown {
		return nil // the producer does not know yet; the check-back will ask again
	}
	if req.Decision != TxDecisionCommit && req.Decision != TxDecisionRollback {
		return fmt.Errorf("%w: commitOrRollback %d", errs.ErrInvalidArgument, req.Decision)
	}
	t := b.tx
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isResolvedLocked(req.HalfOffset) {
		t.log.Debug("transaction already decided", zap.Int64("halfOffset", req.HalfOffset), zap.Bool("fromCheck", req.FromCheck))
		return nil
	}
	half, err := b.store.Message(ctx, req.CommitLogOffset)
	if err != nil {
		return fmt.Errorf("half message at %d: %w", req.CommitLogOffset, storeError(err))
	}
	switch {
	case half.Topic != topic.TransHalfTopic:
		return fmt.Errorf("%w: the record at %d is not a half message", errs.ErrInvalidArgument, req.CommitLogOffset)
	case half.Properties[message.PropertyProducerGroup] != req.ProducerGroup:
		return fmt.Errorf("%w: the half message belongs to producer group %q, not %q", errs.ErrInvalidArgument,
			half.Properties[message.PropertyProducerGroup], req.ProducerGroup)
	case half.QueueOffset != req.HalfOffset:
		return fmt.Errorf("%w: the half message is at queue offset %d, not %d", errs.ErrInvalidArgument, half.QueueOffset, req.HalfOffset)
	}
	if req.Decision == TxDecisionCommit {
		m, err := committed(&half)
		if err != nil {
			return err
		}
		b.divertDelayed(&m)
		if _, err := b.store.Append(ctx, []message.Message{m}); err != nil && !errors.Is(err, storage.ErrFlushTimeout) {
			return storeError(err)
		}
	}
	if err := t.writeOpLocked(ctx, req.HalfOffset, half.StoreHost); err != nil {
		return err
	}
	t.log.Debug("transaction decided", zap.Int64("halfOffset", req.HalfOffset), zap.Int32("decision", req.Decision),
		zap.Bool("fromCheck", req.FromCheck))
	return nil
}

// committed is the message a half message becomes on commit: its real topic and queue, the
// transaction bookkeeping removed, the commit type set and the half record remembered.
func committed(half *message.Ext) (message.Message, error) {
	m := half.Message
	m.Properties = make(map[string]string, len(half.Properties))
	for k, v := range half.Properties {
		m.Properties[k] = v
	}
	m.Topic = m.Properties[message.PropertyRealTopic]
	qid, err := strconv.Atoi(m.Properties[message.PropertyRealQueueID])
	if err != nil || topic.ValidateTopic(m.Topic) != nil {
		return m, fmt.Errorf("%w: half message without a valid REAL_TOPIC/REAL_QID", errs.ErrInvalidArgument)
	}
	m.QueueID = int32(qid)
	for _, k := range []string{message.PropertyTransactionMsg, message.PropertyRealTopic, message.PropertyRealQueueID,
		PropertyTransactionCheckTimes} {
		delete(m.Properties, k)
	}
	m.SysFlag = m.SysFlag&^message.SysFlagTxMask | message.SysFlagTxCommit
	m.PreparedTransactionOffset = half.PhysicalOffset
	return m, nil
}

// writeOpLocked records that a half message needs nothing more.
func (t *transactions) writeOpLocked(ctx context.Context, halfOffset int64, storeHost netip.AddrPort) error {
	op := message.Message{
		Topic: topic.TransOpHalfTopic, QueueID: 0, Body: []byte(strconv.FormatInt(halfOffset, 10)),
		Properties:    map[string]string{message.PropertyTags: opTag},
		BornTimestamp: t.b.clock.Now().UnixMilli(), StoreHost: storeHost, BornHost: storeHost,
	}
	if _, err := t.b.store.Append(ctx, []message.Message{op}); err != nil && !errors.Is(err, storage.ErrFlushTimeout) {
		return fmt.Errorf("record transaction decision: %w", storeError(err))
	}
	t.resolved[halfOffset] = 1
	t.advanceLocked()
	return nil
}

// checkOnce asks producers about every undecided half message older than the transaction timeout.
// A checked message is copied to the end of the half queue with its check count raised (so the
// count survives restarts) and the old copy is marked done; after TransactionCheckMax checks it is
// discarded to TRANS_CHECK_MAX_TIME_TOPIC and logged.
func (t *transactions) checkOnce(ctx context.Context) {
	b := t.b
	t.mu.Lock()
	t.advanceLocked()
	off := t.progress
	_, end := b.store.QueueBounds(halfQueue) // copies appended during this pass wait for the next
	t.mu.Unlock()
	now := b.clock.Now()
	var units []storage.Unit
	for off < end && ctx.Err() == nil {
		var err error
		units, err = b.store.Lookup(ctx, halfQueue, off, int(min(end-off, 64)), units[:0])
		if err != nil || len(units) == 0 {
			return
		}
		for _, u := range units {
			if stop := t.checkOne(ctx, off, u, now); stop {
				return
			}
			off++
		}
	}
}

// checkOne handles one half message; it reports true when the scan should stop because the
// remaining messages are too young.
func (t *transactions) checkOne(ctx context.Context, off int64, u storage.Unit, now time.Time) bool {
	b := t.b
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isResolvedLocked(off) {
		return false
	}
	half, err := b.store.Message(ctx, u.PhyOffset)
	if err != nil {
		t.resolved[off] = 1 // gone with retention: nothing left to decide
		return false
	}
	immunity := b.cfg.TransactionTimeout
	if s, err := strconv.Atoi(half.Properties[PropertyCheckImmunitySeconds]); err == nil && s > 0 {
		immunity = max(immunity, time.Duration(s)*time.Second)
	}
	if now.Sub(time.UnixMilli(half.BornTimestamp)) < immunity {
		return true
	}
	checks, _ := strconv.Atoi(half.Properties[PropertyTransactionCheckTimes])
	if checks >= b.cfg.TransactionCheckMax {
		t.discardLocked(ctx, off, &half, checks)
		return false
	}
	cp := half.Message
	cp.Properties = make(map[string]string, len(half.Properties)+1)
	for k, v := range half.Properties {
		cp.Properties[k] = v
	}
	cp.Properties[PropertyTransactionCheckTimes] = strconv.Itoa(checks + 1)
	res, err := b.store.Append(ctx, []message.Message{cp})
	if err != nil && !errors.Is(err, storage.ErrFlushTimeout) {
		t.log.Warn("transaction check: copying the half message failed", zap.Int64("halfOffset", off), zap.Error(err))
		return true
	}
	if err := t.writeOpLocked(ctx, off, half.StoreHost); err != nil {
		t.log.Warn("transaction check: marking the old copy failed", zap.Int64("halfOffset", off), zap.Error(err))
	}
	group := half.Properties[message.PropertyProducerGroup]
	ch := b.clients.producerChannel(group)
	if ch == nil {
		t.log.Info("transaction check: no live producer of the group", zap.String("group", group), zap.Int64("halfOffset", res[0].QueueOffset))
		return false
	}
	copyExt := message.Ext{Message: cp, QueueOffset: res[0].QueueOffset, PhysicalOffset: res[0].PhysicalOffset,
		StoreTimestamp: res[0].StoreTimestamp, StoreSize: res[0].Size}
	if err := ch.CheckTransactionState(ctx, outbound.TransactionCheck{HalfOffset: res[0].QueueOffset,
		CommitLogOffset: res[0].PhysicalOffset, Message: copyExt}); err != nil {
		t.log.Info("transaction check: asking the producer failed", zap.String("group", group), zap.Error(err))
	}
	return false
}

func (t *transactions) discardLocked(ctx context.Context, off int64, half *message.Ext, checks int) {
	b := t.b
	m := half.Message
	m.Topic, m.QueueID = topic.TransCheckMaxTimeTopc, 0
	if _, err := b.topics.Ensure(ctx, m.Topic, 1, topic.PermRead|topic.PermWrite); err == nil {
		if _, err := b.store.Append(ctx, []message.Message{m}); err != nil && !errors.Is(err, storage.ErrFlushTimeout) {
			t.log.Warn("transaction discard: keeping a copy failed", zap.Error(err))
		}
	}
	if err := t.writeOpLocked(ctx, off, half.StoreHost); err != nil {
		t.log.Warn("transaction discard: marking failed", zap.Int64("halfOffset", off), zap.Error(err))
		return
	}
	t.log.Warn("transaction discarded after the maximum number of checks",
		zap.String("group", half.Properties[message.PropertyProducerGroup]), zap.String("topic", half.Properties[message.PropertyRealTopic]),
		zap.String("uniqKey", half.Properties[message.PropertyUniqKey]), zap.Int("checks", checks))
}

// runChecks checks every interval until ctx ends.
func (t *transactions) runChecks(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.checkOnce(ctx)
		}
	}
}
