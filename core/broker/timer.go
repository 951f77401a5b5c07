package broker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/storage"
	"go.uber.org/zap"
)

// Timer message properties (RocketMQ 5's names).
const (
	PropertyTimerDeliverMs   = "TIMER_DELIVER_MS"
	PropertyTimerDelaySec    = "TIMER_DELAY_SEC"
	PropertyTimerDelayMs     = "TIMER_DELAY_MS"
	PropertyStartDeliverTime = "__STARTDELIVERTIME"
	PropertyTimerOutMs       = "TIMER_OUT_MS"
	TimerTopic               = "rmq_sys_wheel_timer"
	timerCheckpointDoc       = "timerCheckpoint.json"
	// timerSlotMarginSeconds widens the wheel beyond the longest delay, so the dequeue step may
	// fall behind (a slow disk, a restart) by up to an hour before a new timer's slot could still
	// hold an undelivered second; enqueue waits rather than overwrite one.
	timerSlotMarginSeconds = 3600
	// timerLoadHorizonSeconds: at load, an entry due further ahead than this (or the maximum
	// delay, if longer) is taken for damage: a year, so a broker that ran with a longer maximum
	// delay still finds the timers it filed.
	timerLoadHorizonSeconds   = 366 * 24 * 3600
	timerCompactEvery         = 10 * time.Minute
	timerCheckpointEvery      = time.Second
	timerEnqueueBatch         = 256
	timerDeliverBatchMessages = 64
)

func timerQueue() topic.QueueRef { return topic.QueueRef{Topic: TimerTopic, QueueID: 0} }

// ErrTimerNotPending is the port's error, named here for the domain's callers.
var ErrTimerNotPending = inbound.ErrTimerNotPending

type timerCheckpoint struct {
	Enqueued  int64 `json:"enqueued"`  // next queue offset of the timer topic to enqueue
	LogEnd    int64 `json:"logEnd"`    // timer log entries below it are durable and enqueued
	Delivered int64 `json:"delivered"` // every second below it has been delivered
}

type slotHead struct {
	second int64 // the absolute second the slot currently holds
	last   int64 // position of its newest entry
}

// timers is a timer wheel (RocketMQ 5's design): timer messages wait in the commit log under the
// timer topic; an enqueue step files each into the slot of its due second as an entry of the timer
// log, chained to the slot's previous entry; a dequeue step delivers each second's chain once that
// second has passed. Only the slot heads live in memory (a fixed array sized by the longest delay),
// so pending timers cost disk, not memory. The checkpoint ties the timer log's end to the enqueue
// offset, so a crash re-enqueues exactly what the log lost.
type timers struct {
	b        *Broker
	tlog     storage.TimerLog
	doc      *document
	log      *zap.Logger
	maxDelay time.Duration

	mu        sync.Mutex // guards the fields below and serializes timer log appends
	slots     []slotHead
	enqueued  int64
	delivered int64
	saved     timerCheckpoint // the last checkpoint written
	wake      chan struct{}
}

func newTimers(b *Broker, tlog storage.TimerLog, meta storage.MetaStore, maxDelay time.Duration, log *zap.Logger) *timers {
	n := int(maxDelay/time.Second) + timerSlotMarginSeconds
	return &timers{b: b, tlog: tlog, doc: newDocument(meta, timerCheckpointDoc), log: log, maxDelay: maxDelay,
		slots: make([]slotHead, n), wake: make(chan struct{}, 1)}
}

