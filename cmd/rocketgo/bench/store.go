package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/adapters/storage/mmap"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// `rocketgo bench store`: the mmap store alone, in process, on the file system under --dir,
// beside the raw bandwidth of the same disk measured in the same run: the bytes the store wrote,
// written again to a plain file in 64 KiB write(2) calls, without and with an fdatasync after
// each. Every phase starts with the dirty pages of the one before written back. Targets (the storage issue): async append >= 0.8 x raw buffered write; sync flush with
// 64 writers >= 0.5 x raw write+fdatasync.

const (
	storeAsyncTarget = 0.8
	storeSyncTarget  = 0.5
	storeSyncWriters = 64
	rawChunk         = 64 << 10
	// A phase's progress is marked every rawMarkEvery bytes of a raw write (a few times a
	// second at disk speed, not enough to cost it anything) and every paceTick of the store's.
	rawMarkEvery = 64 << 20
	paceTick     = 25 * time.Millisecond
)

type storeOpts struct {
	Dir         string
	Size        int
	Batch       int
	Writers     int
	Flush       string
	Duration    time.Duration
	MiB         int64
	SegmentMiB  int64
	WarmMiB     int64
	DirtyKiB    int64
	Keep        bool
	RawDuration time.Duration
	Rounds      int
	Floor       bool
}

func parseStore(args []string, stdout, stderr io.Writer) (*storeOpts, int) {
	o := &storeOpts{}
	fs := pflag.NewFlagSet("store", pflag.ContinueOnError)
	fs.StringVar(&o.Dir, "dir", ".", "directory on the file system under test: the store and the raw file go in a temporary directory under it")
	fs.IntVar(&o.Size, "size", 1024, "message body bytes")
	fs.IntVar(&o.Batch, "batch", 1, "messages per Append")
	fs.IntVar(&o.Writers, "writers", 1, "concurrent appenders")
	fs.StringVar(&o.Flush, "flush", mmap.FlushAsync, "store flush: async or sync")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to append")
	fs.Int64Var(&o.MiB, "mib", 0, "stop after appending this many MiB of message bodies (0: --duration only)")
	fs.Int64Var(&o.SegmentMiB, "segment-mib", 1024, "commit-log segment size in MiB")
	fs.Int64Var(&o.WarmMiB, "warm-mib", mmap.Defaults().WarmAhead>>20, "MiB before the end of a segment at which the next one is made in the background (storage.mmap.warmAhead; 0: off)")
	fs.Int64Var(&o.DirtyKiB, "dirty-kib", mmap.Defaults().FlushDirtyThreshold>>10, "KiB of unflushed log that wake the async flusher before its tick (storage.mmap.flushDirtyThreshold)")
	fs.DurationVar(&o.RawDuration, "raw-duration", 0, "cap on each raw measurement (default: --duration)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory")
	fs.BoolVar(&o.Floor, "floor", false, "also measure the floor of an async append on this machine: each body copied into a record and checksummed, one pwrite per batch, flushed as the store flushes (no properties, headers or indexes)")
	fs.IntVar(&o.Rounds, "rounds", 3, "rounds of the three phases (store, raw, raw with fdatasync); each ratio is taken within a round and the median round's is the verdict")
	if ok, code := parseFlags(fs, "store", args, stdout, stderr); !ok {
		return nil, code
	}
	switch {
	case o.Size <= 0:
		return nil, usageError(stderr, "store", errors.New("--size must be positive"))
	case o.Batch <= 0:
		return nil, usageError(stderr, "store", errors.New("--batch must be positive"))
	case o.Writers <= 0:
		return nil, usageError(stderr, "store", errors.New("--writers must be positive"))
	case o.Flush != mmap.FlushAsync && o.Flush != mmap.FlushSync:
		return nil, usageError(stderr, "store", fmt.Errorf("--flush must be %s or %s", mmap.FlushAsync, mmap.FlushSync))
	case o.Duration <= 0:
		return nil, usageError(stderr, "store", errors.New("--duration must be positive"))
	case o.MiB < 0:
		return nil, usageError(stderr, "store", errors.New("--mib must not be negative"))
	case o.SegmentMiB <= 0:
		return nil, usageError(stderr, "store", errors.New("--segment-mib must be positive"))
	case o.WarmMiB < 0:
		return nil, usageError(stderr, "store", errors.New("--warm-mib must not be negative"))
	case o.Rounds <= 0:
		return nil, usageError(stderr, "store", errors.New("--rounds must be positive"))
	case o.DirtyKiB < 0:
		return nil, usageError(stderr, "store", errors.New("--dirty-kib must not be negative"))
	case o.Floor && o.Flush != mmap.FlushAsync:
		return nil, usageError(stderr, "store", errors.New("--floor measures the async path: use it with --flush async"))
	case o.RawDuration < 0:
		return nil, usageError(stderr, "store", errors.New("--raw-duration must not be negative"))
	case o.Dir == "":
		return nil, usageError(stderr, "store", errors.New("--dir must not be empty"))
	}
	if o.RawDuration == 0 {
		o.RawDuration = o.Duration
	}
	return o, exitOK
}

