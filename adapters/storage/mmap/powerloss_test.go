package mmap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// diskModel stands between the store and its fsyncs (the store's syncFn) and remembers what
// each file held at its last fsync: what a power loss cannot take. The fsyncs themselves are
// skipped; nothing here needs the real disk.
type diskModel struct {
	mu      sync.Mutex
	durable map[string][]byte // path -> contents at the last fsync
	off     bool              // the power is off: fsyncs never return
	dead    chan struct{}     // closed to let blocked fsyncs fail, so the store can stop
}

func newDiskModel() *diskModel {
	return &diskModel{durable: map[string][]byte{}, dead: make(chan struct{})}
}

var errPowerOff = errors.New("the power is off")

// sync is the store's syncFn.
func (d *diskModel) sync(f *os.File) error {
	d.mu.Lock()
	if d.off {
		d.mu.Unlock()
		<-d.dead
		return errPowerOff
	}
	defer d.mu.Unlock()
	b, err := readAllAt(f)
	if err != nil {
		return err
	}
	d.durable[f.Name()] = b
	return nil
}

func readAllAt(f *os.File) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

// write is the store's writeAt for the commit log: it excludes fsyncs, so an fsync never sees
// half of a batch (the kernel could, but the garbage mode would then be harsher than any
// disk: it would fill the rest of a record whose start is on disk with random bytes).
func (d *diskModel) write(f *os.File, b []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return f.WriteAt(b, off)
}

// durableHas reports whether the last fsync of path had b at off.
func (d *diskModel) durableHas(path string, off int64, b []byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	img := d.durable[path]
	return off+int64(len(b)) <= int64(len(img)) && bytes.Equal(img[off:off+int64(len(b))], b)
}

// powerOff makes every later fsync hang, as if the machine had died when it was called.
func (d *diskModel) powerOff() {
	d.mu.Lock()
	d.off = true
	d.mu.Unlock()
}

// Ways a power loss treats a 512-byte sector written since its file's last fsync.
const (
	lossDrop    = "drop"    // the sector is as of the last fsync (zeros if it was never synced)
	lossTorn    = "torn"    // each sector independently reached the disk or not
	lossGarbage = "garbage" // in the commit log, unsynced bytes are garbage; elsewhere drop
)

