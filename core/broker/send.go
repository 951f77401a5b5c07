package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// maxPropertiesLen is the most a record's properties may take (an int16 length on disk).
const maxPropertiesLen = 32767

// Send validates a send, resolves (or auto-creates) its topic, and appends its messages.
func (b *Broker) Send(ctx context.Context, req *inbound.SendRequest) (*inbound.SendResult, error) {
	p, err := b.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	appended, err := b.store.Append(ctx, p.msgs, p.appended[:0])
	return b.result(p, appended, err)
}

// prepare does everything a send needs before its append: validation, the topic and queue, the
// stored messages with their properties, and the diversions (dead letters, transaction halves,
// timers, delay levels).
func (b *Broker) prepare(ctx context.Context, req *inbound.SendRequest) (*singleSend, error) {
	storeHost, ok := b.storeHost()
	if !ok {
		return nil, fmt.Errorf("%w: broker is starting", errs.ErrServiceUnavailable)
	}
	if err := topic.ValidateTopic(req.Topic); err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrMessageIllegal, err)
	}
	if topic.NotWritableByClients(req.Topic) {
		return nil, fmt.Errorf("%w: topic %s is a system topic producers may not send to", errs.ErrNoPermission, req.Topic)
	}
	tc, err := b.resolveTopic(ctx, req)
	if err != nil {
		return nil, err
	}
	if !tc.Writable() {
		return nil, fmt.Errorf("%w: topic %s is not writable", errs.ErrNoPermission, req.Topic)
	}
	qid := req.QueueID
	if qid < 0 {
		qid = rand.Int32N(tc.WriteQueueNums)
	}
	if qid >= tc.QueueNums() {
		return nil, fmt.Errorf("%w: queue %d of topic %s does not exist (it has %d)", errs.ErrInvalidArgument,
			qid, req.Topic, tc.QueueNums())
	}

	// A single message, its offsets and the result are made in one allocation.
	one := &singleSend{req: req, qid: qid, storeHost: storeHost}
	msgs, err := b.buildMessages(req, qid, storeHost, one.msg[:0])
	if err != nil {
		return nil, err
	}
	if topic.IsRetryTopic(req.Topic) {
		if err := b.deadLetterIfExhausted(ctx, req, msgs); err != nil {
			return nil, err
		}
	}
	if len(msgs) == 1 && isTransactional(&msgs[0]) {
		one.txID = msgs[0].Properties[message.PropertyUniqKey]
		if err := b.prepareHalf(ctx, &msgs[0]); err != nil {
			return nil, err
		}
	} else {
		for i := range msgs {
			timed, err := b.divertToTimer(&msgs[i])
			if err != nil {
				return nil, err
			}
			if !timed {
				b.divertDelayed(&msgs[i])
			}
		}
	}
	one.msgs = msgs
	return one, nil
}

// result is a prepared send's answer once its messages were appended (or not).
func (b *Broker) result(p *singleSend, appended []storage.AppendResult, err error) (*inbound.SendResult, error) {
	res := &p.res
	*res = inbound.SendResult{Topic: p.req.Topic, QueueID: p.qid, StoreHost: p.storeHost, Appended: appended,
		Region: b.cfg.Region, TransactionID: p.txID}
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, storage.ErrFlushTimeout):
		res.Status = inbound.SendFlushDiskTimeout
		return res, nil
	default:
		return nil, storeError(err)
	}
}