// storeResult is one run: its rounds.
type storeResult struct {
	Opts   storeOpts
	Rounds []storeRound
}

// storeRound is the store's figures and the raw ones of the same disk, measured one after the
// other.
type storeRound struct {
	Msgs     int64
	LogBytes int64 // bytes the commit log grew by
	Elapsed  time.Duration
	CPU      time.Duration // this process, during the appends
	Flushes  uint64        // flush rounds (fdatasync passes over the log) during the appends
	Pace     pace          // the log's growth during the appends
	Raw      rawResult     // buffered write(2), 64 KiB
	RawSync  rawResult     // write(2) + fdatasync, 64 KiB
	Floor    rawResult     // copy, CRC and pwrite alone (--floor)
}

type rawResult struct {
	Bytes   int64
	Elapsed time.Duration
	Pace    pace
}

func (r rawResult) mbps() float64 { return mbps(r.Bytes, r.Elapsed) }

func mbps(b int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(b) / 1e6 / d.Seconds()
}

func (r *storeRound) storeMBps() float64 { return mbps(r.LogBytes, r.Elapsed) }

func (r *storeRound) msgsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Msgs) / r.Elapsed.Seconds()
}

func (r *storeRound) cpuPerMsg() float64 {
	if r.Msgs <= 0 {
		return 0
	}
	return float64(r.CPU.Nanoseconds()) / 1e3 / float64(r.Msgs)
}

func (r *storeRound) ratioBuffered() float64 { return ratio(r.storeMBps(), r.Raw.mbps()) }
func (r *storeRound) ratioSync() float64     { return ratio(r.storeMBps(), r.RawSync.mbps()) }
func (r *storeRound) ratioFloor() float64    { return ratio(r.storeMBps(), r.Floor.mbps()) }
func (r *storeRound) floorOfRaw() float64    { return ratio(r.Floor.mbps(), r.Raw.mbps()) }

