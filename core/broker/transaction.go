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
	// PropertyPreparedQueueOffset names, on a check copy, the half offset of the original send:
	// decisions are recorded against it, so a decision naming any copy decides them all.
	PropertyPreparedQueueOffset = "TRAN_PREPARED_QUEUE_OFFSET"
)

// Op record tags: a decision on an original half offset, or a position superseded by a check copy.
const (
	opDecided    = "d"
	opSuperseded = "s"
)

// Transaction decisions as END_TRANSACTION carries them (message sys flag values).
const (
	TxDecisionUnknown  int32 = 0
	TxDecisionCommit   int32 = message.SysFlagTxCommit
	TxDecisionRollback int32 = message.SysFlagTxRollback
)

func halfQueue() topic.QueueRef { return topic.QueueRef{Topic: topic.TransHalfTopic, QueueID: 0} }
func opQueue() topic.QueueRef   { return topic.QueueRef{Topic: topic.TransOpHalfTopic, QueueID: 0} }

// transactions keeps RocketMQ's two-topic bookkeeping. Half messages wait in the half topic. A
// check copies an undecided half message to the end of the half queue (raising its check count,
// which so survives restarts) and supersedes the old position. Every decision and supersession is
// an op record, ordinary log data, appended atomically with what it describes.
//
// A half message is known by its original offset (the copy carries it), and decisions are kept by
// original offset: a producer answering late for a position a check has since superseded still
// decides the transaction, once.
type transactions struct {
	b   *Broker
	log *zap.Logger

	mu       sync.Mutex
	decided  map[int64]struct{} // original offsets decided (committed, rolled back or discarded)
	done     map[int64]struct{} // positions >= progress that need nothing more
	progress int64              // every position below it needs nothing more
	// minPending is the smallest original offset an undone position still refers to, as of the
	// last complete check pass; originals below it and below progress are resolved for good.
	minPending int64
}

func newTransactions(b *Broker, log *zap.Logger) *transactions {
	return &transactions{b: b, log: log, decided: make(map[int64]struct{}), done: make(map[int64]struct{})}
}

// load rebuilds decisions and supersessions from the op topic.
func (t *transactions) load(ctx context.Context) error {
	st := t.b.store
	minOff, maxOff := st.QueueBounds(opQueue())
	var units []storage.Unit
	for off := minOff; off < maxOff; {
		var err error
		units, err = st.Lookup(ctx, opQueue(), off, 256, units[:0])
		if errors.Is(err, storage.ErrCorrupt) {
			// A damaged op queue loses that decision, not the broker: its half message is
			// checked back again.
			t.log.Warn("transaction op queue unit unreadable; skipped", zap.Int64("offset", off), zap.Error(err))
			off++
			continue
		}
		if err != nil {
			return fmt.Errorf("read transaction op queue at %d: %w", off, err)
		}
		if len(units) == 0 {
			break
		}
		for _, u := range units {
			off++
			m, gone, err := unitMessage(ctx, st, t.log, opQueue(), u)
			if gone {
				continue // gone with retention, damaged, or a hole unit: that decision is lost
			}
			if err != nil {
				return fmt.Errorf("read transaction op at %d: %w", u.PhyOffset, err)
			}
			n, err := strconv.ParseInt(string(m.Body), 10, 64)
			if err != nil {
				continue
			}
			switch m.Properties[message.PropertyTags] {
			case opDecided:
				t.decided[n] = struct{}{}
			case opSuperseded:
				t.done[n] = struct{}{}
			}
		}
	}
	t.progress, _ = st.QueueBounds(halfQueue())
	t.advanceLocked()
	return nil
}

// advanceLocked moves progress over done positions and forgets them.
func (t *transactions) advanceLocked() {
	_, maxOff := t.b.store.QueueBounds(halfQueue())
	for t.progress < maxOff {
		if _, ok := t.done[t.progress]; !ok {
			return
		}
		delete(t.done, t.progress)
		t.progress++
	}
}

// resolvedLocked reports whether the transaction first sent at original offset orig is decided.
func (t *transactions) resolvedLocked(orig int64) bool {
	_, ok := t.decided[orig]
	return ok || orig < t.progress && orig < t.minPending
}