// image writes to dst what the disk holds after the power loss: for every file of src, the
// sectors that did not change since its last fsync, and for the others what mode says.
func (d *diskModel) image(t *testing.T, src, dst, mode string, rng *rand.Rand) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	const sector = 512
	err := filepath.WalkDir(src, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		cur, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		old := d.durable[path]
		out := make([]byte, len(cur))
		isLog := strings.Contains(path, string(filepath.Separator)+"commitlog"+string(filepath.Separator))
		for i := 0; i < len(cur); i += sector {
			end := min(i+sector, len(cur))
			was := make([]byte, end-i)
			if i < len(old) {
				copy(was, old[i:min(end, len(old))])
			}
			now := cur[i:end]
			switch {
			case bytes.Equal(was, now), mode == lossTorn && rng.IntN(2) == 0:
				copy(out[i:end], now)
			case mode == lossGarbage && isLog:
				// Bytes the last fsync already had stay (the log only appends); the rest is
				// garbage.
				for j := i; j < end; j++ {
					if out[j] = now[j-i]; now[j-i] != was[j-i] {
						out[j] = byte(rng.Uint32())
					}
				}
			default:
				copy(out[i:end], was)
			}
		}
		return os.WriteFile(target, out, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// acked is a message the store confirmed, with what it assigned.
type acked struct {
	msg message.Message
	res storage.AppendResult
}

var powerQueues = []topic.QueueRef{
	{Topic: "PowerA", QueueID: 0}, {Topic: "PowerA", QueueID: 1}, {Topic: "PowerB", QueueID: 0}, {Topic: "PowerB", QueueID: 1},
}

// TestPowerLoss appends from concurrent writers, cuts the power at a random moment (fsyncs
// stop returning; the disk keeps only what was synced, plus, depending on the mode, a random
// part or garbage for the rest) and recovers the disk image. With sync flush no acknowledged
// message is lost; with async flush the lost ones are a tail of the log past the flushed
// watermark, none in the middle. Every queue reads back only records that verify.
func TestPowerLoss(t *testing.T) {
	seed := testSeed(t, "ROCKETGO_POWERLOSS_SEED")
	for _, flush := range []string{FlushSync, FlushAsync} {
		for _, mode := range []string{lossDrop, lossTorn, lossGarbage} {
			for round := range 3 {
				t.Run(fmt.Sprintf("%s/%s/%d", flush, mode, round), func(t *testing.T) {
					powerLossRound(t, flush, mode, seed+uint64(round)*7919+uint64(len(flush)*31+len(mode)))
				})
			}
		}
	}
}

func powerLossRound(t *testing.T, flush, mode string, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	cfg := testConfig(t.TempDir())
	cfg.Flush = flush
	cfg.FlushDirtyThreshold = int64(rng.IntN(8 << 10))
	cfg.FullFlushInterval = time.Duration(20+rng.IntN(100)) * time.Millisecond
	disk := newDiskModel()
	s, err := New(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	s.syncFn = disk.sync
	s.writeAt = disk.write
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		acks []acked
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	for w := range 4 {
		wrng := rand.New(rand.NewPCG(seed, uint64(w)+2))
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				batch := make([]message.Message, 1+wrng.IntN(3))
				for j := range batch {
					q := powerQueues[wrng.IntN(len(powerQueues))]
					body := strings.Repeat(fmt.Sprintf("w%d-%d-%d|", w, i, j), 1+wrng.IntN(60))
					batch[j] = storagetest.Msg(q.Topic, q.QueueID, body, "")
				}
				res, err := s.Append(context.Background(), batch, nil)
				if err != nil {
					return // the power is off: sync appends time out or fail from here on
				}
				if flush == FlushSync {
					// Acknowledged means on disk: the last fsync of its segment holds it.
					for _, r := range res {
						seg := filepath.Join(cfg.Dir, "commitlog", fileName(r.PhysicalOffset-r.PhysicalOffset%cfg.SegmentSize))
						b, err := s.ReadRecord(context.Background(), r.PhysicalOffset, r.Size, nil)
						if err != nil || !disk.durableHas(seg, r.PhysicalOffset%cfg.SegmentSize, b) {
							t.Errorf("acknowledged record at %d is not in the last fsync of its segment (%v)", r.PhysicalOffset, err)
						}
					}
				}
				mu.Lock()
				for j := range batch {
					acks = append(acks, acked{batch[j], res[j]})
				}
				mu.Unlock()
			}
		})
	}
	// Cut the power after a random number of acknowledgements.
	want := 50 + rng.IntN(400)
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d acknowledgements in 20 s", n)
		}
		time.Sleep(100 * time.Microsecond)
	}
	disk.powerOff()
	mu.Lock()
	before := slices.Clone(acks) // confirmed before the power went
	mu.Unlock()
	watermark := s.Stats().DurableOffset
	crashed := t.TempDir()
	disk.image(t, cfg.Dir, crashed, mode, rng)
	close(stop)
	close(disk.dead)
	wg.Wait()
	_ = s.Stop(context.Background())

	rcfg := cfg
	rcfg.Dir = crashed
	s2, _ := start(t, rcfg)
	st := s2.Stats()
	slices.SortFunc(before, func(a, b acked) int { return int(a.res.PhysicalOffset - b.res.PhysicalOffset) })
	ctx := context.Background()
	lost := -1
	for i, a := range before {
		got, err := s2.Message(ctx, a.res.PhysicalOffset)
		intact := err == nil && reflect.DeepEqual(got, storagetest.Expect(a.msg, a.res))
		switch {
		case !intact && flush == FlushSync:
			t.Fatalf("seed %d: acknowledged message at %d lost under sync flush: %v (recovered log end %d)", seed, a.res.PhysicalOffset, err, st.LogEnd)
		case !intact && a.res.PhysicalOffset+int64(a.res.Size) <= watermark:
			t.Fatalf("seed %d: message at %d below the flushed watermark %d lost: %v", seed, a.res.PhysicalOffset, watermark, err)
		case !intact && lost < 0:
			lost = i
			t.Logf("first lost: the message at %d (%v)", a.res.PhysicalOffset, err)
		case intact && lost >= 0:
			t.Fatalf("seed %d: message at %d survived but the one at %d before it was lost: a loss in the middle", seed, a.res.PhysicalOffset, before[lost].res.PhysicalOffset)
		}
	}
	read := storagetest.VerifyQueues(t, s2, powerQueues)
	survived := len(before)
	if lost >= 0 {
		survived = lost
	}
	t.Logf("seed %d: %d acknowledged, %d lost (watermark %d, recovered end %d, torn %d bytes, %d records read back)",
		seed, len(before), len(before)-survived, watermark, st.LogEnd, st.TornTailBytesCut, read)
	// The recovered store takes new messages and survives a clean restart.
	storagetest.Fill(t, s2, "PowerA", 2, 20, 30)
}