// median of f over the rounds (the mean of the middle two for an even count).
func (r *storeResult) median(f func(*storeRound) float64) float64 {
	v := make([]float64, len(r.Rounds))
	for i := range r.Rounds {
		v[i] = f(&r.Rounds[i])
	}
	slices.Sort(v)
	switch n := len(v); {
	case n == 0:
		return 0
	case n%2 == 1:
		return v[n/2]
	default:
		return (v[n/2-1] + v[n/2]) / 2
	}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// format prints the report: a line per round when there are several, then the store line, the
// raw lines and the ratios, each the median over the rounds, against the targets.
func (r *storeResult) format(w io.Writer) {
	o := r.Opts
	n := len(r.Rounds)
	if n > 1 {
		for i := range r.Rounds {
			rd := &r.Rounds[i]
			floor := ""
			if o.Floor {
				floor = fmt.Sprintf("; floor %.1f MB/s%s (%.2f of raw)", rd.Floor.mbps(), halvesOf(rd.Floor.Pace), rd.floorOfRaw())
			}
			fmt.Fprintf(w, "round %d: store %.1f MB/s%s, %.0f msgs/s, %.2f µs CPU/msg (%.1f MiB in %v); raw %.1f MB/s%s; raw+fdatasync %.1f MB/s; ratios %.2f, %.2f%s\n",
				i+1, rd.storeMBps(), halvesOf(rd.Pace), rd.msgsPerSec(), rd.cpuPerMsg(), float64(rd.LogBytes)/(1<<20), rd.Elapsed.Round(time.Millisecond),
				rd.Raw.mbps(), halvesOf(rd.Raw.Pace), rd.RawSync.mbps(), rd.ratioBuffered(), rd.ratioSync(), floor)
		}
	}
	of := ""
	if n > 1 {
		of = fmt.Sprintf(", medians of %d rounds", n)
	}
	var msgs, logBytes int64
	var elapsed time.Duration
	var flushes uint64
	for _, rd := range r.Rounds {
		msgs, logBytes, elapsed, flushes = msgs+rd.Msgs, logBytes+rd.LogBytes, elapsed+rd.Elapsed, flushes+rd.Flushes
	}
	fmt.Fprintf(w, "store  flush=%s batch=%d writers=%d size=%d: %.1f MB/s, %.0f msgs/s, %.2f µs CPU/msg (%d msgs, %.1f MiB of log in %v%s)\n",
		o.Flush, o.Batch, o.Writers, o.Size, r.median((*storeRound).storeMBps), r.median((*storeRound).msgsPerSec), r.median((*storeRound).cpuPerMsg),
		msgs, float64(logBytes)/(1<<20), elapsed.Round(time.Millisecond), of)
	if flushes > 0 {
		fmt.Fprintf(w, "flush  %d rounds, %.1f KiB and %.1f msgs per round, %.2f ms apart\n", flushes,
			float64(logBytes)/1024/float64(flushes), float64(msgs)/float64(flushes), elapsed.Seconds()*1e3/float64(flushes))
	}
	fmt.Fprintf(w, "raw    write(2) 64 KiB, no sync:    %.1f MB/s%s\n", r.median(func(rd *storeRound) float64 { return rd.Raw.mbps() }), of)
	fmt.Fprintf(w, "raw    write(2)+fdatasync 64 KiB:   %.1f MB/s%s\n", r.median(func(rd *storeRound) float64 { return rd.RawSync.mbps() }), of)
	ra, rs := r.median((*storeRound).ratioBuffered), r.median((*storeRound).ratioSync)
	caveat := ""
	if n := r.roundsSlowed(); n > 0 {
		caveat = fmt.Sprintf(", but %d of %d rounds had a phase that slowed (notes below)", n, len(r.Rounds))
	}
	fmt.Fprintf(w, "ratio  store / raw buffered:         %.2f%s%s\n", ra, verdict(o.Flush == mmap.FlushAsync, ra, storeAsyncTarget, "async"), caveat)
	fmt.Fprintf(w, "ratio  store / raw write+fdatasync:  %.2f%s\n", rs,
		verdict(o.Flush == mmap.FlushSync && o.Writers == storeSyncWriters, rs, storeSyncTarget, fmt.Sprintf("sync with %d writers", storeSyncWriters)))
	if o.Floor {
		fl := r.median((*storeRound).floorOfRaw)
		below := ""
		if fl < storeAsyncTarget {
			below = fmt.Sprintf(", under the async target of %.2f", storeAsyncTarget)
		}
		fmt.Fprintf(w, "floor  copy+CRC, pwrite per batch:   %.1f MB/s%s: %.2f of raw buffered (one appender's ceiling here%s)\n",
			r.median(func(rd *storeRound) float64 { return rd.Floor.mbps() }), of, fl, below)
		fmt.Fprintf(w, "ratio  store / floor:                %.2f\n", r.median((*storeRound).ratioFloor))
	}
	r.warnSlowed(w)
}

// halvesOf is " (halves X, Y)", the MB/s of p's first and second half, when p can be split,
// else "".
func halvesOf(p pace) string {
	first, second, ok := p.halves()
	if !ok {
		return ""
	}
	return fmt.Sprintf(" (halves %.0f, %.0f)", first, second)
}

// pacedPhase is a phase whose pace the report checks: the store and the buffered raw write,
// the two the async ratio is taken between.
type pacedPhase struct {
	name string
	of   func(*storeRound) pace
}

func pacedPhases() []pacedPhase {
	return []pacedPhase{
		{"store", func(rd *storeRound) pace { return rd.Pace }},
		{"raw write", func(rd *storeRound) pace { return rd.Raw.Pace }},
	}
}

// roundsSlowed counts the rounds in which a paced phase slowed.
func (r *storeResult) roundsSlowed() int {
	n := 0
	for i := range r.Rounds {
		for _, ph := range pacedPhases() {
			if _, ok := ph.of(&r.Rounds[i]).slowed(); ok {
				n++
				break
			}
		}
	}
	return n
}

// warnSlowed says so when a phase ran its second half at less than half the rate of its first
// (pace says why that happens): a ratio against such a phase compares two conditions of the
// machine, not the store and the disk. One note per phase, over the rounds it slowed in.
func (r *storeResult) warnSlowed(w io.Writer) {
	for _, ph := range pacedPhases() {
		var (
			rounds               []string
			after, first, second []float64
		)
		for i := range r.Rounds {
			p := ph.of(&r.Rounds[i])
			at, ok := p.slowed()
			if !ok {
				continue
			}
			f, s, _ := p.halves()
			rounds = append(rounds, strconv.Itoa(i+1))
			after, first, second = append(after, float64(at>>20)), append(first, f), append(second, s)
		}
		if len(rounds) == 0 {
			continue
		}
		word := "round"
		if len(rounds) > 1 {
			word = "rounds"
		}
		fmt.Fprintf(w, "note   the %s slowed within its phase in %s %s: after %s MiB, from %s MB/s in its first half to %s in its second. The machine stopped giving it memory or disk at the same speed, so the ratios of the rounds it slowed in compare two conditions of the machine; --mib under %.0f keeps every phase before that point\n",
			ph.name, word, strings.Join(rounds, ", "), rangeOf(after), rangeOf(first), rangeOf(second), spreadOf(after).Min*r.bodyShare())
	}
}

// bodyShare is the part of the log that is message bodies: --mib counts bodies, the phases
// write whole records.
func (r *storeResult) bodyShare() float64 {
	var bodies, log int64
	for _, rd := range r.Rounds {
		bodies, log = bodies+rd.Msgs*int64(r.Opts.Size), log+rd.LogBytes
	}
	if bodies <= 0 || log <= 0 {
		return 1
	}
	return min(1, float64(bodies)/float64(log))
}

// rangeOf prints the range of vs (non-empty) as "lo" or "lo-hi", rounded.
func rangeOf(vs []float64) string {
	sp := spreadOf(vs)
	lo, hi := fmt.Sprintf("%.0f", sp.Min), fmt.Sprintf("%.0f", sp.Max)
	if lo == hi {
		return lo
	}
	return lo + "-" + hi
}

func verdict(applies bool, got, target float64, what string) string {
	if !applies {
		return ""
	}
	res := "MET"
	if got < target {
		res = "MISSED"
	}
	return fmt.Sprintf("  (target for %s >= %.2f: %s)", what, target, res)
}

func storeMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, code := parseStore(args, stdout, stderr)
	if o == nil {
		return code
	}
	r, err := runStore(ctx, *o)
	if err != nil {
		fmt.Fprintf(stderr, "rocketgo bench store: %v\n", err)
		return exitFailure
	}
	r.format(stdout)
	return exitOK
}