// originOf is the original half offset of a half message at position pos.
func originOf(m *message.Ext, pos int64) int64 {
	if v, err := strconv.ParseInt(m.Properties[PropertyPreparedQueueOffset], 10, 64); err == nil && v >= 0 {
		return v
	}
	return pos
}

// prepareHalf turns a transactional send into a half message.
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
	if _, ok, _ := dueOf(m, 0); ok {
		return fmt.Errorf("%w: a transactional message cannot carry a delivery time", errs.ErrMessageIllegal)
	}
	m.SetProperty(message.PropertyRealTopic, m.Topic)
	m.SetProperty(message.PropertyRealQueueID, strconv.Itoa(int(m.QueueID)))
	delete(m.Properties, PropertyPreparedQueueOffset)
	m.SysFlag &^= message.SysFlagTxMask
	m.Topic, m.QueueID = topic.TransHalfTopic, 0
	return nil
}

func isTransactional(m *message.Message) bool {
	v, ok := m.Properties[message.PropertyTransactionMsg]
	if !ok {
		return false // the usual case: no ParseBool, whose error would allocate per message
	}
	b, _ := strconv.ParseBool(v)
	return b
}

// halfAt returns the half message at queue position pos, proving it is one: the half queue's unit
// at pos must point at phy. A record is never trusted for being decodable at some offset.
func (b *Broker) halfAt(ctx context.Context, pos, phy int64) (message.Ext, error) {
	units, err := b.store.Lookup(ctx, halfQueue(), pos, 1, nil)
	if err != nil || len(units) != 1 || units[0].PhyOffset != phy {
		return message.Ext{}, fmt.Errorf("%w: no half message at queue offset %d and commit-log offset %d",
			errs.ErrInvalidArgument, pos, phy)
	}
	m, err := b.store.Message(ctx, phy)
	if err != nil {
		return message.Ext{}, fmt.Errorf("half message at %d: %w", phy, storeError(err))
	}
	if m.Topic != topic.TransHalfTopic || m.PhysicalOffset != phy || m.QueueOffset != pos {
		return message.Ext{}, fmt.Errorf("%w: the record at %d is not the half message at %d", errs.ErrInvalidArgument, phy, pos)
	}
	return m, nil
}