// load restores the checkpoint, cuts timer log entries written after it and rebuilds slot heads.
func (t *timers) load(ctx context.Context) error {
	var cp timerCheckpoint
	found, err := t.doc.load(ctx, &cp)
	if err != nil {
		return err
	}
	if !found {
		cp.Delivered = t.b.clock.Now().Unix()
		_, cp.LogEnd = t.tlog.Bounds()
	}
	if err := t.tlog.Truncate(ctx, cp.LogEnd); err != nil {
		return fmt.Errorf("timer log: %w", err)
	}
	// After a power loss the log may hold less than the checkpoint says: enqueue from what exists.
	_, queueEnd := t.b.store.QueueBounds(timerQueue())
	t.enqueued, t.delivered = min(cp.Enqueued, queueEnd), cp.Delivered
	start, _ := t.tlog.Bounds()
	// The wheel must span every pending second, also those filed under a longer maximum delay;
	// an entry due further ahead than the broker could have filed one (entries carry no
	// checksum: a damaged one) is left out rather than sizing the wheel by it.
	horizon := t.delivered + max(int64(t.maxDelay/time.Second), timerLoadHorizonSeconds)
	furthest, skipped := t.delivered, 0
	if err := t.tlog.Scan(ctx, start, func(_ int64, e storage.TimerEntry) bool {
		if sec := e.DueMs / 1000; sec <= horizon {
			furthest = max(furthest, sec)
		} else {
			skipped++
		}
		return true
	}); err != nil {
		return err
	}
	if skipped > 0 {
		t.log.Error("timer log entries due further ahead than any timer is filed are left out",
			zap.Int("entries", skipped), zap.Int64("horizonSecond", horizon))
	}
	if need := int(furthest-t.delivered) + 1; need > len(t.slots) {
		t.slots = make([]slotHead, need+timerSlotMarginSeconds)
	}
	for i := range t.slots {
		t.slots[i] = slotHead{second: -1, last: -1}
	}
	return t.tlog.Scan(ctx, start, func(pos int64, e storage.TimerEntry) bool {
		if sec := e.DueMs / 1000; sec >= t.delivered && sec <= horizon {
			t.slots[t.slotOf(sec)] = slotHead{second: sec, last: pos}
		}
		return true
	})
}

// errSlotBusy: a timer's slot still holds an undelivered second; enqueue waits for the wheel.
var errSlotBusy = errors.New("timer slot still holds an undelivered second")

func (t *timers) slotOf(sec int64) int { return int(sec % int64(len(t.slots))) }

// dueOf reads a message's timer properties: the delivery time in ms, or false for none.
func dueOf(m *message.Message, nowMs int64) (int64, bool, error) {
	parse := func(k string) (int64, bool, error) {
		v, ok := m.Properties[k]
		if !ok {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, false, fmt.Errorf("%w: %s=%q is not a non-negative integer", errs.ErrMessageIllegal, k, v)
		}
		return n, true, nil
	}
	if v, ok, err := parse(PropertyTimerDeliverMs); ok || err != nil {
		return v, ok, err
	}
	if v, ok, err := parse(PropertyTimerDelaySec); ok || err != nil {
		return nowMs + v*1000, ok, err
	}
	if v, ok, err := parse(PropertyTimerDelayMs); ok || err != nil {
		return nowMs + v, ok, err
	}
	return parse(PropertyStartDeliverTime)
}

// divertTimer sends a message with a future delivery time to the timer topic. A time already
// passed is delivered at once; one beyond the maximum delay is refused.
func (b *Broker) divertTimer(m *message.Message) (bool, error) {
	now := b.clock.Now().UnixMilli()
	due, ok, err := dueOf(m, now)
	if err != nil || !ok {
		return false, err
	}
	if due-now > b.cfg.TimerMaxDelay.Milliseconds() { // in ms: a Duration product could overflow
		return false, fmt.Errorf("%w: delivery time %d is more than %s ahead (broker.timerMaxDelay)",
			errs.ErrMessageIllegal, due, b.cfg.TimerMaxDelay)
	}
	if due <= now {
		return false, nil
	}
	m.SetProperty(message.PropertyRealTopic, m.Topic)
	m.SetProperty(message.PropertyRealQueueID, strconv.Itoa(int(m.QueueID)))
	m.SetProperty(PropertyTimerOutMs, strconv.FormatInt(due, 10))
	m.Topic, m.QueueID = TimerTopic, 0
	return true, nil
}