func runStore(ctx context.Context, o storeOpts) (*storeResult, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(o.Dir, "rocketgo-bench-store-")
	if err != nil {
		return nil, err
	}
	if !o.Keep {
		defer os.RemoveAll(tmp)
	}
	r := &storeResult{Opts: o, Rounds: make([]storeRound, o.Rounds)}
	for i := range r.Rounds {
		if err := storeRoundIn(ctx, o, filepath.Join(tmp, strconv.Itoa(i+1)), &r.Rounds[i]); err != nil {
			return nil, fmt.Errorf("round %d: %w", i+1, err)
		}
	}
	return r, nil
}

// storeRoundIn measures one round in dir: the store, then the raw writes of the same bytes.
// Each phase starts from the same state: no dirty pages (settle) and none of the other phases'
// files, so neither the store nor a raw write runs into the kernel's dirty limits or memory
// pressure left by another. Rounds alternate the phases because this machine's page cache
// writes at speeds that drift by 2x and more within minutes: a ratio is only taken between
// phases measured close together, and the median round says more than any one.
func storeRoundIn(ctx context.Context, o storeOpts, dir string, r *storeRound) error {
	store := filepath.Join(dir, "store")
	settle()
	if err := appendPhase(ctx, o, store, r); err != nil {
		return err
	}
	if !o.Keep {
		if err := os.RemoveAll(store); err != nil {
			return err
		}
	}
	raw := filepath.Join(dir, "raw") // dir holds the store's directory: it exists
	var err error
	settle()
	if r.Raw, err = rawWrite(ctx, raw, r.LogBytes, false, o.RawDuration); err != nil {
		return err
	}
	settle()
	if r.RawSync, err = rawWrite(ctx, raw, r.LogBytes, true, o.RawDuration); err != nil {
		return err
	}
	if o.Floor {
		settle()
		if r.Floor, err = floorWrite(ctx, raw, o, r); err != nil {
			return err
		}
	}
	return nil
}

