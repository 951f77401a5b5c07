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

	"github.com/rocketgo/rocketgo/sdk/admin"
	"github.com/rocketgo/rocketgo/sdk/client"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/producer"
)

// ProduceOptions are the flags of `rocketgo bench produce`.
type ProduceOptions struct {
	common
	Size      int           // body bytes
	Producers int           // producers, each with its own client and connection
	Window    int           // requests in flight per producer: 1 = Send, >1 = SendAsync pipelined
	Batch     int           // messages per request (SendBatch when > 1)
	Queues    int           // queues of the topic when the run creates it
	Warmup    time.Duration // sending before the measurement starts
	Messages  int64         // > 0: stop once this many messages were sent (warm-up included)
	Group     string        // producer group
}

func parseProduce(args []string, stdout, stderr io.Writer) (*ProduceOptions, int) {
	o := &ProduceOptions{}
	fs := pflag.NewFlagSet("rocketgo bench produce", pflag.ContinueOnError)
	o.common.addFlags(fs, 30*time.Second)
	fs.IntVar(&o.Size, "size", 1024, "message body size in bytes")
	fs.IntVar(&o.Producers, "producers", 1, "concurrent producers, each with its own connection")
	fs.IntVar(&o.Window, "window", 1, "requests in flight per producer: 1 sends synchronously, more pipelines asynchronous sends")
	fs.IntVar(&o.Batch, "batch", 1, "messages per request (a batch send when more than 1)")
	fs.IntVar(&o.Queues, "queues", 8, "queues of the topic when it does not exist yet and is created")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "sending before the measurement starts")
	fs.Int64Var(&o.Messages, "messages", 0, "stop after this many messages, warm-up included, besides one first send per producer (0: run for --duration; with --messages, --duration is only a cap when given)")
	fs.StringVar(&o.Group, "group", "benchmark_producer", "producer group")
	if ok, code := parseFlags(fs, "produce", args, stdout, stderr); !ok {
		return nil, code
	}
	if o.Messages > 0 && !fs.Changed("duration") {
		o.Duration = 24 * time.Hour
	}
	if err := o.validate(); err != nil {
		return nil, usageError(stderr, "produce", err)
	}
	return o, exitOK
}

func (o *ProduceOptions) validate() error {
	if err := o.common.resolve(); err != nil {
		return err
	}
	switch {
	case o.Size < 1:
		return errors.New("--size must be at least 1")
	case o.Producers < 1:
		return errors.New("--producers must be at least 1")
	case o.Window < 1:
		return errors.New("--window must be at least 1")
	case o.Batch < 1:
		return errors.New("--batch must be at least 1")
	case o.Queues < 1:
		return errors.New("--queues must be at least 1")
	case o.Warmup < 0:
		return errors.New("--warmup must not be negative")
	case o.Messages < 0:
		return errors.New("--messages must not be negative")
	case int64(o.Size+64)*int64(o.Batch) > 4<<20:
		return fmt.Errorf("--size %d x --batch %d is over RocketMQ's 4 MiB request limit", o.Size, o.Batch)
	}
	return nil
}

// mode names the send style for reports.
func (o *ProduceOptions) mode() string {
	s := "sync"
	if o.Window > 1 {
		s = fmt.Sprintf("async window %d", o.Window)
	}
	if o.Batch > 1 {
		s += fmt.Sprintf(", batches of %d", o.Batch)
	}
	return s
}

// sendRecorder counts one producer's results; safe for concurrent use (async callbacks). mu
// makes a request's latency and its messages one update for snapSend: read apart, a snapshot
// taken while a callback ran between them counted the request and not its messages (400
// requests and 399 messages in a run of 400).
type sendRecorder struct {
	mu         sync.Mutex
	lat        Histogram // request round trip of successful requests, ns
	msgs       atomic.Uint64
	bytes      atomic.Uint64
	sendFailed atomic.Uint64 // the request failed on this side: transport, timeout, closed
	respFailed atomic.Uint64 // the broker answered with an error
	firstErr   atomic.Pointer[string]
}

func (r *sendRecorder) done(t0 time.Time, err error, msgs, bytes int) {
	if err != nil {
		r.failed(err)
		return
	}
	d := int64(time.Since(t0))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat.Record(d)
	r.msgs.Add(uint64(msgs))
	r.bytes.Add(uint64(bytes))
}

func (r *sendRecorder) failed(err error) {
	msg := err.Error()
	r.firstErr.CompareAndSwap(nil, &msg)
	var re *client.ResponseError
	if errors.As(err, &re) {
		r.respFailed.Add(1)
	} else {
		r.sendFailed.Add(1)
	}
}

// sendSnap is the sum of the recorders at one moment.
type sendSnap struct {
	lat                    HistSnapshot
	msgs, bytes            uint64
	sendFailed, respFailed uint64
	cpu                    cpuSample
}

