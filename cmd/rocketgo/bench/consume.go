package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/rocketgo/rocketgo/sdk/consumer"
	"github.com/rocketgo/rocketgo/sdk/message"
)

// ConsumeOptions are the flags of `rocketgo bench consume`.
type ConsumeOptions struct {
	common
	Group        string
	Consumers    int   // push consumers of the group, each with its own client and connection
	Messages     int64 // > 0: stop once this many distinct messages were consumed
	PullBatch    int   // messages per pull
	HandlerBatch int   // messages per handler call
	Concurrency  int   // handler calls at once per consumer
	From         string
}

func parseConsume(args []string, stdout, stderr io.Writer) (*ConsumeOptions, int) {
	o := &ConsumeOptions{}
	fs := pflag.NewFlagSet("rocketgo bench consume", pflag.ContinueOnError)
	o.common.addFlags(fs, 30*time.Second)
	fs.StringVar(&o.Group, "group", "benchmark_consumer", "consumer group (a new group starts where --from says)")
	fs.IntVar(&o.Consumers, "consumers", 1, "push consumers in the group, each with its own connection")
	fs.Int64Var(&o.Messages, "messages", 0, "stop once this many distinct messages were consumed (0: run for --duration, which stays a cap)")
	fs.IntVar(&o.PullBatch, "pull-batch", 32, "messages per pull")
	fs.IntVar(&o.HandlerBatch, "handler-batch", 32, "messages per handler call")
	fs.IntVar(&o.Concurrency, "concurrency", 20, "handler calls at once per consumer")
	fs.StringVar(&o.From, "from", "first", "where a queue without a committed offset starts: first | last")
	if ok, code := parseFlags(fs, "consume", args, stdout, stderr); !ok {
		return nil, code
	}
	if err := o.validate(); err != nil {
		return nil, usageError(stderr, "consume", err)
	}
	return o, exitOK
}

func (o *ConsumeOptions) validate() error {
	if err := o.common.resolve(); err != nil {
		return err
	}
	switch {
	case o.Group == "":
		return errors.New("--group must not be empty")
	case o.Consumers < 1:
		return errors.New("--consumers must be at least 1")
	case o.Messages < 0:
		return errors.New("--messages must not be negative")
	case o.PullBatch < 1 || o.HandlerBatch < 1 || o.Concurrency < 1:
		return errors.New("--pull-batch, --handler-batch and --concurrency must be at least 1")
	case o.From != "first" && o.From != "last":
		return fmt.Errorf("--from %q: want first or last", o.From)
	}
	return nil
}

// consumeRecorder counts one consumer's messages; safe for concurrent use.
type consumeRecorder struct {
	b2c, s2c Histogram // born-to-consume and store-to-consume, ns
	msgs     atomic.Uint64
	bytes    atomic.Uint64
	dups     atomic.Uint64
}

// seenSet remembers the queue offsets consumed, to count each message once when a rebalance
// hands a queue over while its messages are in flight.
type seenSet struct {
	mu sync.Mutex
	q  map[message.Queue][]uint64 // bitmap by queue offset
}

// add marks msgs as seen and returns how many of them, and how many body bytes, were new.
func (s *seenSet) add(msgs []*message.Ext) (fresh, bytes uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.q == nil {
		s.q = make(map[message.Queue][]uint64)
	}
	var last message.Queue
	var bits []uint64
	for i, m := range msgs {
		if i == 0 || m.Queue != last {
			if i > 0 {
				s.q[last] = bits
			}
			last, bits = m.Queue, s.q[m.Queue]
		}
		off := m.QueueOffset
		if off < 0 {
			off = 0
		}
		w := int(off / 64)
		if w >= len(bits) {
			bits = append(bits, make([]uint64, w+1-len(bits)+len(bits)/2)...)
		}
		bit := uint64(1) << (off % 64)
		if bits[w]&bit == 0 {
			bits[w] |= bit
			fresh++
			bytes += uint64(len(m.Body))
		}
	}
	if len(msgs) > 0 {
		s.q[last] = bits
	}
	return fresh, bytes
}

type consumeSnap struct {
	b2c, s2c          HistSnapshot
	msgs, bytes, dups uint64
	cpu               cpuSample
}

func snapConsume(recs []*consumeRecorder, cpu cpuSampler) consumeSnap {
	var s consumeSnap
	var h HistSnapshot
	for _, r := range recs {
		r.b2c.Snapshot(&h)
		s.b2c.Add(&h)
		r.s2c.Snapshot(&h)
		s.s2c.Add(&h)
		s.msgs += r.msgs.Load()
		s.bytes += r.bytes.Load()
		s.dups += r.dups.Load()
	}
	s.cpu = cpu.sample()
	return s
}

type consumeInterval struct {
	Seconds           float64
	Msgs, Bytes, Dups uint64
	B2C, S2C          HistSnapshot
	CPU               cpuDelta
}