func benchStoreMessage(size int, queue int32) message.Message {
	m := message.Message{
		Topic:         "BenchStore",
		QueueID:       queue,
		Body:          []byte(strings.Repeat("x", size)),
		BornTimestamp: time.Now().UnixMilli(),
		BornHost:      netip.MustParseAddrPort("127.0.0.1:50000"),
		StoreHost:     netip.MustParseAddrPort("127.0.0.1:10911"),
	}
	m.SetProperty(message.PropertyUniqKey, "7F0000010000000000000000000000AB")
	m.SetProperty(message.PropertyTags, "TagA")
	return m
}

// appendPhase opens a store in dir and appends from o.Writers goroutines until o.Duration has
// passed or o.MiB are appended.
func appendPhase(ctx context.Context, o storeOpts, dir string, r *storeRound) error {
	cfg := mmap.Defaults()
	cfg.Dir = dir
	cfg.Flush = o.Flush
	cfg.SegmentSize = o.SegmentMiB << 20
	cfg.WarmAhead = o.WarmMiB << 20
	cfg.FlushDirtyThreshold = o.DirtyKiB << 10
	s, err := mmap.New(cfg, zap.NewNop())
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = s.Stop(context.Background()) }()

	batches := make([][]message.Message, o.Writers)
	for w := range batches {
		batches[w] = make([]message.Message, o.Batch)
		for i := range batches[w] {
			batches[w][i] = benchStoreMessage(o.Size, int32(w%8))
		}
	}
	limit := int64(-1)
	if o.MiB > 0 {
		limit = o.MiB << 20 / int64(o.Size)
	}
	var (
		sent    atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	_, logStart := s.LogBounds()
	flushes0 := s.Stats().Flushes
	cpu0, start := selfCPU(), time.Now()
	timer := time.AfterFunc(o.Duration, func() { stop.Store(true) })
	defer timer.Stop()
	sampled := make(chan struct{})
	go func() { // the log's growth, for the report's halves
		defer close(sampled)
		tick := time.NewTicker(paceTick)
		defer tick.Stop()
		for {
			<-tick.C
			if stop.Load() || ctx.Err() != nil {
				return // the phase's last mark is made when its appends are done
			}
			_, end := s.LogBounds()
			r.Pace.mark(end-logStart, time.Since(start))
		}
	}()
	for w := range batches {
		wg.Add(1)
		go func(msgs []message.Message) {
			defer wg.Done()
			res := make([]storage.AppendResult, 0, len(msgs))
			for !stop.Load() && ctx.Err() == nil {
				var err error
				if res, err = s.Append(ctx, msgs, res[:0]); err != nil {
					errOnce.Do(func() { first = err })
					stop.Store(true)
					return
				}
				if n := sent.Add(int64(len(msgs))); limit >= 0 && n >= limit {
					stop.Store(true)
				}
			}
		}(batches[w])
	}
	wg.Wait()
	r.Elapsed, r.CPU = time.Since(start), selfCPU()-cpu0
	_, logEnd := s.LogBounds()
	r.Msgs, r.LogBytes = sent.Load(), logEnd-logStart
	stop.Store(true)
	<-sampled
	r.Pace.mark(r.LogBytes, r.Elapsed)
	r.Flushes = s.Stats().Flushes - flushes0
	if first != nil {
		return fmt.Errorf("append: %w", first)
	}
	return ctx.Err()
}