func snapSend(recs []*sendRecorder, cpu cpuSampler) sendSnap {
	var s sendSnap
	var h HistSnapshot
	for _, r := range recs {
		r.mu.Lock()
		r.lat.Snapshot(&h)
		s.msgs += r.msgs.Load()
		s.bytes += r.bytes.Load()
		r.mu.Unlock()
		s.lat.Add(&h)
		s.sendFailed += r.sendFailed.Load()
		s.respFailed += r.respFailed.Load()
	}
	s.cpu = cpu.sample()
	return s
}

// sendInterval is what happened between two snapshots.
type sendInterval struct {
	Seconds                float64
	Msgs, Bytes            uint64
	SendFailed, RespFailed uint64
	Lat                    HistSnapshot
	CPU                    cpuDelta
}

func sendBetween(a, b sendSnap) sendInterval {
	return sendInterval{
		Seconds:    b.cpu.at.Sub(a.cpu.at).Seconds(),
		Msgs:       b.msgs - a.msgs,
		Bytes:      b.bytes - a.bytes,
		SendFailed: b.sendFailed - a.sendFailed,
		RespFailed: b.respFailed - a.respFailed,
		Lat:        b.lat.Since(&a.lat),
		CPU:        cpuBetween(a.cpu, b.cpu, b.msgs-a.msgs),
	}
}

func (iv sendInterval) tps() float64 { return rate(iv.Msgs, iv.Seconds) }

func rate(n uint64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

// sender is one producer and its loop.
type sender struct {
	p      *producer.Producer
	rec    *sendRecorder
	msgs   []*message.Message // the batch (or the single message) sent again and again
	single *message.Message
	bytes  int
	stop   *atomic.Bool
	budget *atomic.Int64 // nil: unlimited
	free   chan *slot    // async mode: the window
}

// slot is one in-flight asynchronous request; its callback is bound once, so a send allocates
// nothing here.
type slot struct {
	s  *sender
	t0 time.Time
	cb producer.Callback
}

func (sl *slot) done(_ producer.SendResult, err error) {
	sl.s.rec.done(sl.t0, err, len(sl.s.msgs), sl.s.bytes)
	sl.s.free <- sl
}

// claim takes room for one request from the message budget.
func (s *sender) claim() bool {
	if s.stop.Load() {
		return false
	}
	if s.budget == nil {
		return true
	}
	return s.budget.Add(-int64(len(s.msgs))) >= 0
}

func (s *sender) send(ctx context.Context) error {
	if len(s.msgs) > 1 {
		_, err := s.p.SendBatch(ctx, s.msgs)
		return err
	}
	_, err := s.p.Send(ctx, s.single)
	return err
}

func (s *sender) runSync(ctx context.Context) {
	for s.claim() {
		t0 := time.Now()
		s.rec.done(t0, s.send(ctx), len(s.msgs), s.bytes)
	}
}

func (s *sender) runAsync(ctx context.Context, window int) {
	s.free = make(chan *slot, window)
	for range window {
		sl := &slot{s: s}
		sl.cb = sl.done
		s.free <- sl
	}
	for s.claim() {
		sl := <-s.free
		sl.t0 = time.Now()
		var err error
		if len(s.msgs) > 1 {
			err = s.p.SendBatchAsync(ctx, s.msgs, sl.cb)
		} else {
			err = s.p.SendAsync(ctx, s.single, sl.cb)
		}
		if err != nil {
			s.rec.failed(err)
			s.free <- sl
		}
	}
	for range window { // every callback has run
		<-s.free
	}
}

// runProduce runs the producers, prints a progress line every opts.Report to out, and returns the
// summary of the measured part (after the warm-up).
func runProduce(ctx context.Context, o ProduceOptions, out io.Writer) (*Result, error) {
	if err := createTopic(ctx, o.NameServers, o.Topic, o.Queues); err != nil {
		return nil, err
	}
	body := make([]byte, o.Size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	var stop atomic.Bool
	var budget *atomic.Int64
	if o.Messages > 0 {
		budget = new(atomic.Int64)
		budget.Store(o.Messages)
	}
	senders := make([]*sender, o.Producers)
	recs := make([]*sendRecorder, o.Producers)
	defer func() {
		stop.Store(true)
		for _, s := range senders {
			if s != nil {
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = s.p.Shutdown(sctx)
				cancel()
			}
		}
	}()
	for i := range senders {
		p, err := producer.New(producer.Options{
			NameServers: o.NameServers, InstanceName: instanceName("p", i), Group: o.Group,
			MaxAttempts: 1, CompressOver: -1, MaxInflight: o.Window,
		})
		if err != nil {
			return nil, err
		}
		s := &sender{p: p, rec: new(sendRecorder), stop: &stop, budget: budget, bytes: o.Size * o.Batch}
		for range o.Batch {
			s.msgs = append(s.msgs, &message.Message{Topic: o.Topic, Body: body})
		}
		s.single = s.msgs[0]
		senders[i], recs[i] = s, s.rec
	}
	// One send per producer before the clock starts: dial, route and first-use costs.
	for _, s := range senders {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := s.p.Send(sctx, s.single)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("first send: %w", err)
		}
	}

	cpu := cpuSampler{brokerPID: o.BrokerPID}
	fmt.Fprintf(out, "rocketgo bench produce: topic %s, %d-byte bodies, %d producer(s), %s, warm-up %s, measuring %s\n",
		o.Topic, o.Size, o.Producers, o.mode(), o.Warmup, describeDuration(o.Duration, o.Messages))
	var wg sync.WaitGroup
	for _, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o.Window > 1 {
				s.runAsync(context.Background(), o.Window)
			} else {
				s.runSync(context.Background())
			}
		}()
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()

	snap := func() sendSnap { return snapSend(recs, cpu) }
	warm := make(chan struct{})
	warmTimer := time.AfterFunc(o.Warmup, func() { close(warm) })
	defer warmTimer.Stop()
	base, last, ok := measure(ctx, warm, o.Warmup+time.Hour, snap, o.Duration, o.Report, finished, snap,
		func(a, b sendSnap) { fmt.Fprintln(out, formatSendLine(b.cpu.at, sendBetween(a, b))) })
	stop.Store(true)
	select { // senders finish their requests in flight, each bounded by the send timeout
	case <-finished:
	case <-time.After(15 * time.Second):
	}
	if !ok {
		return nil, ctx.Err()
	}
	total := sendBetween(base, last)
	res := o.result(total)
	for _, r := range recs {
		if e := r.firstErr.Load(); e != nil {
			res.FirstError = *e
			break
		}
	}
	fmt.Fprint(out, formatSendSummary(res, total))
	return res, nil
}