// EndTransaction applies a producer's decision to a half message, once.
func (b *Broker) EndTransaction(ctx context.Context, req *inbound.EndTransactionRequest) error {
	if req.Decision == TxDecisionUnknown {
		return nil // the producer does not know yet; the check-back will ask again
	}
	if req.Decision != TxDecisionCommit && req.Decision != TxDecisionRollback {
		return fmt.Errorf("%w: commitOrRollback %d", errs.ErrInvalidArgument, req.Decision)
	}
	half, err := b.halfAt(ctx, req.HalfOffset, req.CommitLogOffset)
	if err != nil {
		return err
	}
	if pg := half.Properties[message.PropertyProducerGroup]; pg != req.ProducerGroup {
		return fmt.Errorf("%w: the half message belongs to producer group %q, not %q", errs.ErrInvalidArgument, pg, req.ProducerGroup)
	}
	orig := originOf(&half, req.HalfOffset)
	batch := make([]message.Message, 0, 2)
	if req.Decision == TxDecisionCommit {
		m, err := committed(&half)
		if err != nil {
			return err
		}
		b.divertDelayed(&m)
		batch = append(batch, m)
	}
	batch = append(batch, b.opRecord(opDecided, orig, half.StoreHost))

	t := b.tx
	t.mu.Lock()
	if t.resolvedLocked(orig) {
		t.mu.Unlock()
		t.log.Debug("transaction already decided", zap.Int64("halfOffset", orig), zap.Bool("fromCheck", req.FromCheck))
		return nil
	}
	t.decided[orig] = struct{}{} // claimed: a concurrent decision for the same transaction stops here
	t.mu.Unlock()

	// The commit and its op record go in one append: all or nothing, one flush.
	if _, err := b.store.Append(ctx, batch, nil); err != nil && !errors.Is(err, storage.ErrFlushTimeout) {
		t.mu.Lock()
		delete(t.decided, orig)
		t.mu.Unlock()
		return storeError(err)
	}
	t.log.Debug("transaction decided", zap.Int64("halfOffset", orig), zap.Int32("decision", req.Decision),
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
	if err != nil || qid < 0 || topic.ValidateTopic(m.Topic) != nil || topic.NotWritableByClients(m.Topic) {
		return m, fmt.Errorf("%w: half message without a valid REAL_TOPIC/REAL_QID", errs.ErrInvalidArgument)
	}
	m.QueueID = int32(qid)
	for _, k := range []string{message.PropertyTransactionMsg, message.PropertyRealTopic, message.PropertyRealQueueID,
		PropertyTransactionCheckTimes, PropertyPreparedQueueOffset} {
		delete(m.Properties, k)
	}
	m.SysFlag = m.SysFlag&^message.SysFlagTxMask | message.SysFlagTxCommit
	m.PreparedTransactionOffset = half.PhysicalOffset
	return m, nil
}

// opRecord is an op record with the given tag about offset n.
func (b *Broker) opRecord(tag string, n int64, host netip.AddrPort) message.Message {
	return message.Message{
		Topic: topic.TransOpHalfTopic, QueueID: 0, Body: []byte(strconv.FormatInt(n, 10)),
		Properties:    map[string]string{message.PropertyTags: tag},
		BornTimestamp: b.clock.Now().UnixMilli(), StoreHost: host, BornHost: host,
	}
}

// pendingCheck is a check-back to send once the pass releases its lock.
type pendingCheck struct {
	group string
	check outbound.TransactionCheck
}

// checkOnce asks producers about every undecided half message older than the transaction timeout.
// A checked message is copied to the end of the half queue with its check count raised, the old
// position superseded in the same append; after TransactionCheckMax checks it is discarded to
// TRANS_CHECK_MAX_TIME_TOPIC and logged.
func (t *transactions) checkOnce(ctx context.Context) {
	b := t.b
	t.mu.Lock()
	t.advanceLocked()
	pos := t.progress
	t.mu.Unlock()
	_, end := b.store.QueueBounds(halfQueue()) // copies appended during this pass wait for the next
	now := b.clock.Now()
	minPending := end
	complete := true
	var checks []pendingCheck
	var units []storage.Unit
scan:
	for pos < end && ctx.Err() == nil {
		var err error
		units, err = b.store.Lookup(ctx, halfQueue(), pos, int(min(end-pos, 64)), units[:0])
		if errors.Is(err, storage.ErrCorrupt) {
			// The half queue cannot give this unit (a damaged or missing queue file): nothing
			// can be decided for it, and the half messages after it must still be checked.
			t.log.Warn("transaction check: half queue unit unreadable; skipped", zap.Int64("offset", pos), zap.Error(err))
			t.markDone(pos)
			pos++
			continue
		}
		if err != nil || len(units) == 0 {
			t.log.Warn("transaction check: reading the half queue failed", zap.Int64("offset", pos), zap.Error(err))
			complete = false
			break
		}
		for _, u := range units {
			orig, pending, stop := t.checkOne(ctx, pos, u, now, &checks)
			if pending {
				minPending = min(minPending, orig)
			}
			if stop {
				complete = false
				break scan
			}
			pos++
		}
	}
	t.mu.Lock()
	t.advanceLocked()
	if complete {
		t.minPending = minPending
		for o := range t.decided {
			if o < t.progress && o < t.minPending {
				delete(t.decided, o) // resolved for good: no position refers to it any more
			}
		}
	}
	t.mu.Unlock()
	for _, c := range checks {
		ch := b.clients.producerChannel(c.group)
		if ch == nil {
			t.log.Info("transaction check: no live producer of the group", zap.String("group", c.group),
				zap.Int64("halfOffset", c.check.HalfOffset))
			continue
		}
		if err := ch.CheckTransactionState(ctx, c.check); err != nil {
			t.log.Info("transaction check: asking the producer failed", zap.String("group", c.group), zap.Error(err))
		}
	}
}

// checkOne handles the half message at position pos. It reports the message's original offset,
// whether it is still pending after this pass, and whether the pass should stop because the
// messages after it are too young.
func (t *transactions) checkOne(ctx context.Context, pos int64, u storage.Unit, now time.Time, checks *[]pendingCheck) (orig int64, pending, stop bool) {
	b := t.b
	t.mu.Lock()
	_, isDone := t.done[pos]
	t.mu.Unlock()
	if isDone || pos < t.progressSnapshot() {
		return pos, false, false
	}
	half, gone, err := unitMessage(ctx, b.store, t.log, halfQueue(), u)
	if gone {
		t.markDone(pos) // nothing left to decide
		return pos, false, false
	}
	if err != nil {
		t.log.Warn("transaction check: reading a half message failed", zap.Int64("offset", pos), zap.Error(err))
		return pos, true, true
	}
	orig = originOf(&half, pos)
	t.mu.Lock()
	resolved := t.resolvedLocked(orig)
	t.mu.Unlock()
	if resolved {
		t.markDone(pos)
		return orig, false, false
	}
	immunity, immune := b.cfg.TransactionTimeout, false
	if s, err := strconv.Atoi(half.Properties[PropertyCheckImmunitySeconds]); err == nil && s > 0 {
		immunity, immune = max(immunity, time.Duration(s)*time.Second), true
	}
	if now.Sub(time.UnixMilli(half.BornTimestamp)) < immunity {
		// Messages come in send order, so the rest are younger; one with its own immunity says
		// nothing about those behind it.
		return orig, true, !immune
	}
	checks0, _ := strconv.Atoi(half.Properties[PropertyTransactionCheckTimes])
	if checks0 >= b.cfg.TransactionCheckMax {
		t.discard(ctx, pos, orig, &half, checks0)
		return orig, false, false
	}
	cp := half.Message
	cp.Properties = make(map[string]string, len(half.Properties)+2)
	for k, v := range half.Properties {
		cp.Properties[k] = v
	}
	cp.Properties[PropertyTransactionCheckTimes] = strconv.Itoa(checks0 + 1)
	cp.Properties[PropertyPreparedQueueOffset] = strconv.FormatInt(orig, 10)
	res, err := b.store.Append(ctx, []message.Message{cp, b.opRecord(opSuperseded, pos, half.StoreHost)}, nil)
	if err != nil && !errors.Is(err, storage.ErrFlushTimeout) {
		t.log.Warn("transaction check: copying the half message failed", zap.Int64("halfOffset", pos), zap.Error(err))
		return orig, true, true
	}
	t.markDone(pos)
	copyExt := message.Ext{Message: cp, QueueOffset: res[0].QueueOffset, PhysicalOffset: res[0].PhysicalOffset,
		StoreTimestamp: res[0].StoreTimestamp, StoreSize: res[0].Size}
	*checks = append(*checks, pendingCheck{group: half.Properties[message.PropertyProducerGroup],
		check: outbound.TransactionCheck{HalfOffset: res[0].QueueOffset, CommitLogOffset: res[0].PhysicalOffset, Message: copyExt}})
	return orig, true, false
}

func (t *transactions) progressSnapshot() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.progress
}