// rawWrite writes n bytes to a new file at path in 64 KiB write(2) calls, with an fdatasync
// after each when sync is set, for at most limit, and removes the file.
func rawWrite(ctx context.Context, path string, n int64, sync bool, limit time.Duration) (rawResult, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return rawResult{}, err
	}
	defer os.Remove(path)
	defer f.Close()
	buf := []byte(strings.Repeat("x", rawChunk))
	n = max(n, rawChunk)
	var (
		done int64
		p    pace
	)
	start := time.Now()
	deadline := start.Add(limit)
	for done < n && ctx.Err() == nil {
		c := min(int64(rawChunk), n-done)
		if _, err := f.Write(buf[:c]); err != nil {
			return rawResult{}, err
		}
		if sync {
			if err := fdatasync(f); err != nil {
				return rawResult{}, err
			}
		}
		done += c
		if done%(16*rawChunk) == 0 {
			now := time.Now()
			if done%rawMarkEvery == 0 {
				p.mark(done, now.Sub(start))
			}
			if now.After(deadline) {
				break
			}
		}
	}
	elapsed := time.Since(start)
	p.mark(done, elapsed)
	return rawResult{Bytes: done, Elapsed: elapsed, Pace: p}, ctx.Err()
}

// floorWrite measures what no async append of this record layout can skip, on the bytes the
// store wrote: each body copied into a record of the store's mean record size (behind a gap for
// the header and properties, left as they are) and its CRC32 computed, one pwrite per batch into
// a file with its blocks reserved as the store reserves its log, and an fdatasync from another
// goroutine every 500 ms or o.DirtyKiB, as the async flusher does. For at most o.RawDuration;
// the file is removed.
func floorWrite(ctx context.Context, path string, o storeOpts, r *storeRound) (rawResult, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return rawResult{}, err
	}
	defer os.Remove(path)
	defer f.Close()
	n := max(r.LogBytes, rawChunk)
	if err := reserveFile(f, n); err != nil {
		return rawResult{}, err
	}
	recSize := o.Size
	if r.Msgs > 0 {
		recSize = max(recSize, int(r.LogBytes/r.Msgs))
	}
	gap := recSize - o.Size
	body := []byte(strings.Repeat("x", o.Size))
	buf := make([]byte, o.Batch*recSize)

	kick, stop, flushed := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
	go func() { // the async flusher's part
		tick := time.NewTicker(mmap.Defaults().FlushInterval)
		defer tick.Stop()
		var ferr error
		for {
			select {
			case <-stop:
				flushed <- ferr
				return
			case <-tick.C:
			case <-kick:
			}
			if ferr == nil {
				ferr = fdatasync(f)
			}
		}
	}()
	dirty := o.DirtyKiB << 10
	var (
		done, kicked int64
		sum          uint32
		p            pace
	)
	start := time.Now()
	deadline := start.Add(o.RawDuration)
	for done < n && ctx.Err() == nil {
		recs := min(o.Batch, int((n-done+int64(recSize)-1)/int64(recSize)))
		for i := range recs {
			at := i*recSize + gap
			copy(buf[at:at+o.Size], body)
			sum += crc32.ChecksumIEEE(buf[at : at+o.Size])
		}
		var w int
		if w, err = f.WriteAt(buf[:recs*recSize], done); err != nil {
			break
		}
		done += int64(w)
		if dirty > 0 && done-kicked >= dirty {
			kicked = done
			select {
			case kick <- struct{}{}:
			default:
			}
		}
		if done/rawMarkEvery != (done-int64(w))/rawMarkEvery {
			now := time.Now()
			p.mark(done, now.Sub(start))
			if now.After(deadline) {
				break
			}
		}
	}
	elapsed := time.Since(start)
	close(stop)
	if ferr := <-flushed; err == nil {
		err = ferr
	}
	if err != nil {
		return rawResult{}, err
	}
	_ = sum // the store keeps it in the record; here only its cost counts
	p.mark(done, elapsed)
	return rawResult{Bytes: done, Elapsed: elapsed, Pace: p}, ctx.Err()
}
