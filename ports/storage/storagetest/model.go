package storagetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// ModelConfig sets up RunModel: a store under test, the reference store it must agree with,
// and what the runner may do to them.
type ModelConfig struct {
	// Ref is the reference store (the memory store); SUT is the store under test. Both start
	// empty and refuse records over the same MaxRecordSize.
	Ref, SUT      storage.MessageStore
	MaxRecordSize int
	// Reopen, when set, stops the SUT and opens it again on the same files: everything must
	// still be there.
	Reopen func() storage.MessageStore
	// FileSize, when set, is the SUT's commit-log segment size: the runner aims some records at
	// the end of the current segment (exactly filling it, or one byte too large).
	FileSize int64
	// Ops is the number of operations; Seed makes the run reproducible.
	Ops  int
	Seed uint64
}

// modelRec is one appended record: the message and what each store assigned it.
type modelRec struct {
	msg      message.Message
	ref, sut storage.AppendResult
}

type model struct {
	t        *testing.T
	cfg      ModelConfig
	rng      *rand.Rand
	ref, sut storage.MessageStore
	recs     []modelRec
	queues   map[topic.QueueRef][]int // record indices of each queue's units, current incarnation
	refToSUT map[int64]int64          // physical offsets of the same record
	seq      int
	ctx      context.Context
}

var (
	modelTopics = []string{"ModelA", "ModelB", "ModelC"}
	modelTags   = []string{"", "TagA", "TagB", "TagC"}
)