// SendMany implements inbound.Sender: the sends are prepared one by one as Send prepares them,
// and the messages of all that were accepted go to the store in one append, which costs one
// lock, one write and one flush wake-up instead of one each. When the store refuses a message
// of the batch as too large (before writing anything), each send is appended alone, so that
// message fails only its own request; any other failure is every request's answer, as it would
// have been for each alone, and is not retried: under sync flush a failed flush comes after the
// records were written, and appending them again would store them twice.
func (b *Broker) SendMany(ctx context.Context, reqs []*inbound.SendRequest) []inbound.SendOutcome {
	out := make([]inbound.SendOutcome, len(reqs))
	ready := make([]*singleSend, 0, len(reqs))
	total := 0
	for _, req := range reqs {
		total += max(1, len(req.Batch))
	}
	msgs := make([]message.Message, 0, total)
	for i, req := range reqs {
		p, err := b.prepare(ctx, req)
		if err != nil {
			out[i].Err = err
			continue
		}
		p.index = i
		ready = append(ready, p)
		msgs = append(msgs, p.msgs...)
	}
	if len(ready) == 0 {
		return out
	}
	appended, err := b.store.Append(ctx, msgs, nil)
	if errors.Is(err, storage.ErrMessageTooLarge) {
		for _, p := range ready {
			a, err := b.store.Append(ctx, p.msgs, p.appended[:0])
			out[p.index].Result, out[p.index].Err = b.result(p, a, err)
		}
		return out
	}
	for _, p := range ready {
		n := min(len(p.msgs), len(appended)) // a failed append returns no results
		out[p.index].Result, out[p.index].Err = b.result(p, appended[:n:n], err)
		appended = appended[n:]
	}
	return out
}

// resolveTopic finds the topic, creating it from the request's template topic (TBW102) or, for a
// retry topic, with one queue.
func (b *Broker) resolveTopic(ctx context.Context, req *inbound.SendRequest) (topic.Config, error) {
	if tc, ok := b.topics.Get(req.Topic); ok {
		return tc, nil
	}
	tpl := req.DefaultTopic
	if tpl == "" {
		tpl = topic.DefaultTopic
	}
	tc, err := b.topics.AutoCreate(ctx, req.Topic, tpl, req.DefaultTopicQueueNums)
	if err == nil {
		return tc, nil
	}
	if topic.IsRetryTopic(req.Topic) {
		return b.topics.Ensure(ctx, req.Topic, 1, topic.PermRead|topic.PermWrite)
	}
	return topic.Config{}, err
}

// singleSend is a prepared send: what it needs beyond its request, allocated together (room for
// one message and its offsets, the usual case).
type singleSend struct {
	req       *inbound.SendRequest
	qid       int32
	storeHost netip.AddrPort
	msgs      []message.Message
	txID      string
	index     int // in SendMany's requests
	res       inbound.SendResult
	msg       [1]message.Message
	appended  [1]storage.AppendResult
}

// buildMessages appends the messages to store for req to dst and returns it.
func (b *Broker) buildMessages(req *inbound.SendRequest, qid int32, storeHost netip.AddrPort, dst []message.Message) ([]message.Message, error) {
	base := message.Message{
		Topic: req.Topic, QueueID: qid, SysFlag: req.SysFlag, BornTimestamp: req.BornTimestamp,
		BornHost: req.BornHost, StoreHost: storeHost, ReconsumeTimes: req.ReconsumeTimes,
	}
	if req.Batch == nil {
		m := base
		m.Flag, m.Body = req.Flag, req.Body
		m.Properties = b.storedProperties(req.Properties, nil)
		if err := checkMessage(&m); err != nil {
			return nil, err
		}
		return append(dst, m), nil
	}
	if len(req.Batch) == 0 {
		return nil, fmt.Errorf("%w: empty batch", errs.ErrMessageIllegal)
	}
	msgs := slices.Grow(dst, len(req.Batch))[:len(dst)+len(req.Batch)]
	for i, e := range req.Batch {
		m := base
		m.Flag, m.Body = e.Flag, e.Body
		m.Properties = b.storedProperties(e.Properties, req.Properties)
		if err := checkMessage(&m); err != nil {
			return nil, fmt.Errorf("batch message %d: %w", i, err)
		}
		if _, ok := m.Properties[message.PropertyDelayLevel]; ok {
			return nil, fmt.Errorf("%w: batch message %d has a delay level; batches cannot be delayed", errs.ErrMessageIllegal, i)
		}
		msgs[len(dst)+i] = m
	}
	return msgs, nil
}