func consumeBetween(a, b consumeSnap) consumeInterval {
	return consumeInterval{
		Seconds: b.cpu.at.Sub(a.cpu.at).Seconds(),
		Msgs:    b.msgs - a.msgs, Bytes: b.bytes - a.bytes, Dups: b.dups - a.dups,
		B2C: b.b2c.Since(&a.b2c), S2C: b.s2c.Since(&a.s2c),
		CPU: cpuBetween(a.cpu, b.cpu, b.msgs-a.msgs),
	}
}

func (iv consumeInterval) tps() float64 { return rate(iv.Msgs, iv.Seconds) }

// consumeRun is the state the handlers share.
type consumeRun struct {
	recs    []*consumeRecorder
	cpu     cpuSampler
	seen    seenSet
	limit   uint64
	total   atomic.Uint64
	started chan struct{} // closed at the first message, once base is taken
	once    sync.Once
	base    consumeSnap
	done    chan struct{} // closed once limit distinct messages were consumed
	doneOne sync.Once
}

func (c *consumeRun) handler(rec *consumeRecorder) consumer.Handler {
	return func(_ context.Context, msgs []*message.Ext) error {
		c.once.Do(func() {
			c.base = snapConsume(c.recs, c.cpu)
			close(c.started)
		})
		now := time.Now()
		for _, m := range msgs {
			rec.b2c.Record(int64(now.Sub(m.BornTimestamp)))
			rec.s2c.Record(int64(now.Sub(m.StoreTimestamp)))
		}
		fresh, bytes := c.seen.add(msgs)
		rec.bytes.Add(bytes)
		rec.dups.Add(uint64(len(msgs)) - fresh)
		rec.msgs.Add(fresh)
		if c.limit > 0 && c.total.Add(fresh) >= c.limit {
			c.doneOne.Do(func() { close(c.done) })
		}
		return nil
	}
}

// runConsume starts the consumers, prints a progress line every opts.Report to out, and returns
// the summary from the first message consumed to the last.
func runConsume(ctx context.Context, o ConsumeOptions, out io.Writer) (*Result, error) {
	run := &consumeRun{
		cpu: cpuSampler{brokerPID: o.BrokerPID}, limit: uint64(o.Messages),
		started: make(chan struct{}), done: make(chan struct{}),
	}
	from := consumer.FromFirstOffset
	if o.From == "last" {
		from = consumer.FromLastOffset
	}
	var cs []*consumer.PushConsumer
	defer func() {
		var wg sync.WaitGroup
		for _, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = c.Shutdown(sctx)
				cancel()
			}()
		}
		wg.Wait()
	}()
	for i := range o.Consumers {
		rec := new(consumeRecorder)
		run.recs = append(run.recs, rec)
		c, err := consumer.NewPush(consumer.Options{
			NameServers: o.NameServers, InstanceName: instanceName("c", i), Group: o.Group, StartFrom: from,
			Concurrency: o.Concurrency, BatchSize: o.HandlerBatch, PullBatchSize: o.PullBatch,
		})
		if err != nil {
			return nil, err
		}
		if err := c.Subscribe(o.Topic, consumer.Tag("*"), run.handler(rec)); err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	limit := "for " + o.Duration.String()
	if o.Messages > 0 {
		limit = fmt.Sprintf("until %d messages are consumed (at most %s)", o.Messages, o.Duration)
	}
	fmt.Fprintf(out, "rocketgo bench consume: topic %s, group %s, %d consumer(s), pulls of %d, handler batches of %d, from the %s offset, %s\n",
		o.Topic, o.Group, o.Consumers, o.PullBatch, o.HandlerBatch, o.From, limit)
	for _, c := range cs {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.Start(sctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("starting consumer: %w", err)
		}
	}
	snap := func() consumeSnap { return snapConsume(run.recs, run.cpu) }
	base, last, ok := measure(ctx, run.started, o.Duration, func() consumeSnap { return run.base }, o.Duration, o.Report, run.done, snap,
		func(a, b consumeSnap) { fmt.Fprintln(out, formatConsumeLine(b.cpu.at, consumeBetween(a, b))) })
	if !ok {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("no message consumed from %s within %s", o.Topic, o.Duration)
	}
	iv := consumeBetween(base, last)
	s2c := percentiles(&iv.S2C)
	res := &Result{
		Label: o.Label, Kind: "consume", Topic: o.Topic, Group: o.Group, Consumers: o.Consumers,
		Seconds: iv.Seconds, Messages: iv.Msgs, TPS: iv.tps(), MBps: rate(iv.Bytes, iv.Seconds) / 1e6, ConsumeDup: iv.Dups,
		Latency: percentiles(&iv.B2C), StoreToConsume: &s2c,
		BrokerCPUUsPerMsg: iv.CPU.BrokerUsPerMsg, BrokerCores: iv.CPU.BrokerCores, ClientCores: iv.CPU.ClientCores,
	}
	if len(cs) > 0 && res.Messages > 0 {
		res.Size = int(iv.Bytes / iv.Msgs)
	}
	fmt.Fprint(out, formatConsumeSummary(res))
	return res, nil
}