// measure runs the reporting clock. It waits for start (the end of the warm-up, or the first
// message), takes the base snapshot with base, then one snapshot every report (calling line with
// the previous and the new one) until duration has passed, finished is closed or ctx ends, and
// returns the base and the last snapshot. ok is false when ctx ended, or startTimeout passed,
// before start.
func measure[S any](ctx context.Context, start <-chan struct{}, startTimeout time.Duration, base func() S,
	duration, report time.Duration, finished <-chan struct{}, snap func() S, line func(a, b S)) (first, last S, ok bool) {
	wait := time.NewTimer(startTimeout)
	select {
	case <-start:
		wait.Stop()
	case <-wait.C:
		return first, last, false
	case <-ctx.Done():
		wait.Stop()
		return first, last, false
	}
	first = base()
	prev := first
	end := time.NewTimer(duration)
	defer end.Stop()
	tick := time.NewTicker(report)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			cur := snap()
			line(prev, cur)
			prev = cur
		case <-end.C:
			return first, snap(), true
		case <-finished:
			return first, snap(), true
		case <-ctx.Done():
			return first, snap(), true
		}
	}
}

func describeDuration(d time.Duration, msgs int64) string {
	if msgs > 0 {
		if d >= 24*time.Hour {
			return fmt.Sprintf("until %d messages are sent", msgs)
		}
		return fmt.Sprintf("until %d messages are sent or %s", msgs, d)
	}
	return d.String()
}

// createTopic creates topic with queues read and write queues unless the name servers already
// route it (an existing topic is left as it is).
func createTopic(ctx context.Context, ns []string, topic string, queues int) error {
	a, err := admin.New(admin.Options{NameServers: ns})
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = a.TopicRoute(cctx, topic)
	if err == nil {
		return nil
	}
	if !errors.Is(err, admin.ErrTopicNotExist) {
		return fmt.Errorf("looking up topic %s: %w", topic, err)
	}
	if err := a.CreateTopic(cctx, admin.TopicConfig{Name: topic, ReadQueueNums: queues, WriteQueueNums: queues}); err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	return nil
}

func (o *ProduceOptions) result(iv sendInterval) *Result {
	return &Result{
		Label: o.Label, Kind: "produce", Topic: o.Topic, Size: o.Size,
		Producers: o.Producers, Window: o.Window, Batch: o.Batch,
		Seconds: iv.Seconds, Messages: iv.Msgs, Requests: iv.Lat.N, TPS: iv.tps(), MBps: rate(iv.Bytes, iv.Seconds) / 1e6,
		SendFailed: iv.SendFailed, ResponseFailed: iv.RespFailed,
		Latency:           percentiles(&iv.Lat),
		BrokerCPUUsPerMsg: iv.CPU.BrokerUsPerMsg, BrokerCores: iv.CPU.BrokerCores, ClientCores: iv.CPU.ClientCores,
	}
}