func (t *timers) arrived(q topic.QueueRef, _ int64) {
	if q == timerQueue() {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// run starts the enqueue, dequeue and checkpoint loops.
func (t *timers) run(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(3)
	go func() { defer wg.Done(); t.enqueueLoop(ctx) }()
	go func() { defer wg.Done(); t.dequeueLoop(ctx) }()
	go func() { defer wg.Done(); t.checkpointLoop(ctx) }()
}

func (t *timers) enqueueLoop(ctx context.Context) {
	var units []storage.Unit
	for ctx.Err() == nil {
		t.mu.Lock()
		off := t.enqueued
		t.mu.Unlock()
		minOff, maxOff := t.b.store.QueueBounds(timerQueue())
		off = max(off, minOff)
		if off >= maxOff {
			t.b.sched.sleep(ctx, t.wake, time.Minute)
			continue
		}
		var err error
		units, err = t.b.store.Lookup(ctx, timerQueue(), off, min(int(maxOff-off), timerEnqueueBatch), units[:0])
		if errors.Is(err, storage.ErrCorrupt) {
			// The queue cannot give this unit (a damaged or missing queue file): go on past it,
			// or no later timer would be filed.
			t.log.Warn("timer queue unit unreadable; skipped", zap.Int64("offset", off), zap.Error(err))
			t.mu.Lock()
			t.enqueued = max(t.enqueued, off+1)
			t.mu.Unlock()
			continue
		}
		if err != nil || len(units) == 0 {
			t.log.Warn("timer enqueue: lookup failed", zap.Int64("offset", off), zap.Error(err))
			t.b.sched.sleep(ctx, nil, time.Second)
			continue
		}
		if err := t.enqueue(ctx, off, units); err != nil {
			if !errors.Is(err, errSlotBusy) {
				t.log.Warn("timer enqueue failed; retrying", zap.Int64("offset", off), zap.Error(err))
			}
			t.b.sched.sleep(ctx, nil, time.Second)
		}
	}
}

// enqueue files one batch of timer messages into the wheel. A message due in a second already
// delivered is filed under the next second to deliver, so it goes out on the normal path. It stops
// early (and files the rest later) when a slot still holds an undelivered second.
func (t *timers) enqueue(ctx context.Context, off int64, units []storage.Unit) error {
	type pending struct {
		due int64
		u   storage.Unit
	}
	ps := make([]pending, 0, len(units))
	for _, u := range units {
		m, gone, err := unitMessage(ctx, t.b.store, t.log, timerQueue(), u)
		if err != nil {
			return fmt.Errorf("timer message at %d: %w", u.PhyOffset, err)
		}
		if gone {
			ps = append(ps, pending{-1, u}) // nothing to file
			continue
		}
		due, err := strconv.ParseInt(m.Properties[PropertyTimerOutMs], 10, 64)
		if err != nil {
			t.log.Warn("timer message without TIMER_OUT_MS; dropped", zap.Int64("phyOffset", u.PhyOffset))
			due = -1
		}
		ps = append(ps, pending{due, u})
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	entries := make([]storage.TimerEntry, 0, len(ps))
	_, end := t.tlog.Bounds()
	heads := make(map[int]slotHead)
	filed := 0
	var busy error
	for _, p := range ps {
		if p.due < 0 {
			filed++
			continue
		}
		sec := max(p.due/1000, t.delivered)
		slot := t.slotOf(sec)
		h, ok := heads[slot]
		if !ok {
			h = t.slots[slot]
		}
		if h.second != sec && h.second >= t.delivered {
			busy = errSlotBusy
			break
		}
		e := storage.TimerEntry{PrevPos: -1, DueMs: p.due, PhyOffset: p.u.PhyOffset, Size: p.u.Size}
		if h.second == sec {
			e.PrevPos = h.last
		}
		heads[slot] = slotHead{second: sec, last: end + int64(len(entries))}
		entries = append(entries, e)
		filed++
	}
	if len(entries) > 0 {
		if _, err := t.tlog.Append(ctx, entries); err != nil {
			return err
		}
		for slot, h := range heads {
			t.slots[slot] = h
		}
	}
	t.enqueued = off + int64(filed)
	return busy
}

func (t *timers) dequeueLoop(ctx context.Context) {
	for ctx.Err() == nil {
		t.mu.Lock()
		sec := t.delivered
		t.mu.Unlock()
		// A second is delivered once it has fully passed, so nothing is ever early.
		if wait := time.UnixMilli((sec + 1) * 1000).Sub(t.b.clock.Now()); wait > 0 {
			t.b.sched.sleep(ctx, nil, wait)
			continue
		}
		if err := t.deliverSecond(ctx, sec); err != nil {
			t.log.Warn("timer delivery failed; retrying", zap.Int64("second", sec), zap.Error(err))
			t.b.sched.sleep(ctx, nil, time.Second)
		}
	}
}

// chain returns the entries filed under second sec, newest first.
func (t *timers) chainLocked(ctx context.Context, sec int64) ([]storage.TimerEntry, error) {
	h := t.slots[t.slotOf(sec)]
	if h.second != sec {
		return nil, nil
	}
	var out []storage.TimerEntry
	for pos := h.last; pos >= 0; {
		e, err := t.tlog.Read(ctx, pos)
		if err != nil {
			return out, err
		}
		out = append(out, e)
		pos = e.PrevPos
	}
	return out, nil
}

func (t *timers) deliverSecond(ctx context.Context, sec int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	chain, err := t.chainLocked(ctx, sec)
	if err != nil {
		return err
	}
	live := liveEntries(chain)
	if err := t.deliver(ctx, live); err != nil {
		return err
	}
	t.slots[t.slotOf(sec)] = slotHead{second: -1, last: -1}
	t.delivered = sec + 1
	return nil
}

// liveEntries drops cancelled timers and cancellation markers, oldest first.
func liveEntries(chain []storage.TimerEntry) []storage.TimerEntry {
	cancelled := make(map[int64]bool)
	for _, e := range chain {
		if e.Flags&storage.TimerFlagCancel != 0 {
			cancelled[e.PhyOffset] = true
		}
	}
	out := make([]storage.TimerEntry, 0, len(chain))
	seen := make(map[int64]bool, len(chain))
	for i := len(chain) - 1; i >= 0; i-- {
		if e := chain[i]; e.Flags&storage.TimerFlagCancel == 0 && !cancelled[e.PhyOffset] && !seen[e.PhyOffset] {
			seen[e.PhyOffset] = true
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DueMs < out[j].DueMs })
	return out
}

// deliver writes each timer's message to its real topic, in batches.
func (t *timers) deliver(ctx context.Context, entries []storage.TimerEntry) error {
	batch := make([]message.Message, 0, min(len(entries), timerDeliverBatchMessages))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := t.b.store.Append(ctx, batch, nil)
		batch = batch[:0]
		if errors.Is(err, storage.ErrFlushTimeout) {
			err = nil
		}
		return err
	}
	for _, e := range entries {
		m, gone, err := unitMessage(ctx, t.b.store, t.log, timerQueue(), storage.Unit{PhyOffset: e.PhyOffset, Size: e.Size})
		if err != nil {
			return fmt.Errorf("timer message at %d: %w", e.PhyOffset, err)
		}
		if gone {
			continue
		}
		// An entry may outlive its record (a log cut short by a power loss, then grown again):
		// deliver only the timer message it was filed for.
		if m.Topic != TimerTopic || m.Properties[PropertyTimerOutMs] != strconv.FormatInt(e.DueMs, 10) {
			t.log.Warn("timer entry no longer matches its record; skipped", zap.Int64("phyOffset", e.PhyOffset))
			continue
		}
		out, err := restoreDelayed(&m.Message)
		if err != nil {
			t.log.Error("dropping a timer message without a valid target", zap.Int64("phyOffset", e.PhyOffset), zap.Error(err))
			continue
		}
		for _, k := range []string{PropertyTimerDeliverMs, PropertyTimerDelaySec, PropertyTimerDelayMs, PropertyStartDeliverTime} {
			delete(out.Properties, k)
		}
		batch = append(batch, out)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (t *timers) checkpointLoop(ctx context.Context) {
	tick := time.NewTicker(timerCheckpointEvery)
	defer tick.Stop()
	compact := time.NewTicker(timerCompactEvery)
	defer compact.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := t.checkpoint(ctx); err != nil {
				t.log.Warn("timer checkpoint failed", zap.Error(err))
			}
		case <-compact.C:
			if err := t.compact(ctx); err != nil {
				t.log.Warn("timer log compaction failed", zap.Error(err))
			}
		}
	}
}

// checkpoint makes the log durable up to a point and records it with the enqueue offset.
func (t *timers) checkpoint(ctx context.Context) error {
	t.mu.Lock()
	_, end := t.tlog.Bounds()
	cp := timerCheckpoint{Enqueued: t.enqueued, LogEnd: end, Delivered: t.delivered}
	unchanged := cp == t.saved
	t.mu.Unlock()
	if unchanged {
		return nil // an idle wheel writes nothing
	}
	if err := t.tlog.Flush(ctx); err != nil {
		return err
	}
	if err := t.doc.save(ctx, func() any { return cp }); err != nil {
		return err
	}
	t.mu.Lock()
	t.saved = cp
	t.mu.Unlock()
	return nil
}

// compact releases timer log entries older than every pending one.
func (t *timers) compact(ctx context.Context) error {
	t.mu.Lock()
	delivered := t.delivered
	t.mu.Unlock()
	start, end := t.tlog.Bounds()
	keep := end
	err := t.tlog.Scan(ctx, start, func(pos int64, e storage.TimerEntry) bool {
		if e.DueMs/1000 >= delivered {
			keep = pos
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	return t.tlog.DropBefore(ctx, keep)
}

// TimerInfo describes one pending timer.
type TimerInfo = inbound.TimerInfo

// CancelTimer cancels the pending timer message stored at phyOffset.
func (b *Broker) CancelTimer(ctx context.Context, phyOffset int64) error {
	m, err := b.store.Message(ctx, phyOffset)
	if err != nil || m.Topic != TimerTopic {
		return fmt.Errorf("%w: no timer message at %d", ErrTimerNotPending, phyOffset)
	}
	due, err := strconv.ParseInt(m.Properties[PropertyTimerOutMs], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timer message at %d has no due time", ErrTimerNotPending, phyOffset)
	}
	t := b.timers
	if err := t.fileCancel(ctx, phyOffset, due); err != nil {
		return err
	}
	// An acknowledged cancel must survive a crash: checkpoint now rather than within a second.
	if err := t.checkpoint(ctx); err != nil {
		return fmt.Errorf("timer cancel not persisted: %w", err)
	}
	b.log.Info("timer cancelled", zap.Int64("phyOffset", phyOffset), zap.Int64("dueMs", due))
	return nil
}

// fileCancel adds a cancellation marker to the slot of the timer's second.
func (t *timers) fileCancel(ctx context.Context, phyOffset, due int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	sec := due / 1000
	if sec < t.delivered {
		return fmt.Errorf("%w: the timer at %d was due at %d and has been delivered", ErrTimerNotPending, phyOffset, due)
	}
	chain, err := t.chainLocked(ctx, sec)
	if err != nil {
		return err
	}
	for _, e := range chain {
		if e.PhyOffset == phyOffset && e.Flags&storage.TimerFlagCancel != 0 {
			return fmt.Errorf("%w: the timer at %d is already cancelled", ErrTimerNotPending, phyOffset)
		}
	}
	e := storage.TimerEntry{PrevPos: -1, DueMs: due, PhyOffset: phyOffset, Flags: storage.TimerFlagCancel}
	slot := t.slotOf(sec)
	if h := t.slots[slot]; h.second == sec {
		e.PrevPos = h.last
	}
	pos, err := t.tlog.Append(ctx, []storage.TimerEntry{e})
	if err != nil {
		return err
	}
	t.slots[slot] = slotHead{second: sec, last: pos}
	return nil
}

// ListTimers returns up to limit pending timers due at or after fromMs, by due time. Timers still
// waiting to be filed into the wheel (just sent) are not listed yet.
func (b *Broker) ListTimers(ctx context.Context, fromMs int64, limit int) ([]TimerInfo, error) {
	t := b.timers
	if limit <= 0 {
		limit = 100
	}
	var out []TimerInfo
	t.mu.Lock()
	first := max(t.delivered, fromMs/1000)
	last := t.delivered + int64(len(t.slots))
	var entries []storage.TimerEntry
	for sec := first; sec < last && len(entries) < limit; sec++ {
		chain, err := t.chainLocked(ctx, sec)
		if err != nil {
			t.mu.Unlock()
			return nil, err
		}
		for _, e := range liveEntries(chain) {
			if e.DueMs >= fromMs {
				entries = append(entries, e)
			}
		}
	}
	t.mu.Unlock()
	for _, e := range entries[:min(len(entries), limit)] {
		info := TimerInfo{DueMs: e.DueMs, PhyOffset: e.PhyOffset}
		if m, err := b.store.Message(ctx, e.PhyOffset); err == nil {
			info.Topic, info.UniqKey = m.Properties[message.PropertyRealTopic], m.Properties[message.PropertyUniqKey]
			info.StoreHost = m.StoreHost
		}
		out = append(out, info)
	}
	return out, nil
}