// divertDelayed sends a message with a delay level to the schedule topic, as RocketMQ does for
// plain and committed messages.
func (b *Broker) divertDelayed(m *message.Message) {
	if tx := message.TxType(m.SysFlag); tx != message.SysFlagTxNot && tx != message.SysFlagTxCommit {
		return
	}
	if level := b.sched.levelOf(m); level > 0 {
		b.sched.divert(m, level)
	} else {
		delete(m.Properties, message.PropertyDelayLevel)
	}
}

// deadLetterIfExhausted applies RocketMQ's rule to a direct send to a retry topic: once the
// message's reconsume count reaches the limit (the header's, else the group's), it goes to the
// group's dead-letter queue instead.
func (b *Broker) deadLetterIfExhausted(ctx context.Context, req *inbound.SendRequest, msgs []message.Message) error {
	group := strings.TrimPrefix(req.Topic, topic.RetryGroupPrefix)
	g, ok := b.groups.Get(group)
	if !ok {
		return fmt.Errorf("%w: %s", errs.ErrSubscriptionGroupNotExist, group)
	}
	limit := g.RetryMaxTimes
	if req.MaxReconsumeTimes >= 0 {
		limit = req.MaxReconsumeTimes
	}
	if req.ReconsumeTimes < limit {
		return nil
	}
	dlq, err := b.topics.Ensure(ctx, topic.DLQTopic(group), dlqQueueNums, topic.PermRead|topic.PermWrite)
	if err != nil {
		return err
	}
	for i := range msgs {
		msgs[i].Topic, msgs[i].QueueID = dlq.Name, 0
		delete(msgs[i].Properties, message.PropertyDelayLevel)
	}
	return nil
}

// dlqQueueNums is the queue count of a dead-letter topic.
const dlqQueueNums = 1

// storedProperties merges a message's properties with the batch wrapper's, adds the cluster and
// drops WAIT, which RocketMQ never stores.
func (b *Broker) storedProperties(own, wrapper map[string]string) map[string]string {
	p := own
	if p == nil {
		p = make(map[string]string, 2+len(wrapper))
	}
	for k, v := range wrapper {
		if _, ok := p[k]; !ok {
			p[k] = v
		}
	}
	p[message.PropertyCluster] = b.cfg.Cluster
	delete(p, message.PropertyWait)
	return p
}

func checkMessage(m *message.Message) error {
	n := 0
	for k, v := range m.Properties {
		if k == "" || strings.ContainsAny(k, "\x01\x02") || strings.ContainsAny(v, "\x01\x02") {
			return fmt.Errorf("%w: property %q holds a separator byte", errs.ErrMessageIllegal, k)
		}
		n += len(k) + len(v) + 2
	}
	if n > maxPropertiesLen {
		return fmt.Errorf("%w: properties take %d bytes, over %d", errs.ErrMessageIllegal, n, maxPropertiesLen)
	}
	return nil
}

// storeError maps a storage failure onto the domain's error kinds.
func storeError(err error) error {
	switch {
	case errors.Is(err, storage.ErrMessageTooLarge):
		return fmt.Errorf("%w: %w", errs.ErrMessageIllegal, err)
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, storage.ErrClosed):
		return fmt.Errorf("%w: %w", errs.ErrServiceUnavailable, err)
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("%w: %w", errs.ErrNotFound, err)
	}
	return err
}

// divertToTimer files a message with a delivery time under the timer topic.
func (b *Broker) divertToTimer(m *message.Message) (bool, error) {
	if b.timers == nil {
		if _, ok, _ := dueOf(m, 0); ok {
			return false, fmt.Errorf("%w: timer messages are not enabled on this broker", errs.ErrMessageIllegal)
		}
		return false, nil
	}
	return b.divertTimer(m)
}