func (t *transactions) markDone(pos int64) {
	t.mu.Lock()
	if pos >= t.progress {
		t.done[pos] = struct{}{}
	}
	t.mu.Unlock()
}

// discard gives up on a transaction: a copy goes to TRANS_CHECK_MAX_TIME_TOPIC with the decision
// op in the same append, and the loss is logged.
func (t *transactions) discard(ctx context.Context, pos, orig int64, half *message.Ext, checks int) {
	b := t.b
	m := half.Message
	m.Topic, m.QueueID = topic.TransCheckMaxTimeTopc, 0
	batch := []message.Message{b.opRecord(opDecided, orig, half.StoreHost)}
	if _, err := b.topics.Ensure(ctx, m.Topic, 1, topic.PermRead|topic.PermWrite); err == nil {
		batch = append(batch, m)
	}
	t.mu.Lock()
	if t.resolvedLocked(orig) {
		t.mu.Unlock()
		return // decided meanwhile
	}
	t.decided[orig] = struct{}{}
	t.mu.Unlock()
	if _, err := b.store.Append(ctx, batch, nil); err != nil && !errors.Is(err, storage.ErrFlushTimeout) {
		t.mu.Lock()
		delete(t.decided, orig)
		t.mu.Unlock()
		t.log.Warn("transaction discard failed; will retry", zap.Int64("halfOffset", orig), zap.Error(err))
		return
	}
	t.markDone(pos)
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