// RunModel runs a seeded random sequence of operations (single and batch appends of random
// topics, queues, sizes and transaction types, including refused ones and records sized to end
// a segment exactly; Lookup, ReadRecord, Message, QueueBounds, OffsetAt, LogBounds,
// DeleteTopic, and Reopen when the SUT supports it) against the SUT and the reference, and
// fails at the first answer on which they disagree. Physical offsets and store timestamps may
// differ between stores (segment fillers, clocks): the runner maps one onto the other, and
// checks each store's OffsetAt against its own timestamps.
func RunModel(t *testing.T, cfg ModelConfig) {
	m := &model{
		t: t, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		ref: cfg.Ref, sut: cfg.SUT, queues: map[topic.QueueRef][]int{}, refToSUT: map[int64]int64{},
		ctx: context.Background(),
	}
	t.Logf("model test seed %d, %d operations", cfg.Seed, cfg.Ops)
	for i := range cfg.Ops {
		op := m.rng.IntN(100)
		switch {
		case op < 50:
			m.appendOp(i)
		case op < 60:
			m.lookupOp(i)
		case op < 70:
			m.readOp(i)
		case op < 78:
			m.messageOp(i)
		case op < 84:
			m.boundsOp(i)
		case op < 90:
			m.offsetAtOp(i)
		case op < 94:
			m.logBoundsOp(i)
		case op < 97:
			m.deleteOp(i)
		default:
			if cfg.Reopen != nil {
				m.sut = cfg.Reopen()
				m.checkAll(fmt.Sprintf("op %d: after reopen", i))
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	m.checkAll("at the end")
	if cfg.FileSize > 0 {
		exact, rolled := 0, 0
		for i, r := range m.recs {
			if (r.sut.PhysicalOffset+int64(r.sut.Size))%cfg.FileSize == cfg.FileSize-8 {
				exact++
			}
			if i > 0 && r.sut.PhysicalOffset%cfg.FileSize == 0 && r.sut.PhysicalOffset > m.recs[i-1].sut.PhysicalOffset+int64(m.recs[i-1].sut.Size) {
				rolled++
			}
		}
		t.Logf("%d records, %d filled a segment exactly, %d rolled to the next segment after a filler", len(m.recs), exact, rolled)
	}
}

func (m *model) fatalf(op int, format string, args ...any) {
	m.t.Helper()
	m.t.Fatalf("seed %d op %d: %s", m.cfg.Seed, op, fmt.Sprintf(format, args...))
}

func (m *model) newMsg(aimAtBoundary bool) message.Message {
	m.seq++
	tp := modelTopics[m.rng.IntN(len(modelTopics))]
	msg := Msg(tp, int32(m.rng.IntN(4)), "", modelTags[m.rng.IntN(len(modelTags))])
	msg.Flag = int32(m.rng.IntN(3))
	switch r := m.rng.IntN(20); {
	case r == 0:
		msg.SysFlag = message.SysFlagTxPrepared
	case r == 1:
		msg.SysFlag = message.SysFlagTxRollback
	case r == 2:
		msg.SysFlag = message.SysFlagTxCommit
		msg.PreparedTransactionOffset = int64(m.rng.IntN(1 << 20))
	}
	msg.ReconsumeTimes = int32(m.rng.IntN(3))
	msg.SetProperty(message.PropertyUniqKey, fmt.Sprintf("MODEL%027d", m.seq))
	size := 0
	switch r := m.rng.IntN(100); {
	case r < 5:
	case r < 65:
		size = 1 + m.rng.IntN(200)
	case r < 90:
		size = 200 + m.rng.IntN(4000)
	default:
		size = 4000 + m.rng.IntN(20000)
	}
	if aimAtBoundary && m.cfg.FileSize > 0 {
		_, end := m.sut.LogBounds()
		rem := m.cfg.FileSize - end%m.cfg.FileSize
		// 8 bytes must stay free for the filler: rem-8 fills the segment exactly, rem-7 is one
		// byte too large for it.
		target := rem - 8 + int64(m.rng.IntN(3)) - 1
		overhead := int64(recordSize(msg, 0))
		if body := target - overhead; body >= 0 && target <= int64(m.cfg.MaxRecordSize) {
			size = int(body)
		}
	}
	var body []byte // an empty body reads back as nil
	for i := range size {
		body = append(body, byte('a'+(m.seq+i)%26))
	}
	msg.Body = body
	return msg
}

// recordSize is the stored length of msg with a body of bodyLen bytes.
func recordSize(msg message.Message, bodyLen int) int {
	r := wire.Record{Topic: msg.Topic, BornHost: msg.BornHost, StoreHost: msg.StoreHost, Body: make([]byte, bodyLen),
		Properties: string(wire.AppendProperties(nil, msg.Properties))}
	return wire.RecordSize(&r)
}

func (m *model) appendOp(op int) {
	n := 1
	if m.rng.IntN(10) < 4 {
		n = 2 + m.rng.IntN(7)
	}
	msgs := make([]message.Message, n)
	for i := range msgs {
		msgs[i] = m.newMsg(i == 0 && m.rng.IntN(10) == 0)
	}
	switch m.rng.IntN(60) {
	case 0:
		msgs[m.rng.IntN(n)].Topic = "bad/topic"
	case 1:
		big := &msgs[m.rng.IntN(n)]
		big.Body = make([]byte, m.cfg.MaxRecordSize-recordSize(*big, 0)+1)
	case 2:
		exact := &msgs[m.rng.IntN(n)]
		exact.Body = make([]byte, m.cfg.MaxRecordSize-recordSize(*exact, 0))
	}
	refRes, refErr := m.ref.Append(m.ctx, msgs, nil)
	sutRes, sutErr := m.sut.Append(m.ctx, msgs, nil)
	if (refErr == nil) != (sutErr == nil) || errClass(refErr) != errClass(sutErr) {
		m.fatalf(op, "Append of %d: reference %v, store %v", n, refErr, sutErr)
	}
	if refErr != nil {
		return
	}
	if len(refRes) != n || len(sutRes) != n {
		m.fatalf(op, "Append of %d returned %d and %d results", n, len(refRes), len(sutRes))
	}
	for i := range msgs {
		a, b := refRes[i], sutRes[i]
		if a.QueueOffset != b.QueueOffset || a.Size != b.Size {
			m.fatalf(op, "message %d: reference %+v, store %+v", i, a, b)
		}
		if prev := len(m.recs); prev > 0 && b.PhysicalOffset < m.recs[prev-1].sut.PhysicalOffset+int64(m.recs[prev-1].sut.Size) {
			m.fatalf(op, "store put message %d at %d, inside the previous record", i, b.PhysicalOffset)
		}
		if m.cfg.FileSize > 0 && b.PhysicalOffset/m.cfg.FileSize != (b.PhysicalOffset+int64(b.Size)-1)/m.cfg.FileSize {
			m.fatalf(op, "record at %d of %d bytes spans segments", b.PhysicalOffset, b.Size)
		}
		idx := len(m.recs)
		m.recs = append(m.recs, modelRec{msg: msgs[i], ref: a, sut: b})
		m.refToSUT[a.PhysicalOffset] = b.PhysicalOffset
		if t := message.TxType(msgs[i].SysFlag); t == message.SysFlagTxNot || t == message.SysFlagTxCommit {
			q := topic.QueueRef{Topic: msgs[i].Topic, QueueID: msgs[i].QueueID}
			if int64(len(m.queues[q])) != a.QueueOffset {
				m.fatalf(op, "%v: queue offset %d, model has %d units", q, a.QueueOffset, len(m.queues[q]))
			}
			m.queues[q] = append(m.queues[q], idx)
		}
	}
}

// errClass names the sentinel an error wraps, so both stores' refusals can be compared.
func errClass(err error) string {
	for _, s := range []error{storage.ErrNotFound, storage.ErrMessageTooLarge, storage.ErrCorrupt, storage.ErrClosed,
		storage.ErrUnavailable, topic.ErrInvalidName} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	if err != nil {
		return "other"
	}
	return ""
}

func (m *model) randomQueue() topic.QueueRef {
	if m.rng.IntN(10) == 0 {
		return topic.QueueRef{Topic: "ModelNever", QueueID: 0}
	}
	return topic.QueueRef{Topic: modelTopics[m.rng.IntN(len(modelTopics))], QueueID: int32(m.rng.IntN(5))}
}

func (m *model) lookupOp(op int) {
	q := m.randomQueue()
	_, hi := m.ref.QueueBounds(q)
	from := int64(m.rng.IntN(int(hi)+3)) - 1
	limit := m.rng.IntN(40)
	a, errA := m.ref.Lookup(m.ctx, q, from, limit, nil)
	b, errB := m.sut.Lookup(m.ctx, q, from, limit, nil)
	if (errA == nil) != (errB == nil) {
		m.fatalf(op, "Lookup(%v, %d, %d): reference %v, store %v", q, from, limit, errA, errB)
	}
	if errA == nil {
		m.sameUnits(op, q, from, a, b)
	}
}

func (m *model) sameUnits(op int, q topic.QueueRef, from int64, a, b []storage.Unit) {
	if len(a) != len(b) {
		m.fatalf(op, "Lookup(%v, %d): %d units in the reference, %d in the store", q, from, len(a), len(b))
	}
	for i := range a {
		want := storage.Unit{PhyOffset: m.refToSUT[a[i].PhyOffset], Size: a[i].Size, TagsCode: a[i].TagsCode}
		if b[i] != want {
			m.fatalf(op, "Lookup(%v, %d) unit %d: store %+v, reference %+v (mapped %+v)", q, from, i, b[i], a[i], want)
		}
	}
}

func (m *model) pick() (modelRec, bool) {
	if len(m.recs) == 0 {
		return modelRec{}, false
	}
	if m.rng.IntN(4) == 0 {
		return m.recs[len(m.recs)-1-m.rng.IntN(min(len(m.recs), 8))], true
	}
	return m.recs[m.rng.IntN(len(m.recs))], true
}

func (m *model) readOp(op int) {
	r, ok := m.pick()
	if !ok {
		return
	}
	a, errA := m.ref.ReadRecord(m.ctx, r.ref.PhysicalOffset, r.ref.Size, nil)
	b, errB := m.sut.ReadRecord(m.ctx, r.sut.PhysicalOffset, r.sut.Size, nil)
	if errA != nil || errB != nil {
		m.fatalf(op, "ReadRecord: reference %v, store %v", errA, errB)
	}
	ra := normalRecord(m, op, a, r.ref)
	rb := normalRecord(m, op, b, r.sut)
	if !reflect.DeepEqual(ra, rb) {
		m.fatalf(op, "ReadRecord: store\n%+v\nreference\n%+v", rb, ra)
	}
	// A wrong size or a position inside the record is refused by both.
	if _, err := m.sut.ReadRecord(m.ctx, r.sut.PhysicalOffset, r.sut.Size-1, nil); err == nil {
		m.fatalf(op, "ReadRecord with a wrong size succeeded")
	}
	if _, err := m.sut.ReadRecord(m.ctx, r.sut.PhysicalOffset+1, r.sut.Size, nil); err == nil {
		m.fatalf(op, "ReadRecord one byte into a record succeeded")
	}
}

// normalRecord decodes b, checks its offsets and timestamp against res, and clears them.
func normalRecord(m *model, op int, b []byte, res storage.AppendResult) wire.Record {
	r, n, err := wire.DecodeRecord(b)
	if err != nil || n != len(b) {
		m.fatalf(op, "record at %d does not decode: %v", res.PhysicalOffset, err)
	}
	if r.PhysicalOffset != res.PhysicalOffset || r.StoreTimestamp != res.StoreTimestamp || r.QueueOffset != res.QueueOffset {
		m.fatalf(op, "record at %d: offsets %d/%d, timestamp %d; appended as %+v", res.PhysicalOffset, r.PhysicalOffset, r.QueueOffset, r.StoreTimestamp, res)
	}
	if wire.BodyCRC(r.Body) != r.BodyCRC {
		m.fatalf(op, "record at %d fails its CRC", res.PhysicalOffset)
	}
	r.PhysicalOffset, r.StoreTimestamp = 0, 0
	return r
}

func (m *model) messageOp(op int) {
	r, ok := m.pick()
	if !ok {
		return
	}
	a, errA := m.ref.Message(m.ctx, r.ref.PhysicalOffset)
	b, errB := m.sut.Message(m.ctx, r.sut.PhysicalOffset)
	if errA != nil || errB != nil {
		m.fatalf(op, "Message: reference %v, store %v", errA, errB)
	}
	if want := Expect(r.msg, r.sut); !reflect.DeepEqual(b, want) {
		m.fatalf(op, "Message(%d) =\n%+v\nwant\n%+v", r.sut.PhysicalOffset, b, want)
	}
	if want := Expect(r.msg, r.ref); !reflect.DeepEqual(a, want) {
		m.fatalf(op, "reference Message(%d) =\n%+v\nwant\n%+v", r.ref.PhysicalOffset, a, want)
	}
}

func (m *model) boundsOp(op int) {
	q := m.randomQueue()
	alo, ahi := m.ref.QueueBounds(q)
	blo, bhi := m.sut.QueueBounds(q)
	if alo != blo || ahi != bhi || ahi != int64(len(m.queues[q])) {
		m.fatalf(op, "QueueBounds(%v): reference %d-%d, store %d-%d, model max %d", q, alo, ahi, blo, bhi, len(m.queues[q]))
	}
}

// offsetAtOp checks OffsetAt in each store against its own store timestamps: the first unit
// stored at or after ts, or the max offset.
func (m *model) offsetAtOp(op int) {
	q := m.randomQueue()
	units := m.queues[q]
	for _, side := range []struct {
		name string
		s    storage.MessageStore
		ts   func(modelRec) int64
	}{
		{"reference", m.ref, func(r modelRec) int64 { return r.ref.StoreTimestamp }},
		{"store", m.sut, func(r modelRec) int64 { return r.sut.StoreTimestamp }},
	} {
		var ts int64
		switch {
		case len(units) == 0 || m.rng.IntN(5) == 0:
			ts = int64(m.rng.IntN(3)) * math.MaxInt64 / 2
		default:
			ts = side.ts(m.recs[units[m.rng.IntN(len(units))]]) + int64(m.rng.IntN(3)) - 1
		}
		want := int64(len(units))
		for i, idx := range units {
			if side.ts(m.recs[idx]) >= ts {
				want = int64(i)
				break
			}
		}
		got, err := side.s.OffsetAt(m.ctx, q, ts)
		if err != nil || got != want {
			m.fatalf(op, "%s OffsetAt(%v, %d) = %d, %v, want %d", side.name, q, ts, got, err, want)
		}
	}
}

func (m *model) logBoundsOp(op int) {
	_, refMax := m.ref.LogBounds()
	lo, sutMax := m.sut.LogBounds()
	var end, sum int64
	for _, r := range m.recs {
		end = r.sut.PhysicalOffset + int64(r.sut.Size)
		sum += int64(r.ref.Size)
	}
	if refMax != sum || sutMax < end || lo > 0 && len(m.recs) > 0 && lo > m.recs[0].sut.PhysicalOffset {
		m.fatalf(op, "LogBounds: reference max %d (records %d bytes), store %d-%d (last record ends at %d)", refMax, sum, lo, sutMax, end)
	}
}

func (m *model) deleteOp(op int) {
	name := modelTopics[m.rng.IntN(len(modelTopics))]
	errA := m.ref.DeleteTopic(m.ctx, name)
	errB := m.sut.DeleteTopic(m.ctx, name)
	if errA != nil || errB != nil {
		m.fatalf(op, "DeleteTopic(%s): reference %v, store %v", name, errA, errB)
	}
	for q := range m.queues {
		if q.Topic == name {
			delete(m.queues, q)
		}
	}
}

// checkAll compares every queue in full and reads every record back from the SUT.
func (m *model) checkAll(when string) {
	m.t.Helper()
	refs := slices.SortedFunc(func(yield func(topic.QueueRef) bool) {
		for _, t := range modelTopics {
			for id := range int32(5) {
				if !yield(topic.QueueRef{Topic: t, QueueID: id}) {
					return
				}
			}
		}
	}, func(a, b topic.QueueRef) int { return strings.Compare(a.String(), b.String()) })
	for _, q := range refs {
		alo, ahi := m.ref.QueueBounds(q)
		blo, bhi := m.sut.QueueBounds(q)
		if alo != blo || ahi != bhi {
			m.t.Fatalf("seed %d %s: QueueBounds(%v): reference %d-%d, store %d-%d", m.cfg.Seed, when, q, alo, ahi, blo, bhi)
		}
		a, errA := m.ref.Lookup(m.ctx, q, alo, int(ahi-alo), nil)
		b, errB := m.sut.Lookup(m.ctx, q, blo, int(bhi-blo), nil)
		if errA != nil || errB != nil {
			m.t.Fatalf("seed %d %s: Lookup(%v): reference %v, store %v", m.cfg.Seed, when, q, errA, errB)
		}
		m.sameUnits(-1, q, alo, a, b)
	}
	for _, r := range m.recs {
		got, err := m.sut.Message(m.ctx, r.sut.PhysicalOffset)
		if want := Expect(r.msg, r.sut); err != nil || !reflect.DeepEqual(got, want) {
			m.t.Fatalf("seed %d %s: Message(%d) = %v\n%+v\nwant\n%+v", m.cfg.Seed, when, r.sut.PhysicalOffset, err, got, want)
		}
	}
}

// VerifyQueues reads every unit of queues and the record it points at, as a pull would, and
// fails unless each record verifies: it decodes to exactly the unit's size, carries the unit's
// physical offset, queue and queue offset, and its body matches its CRC. Hole units (a size no
// record has) must read as storage.ErrNotFound. It returns how many records it read.
func VerifyQueues(t testing.TB, s storage.MessageStore, queues []topic.QueueRef) int {
	t.Helper()
	ctx := context.Background()
	read := 0
	var buf []byte
	for _, q := range queues {
		lo, hi := s.QueueBounds(q)
		units, err := s.Lookup(ctx, q, lo, int(hi-lo), nil)
		if err != nil || int64(len(units)) != hi-lo {
			t.Fatalf("Lookup(%v, %d, %d): %d units, %v", q, lo, hi-lo, len(units), err)
		}
		for i, u := range units {
			off := lo + int64(i)
			buf, err = s.ReadRecord(ctx, u.PhyOffset, u.Size, buf[:0])
			if u.Size == math.MaxInt32 {
				if !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("%v offset %d is a hole unit but ReadRecord answered %v", q, off, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%v offset %d: ReadRecord(%d, %d): %v", q, off, u.PhyOffset, u.Size, err)
			}
			r, n, err := wire.DecodeRecord(buf)
			switch {
			case err != nil || n != int(u.Size):
				t.Fatalf("%v offset %d: record at %d does not decode to %d bytes: %d, %v", q, off, u.PhyOffset, u.Size, n, err)
			case r.PhysicalOffset != u.PhyOffset || r.QueueOffset != off || r.Topic != q.Topic || r.QueueID != q.QueueID:
				t.Fatalf("%v offset %d: the record at %d is %s/%d offset %d, stored at %d", q, off, u.PhyOffset, r.Topic, r.QueueID, r.QueueOffset, r.PhysicalOffset)
			case wire.BodyCRC(r.Body) != r.BodyCRC:
				t.Fatalf("%v offset %d: the record at %d fails its CRC", q, off, u.PhyOffset)
			}
			read++
		}
	}
	return read
}
