package mmap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// The crash test runs the store in a child process (this test binary again, running
// TestCrashHelperProcess) that appends with sync flush from several goroutines and reports
// every acknowledged message on a pipe, and kills it with SIGKILL at random moments.
const (
	crashDirEnv  = "ROCKETGO_CRASH_CHILD_DIR"
	crashSeedEnv = "ROCKETGO_CRASH_CHILD_SEED"
	crashRounds  = 20
	ackSize      = 8 + 8 + 4 + 4 + 4 + 8 // phy, queue offset, size, queue id, topic index, body hash
)

var crashTopics = []string{"CrashA", "CrashB", "CrashC"}

func crashConfig(dir string) Config {
	cfg := testConfig(dir)
	cfg.SegmentSize = 256 << 10
	cfg.Flush = FlushSync
	return cfg
}

// crashAck is one acknowledged message as the child reported it.
type crashAck struct {
	phy, queueOffset int64
	size             int32
	queueID          int32
	topic            string
	bodyHash         uint64
}

func (a crashAck) encode(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(a.phy))
	b = binary.BigEndian.AppendUint64(b, uint64(a.queueOffset))
	b = binary.BigEndian.AppendUint32(b, uint32(a.size))
	b = binary.BigEndian.AppendUint32(b, uint32(a.queueID))
	for i, t := range crashTopics {
		if t == a.topic {
			b = binary.BigEndian.AppendUint32(b, uint32(i))
		}
	}
	return binary.BigEndian.AppendUint64(b, a.bodyHash)
}

func decodeAck(b []byte) crashAck {
	return crashAck{
		phy:         int64(binary.BigEndian.Uint64(b)),
		queueOffset: int64(binary.BigEndian.Uint64(b[8:])),
		size:        int32(binary.BigEndian.Uint32(b[16:])),
		queueID:     int32(binary.BigEndian.Uint32(b[20:])),
		topic:       crashTopics[binary.BigEndian.Uint32(b[24:])%uint32(len(crashTopics))],
		bodyHash:    binary.BigEndian.Uint64(b[28:]),
	}
}

func bodyHash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// TestCrashHelperProcess is the child of TestCrashKill; it does nothing in a normal run.
func TestCrashHelperProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child process of TestCrashKill")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	acks := os.NewFile(3, "acks")
	s, err := New(crashConfig(dir), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "child: start:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	for w := range 4 {
		go func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			var buf []byte
			for i := 0; ; i++ {
				batch := make([]message.Message, 1+rng.IntN(4))
				for j := range batch {
					var body []byte
					if rng.IntN(20) == 0 {
						body = make([]byte, 20_000+rng.IntN(40_000)) // rolls segments often
					} else {
						body = make([]byte, rng.IntN(3000))
					}
					for k := range body {
						body[k] = byte(rng.Uint32())
					}
					batch[j] = storagetest.Msg(crashTopics[rng.IntN(len(crashTopics))], int32(rng.IntN(3)), "", "")
					batch[j].Body = body
				}
				res, err := s.Append(context.Background(), batch, nil)
				if errors.Is(err, storage.ErrFlushTimeout) {
					continue // stored but not acknowledged: a slow disk, not a failure
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "child: append:", err)
					os.Exit(4)
				}
				buf = buf[:0]
				for j, r := range res {
					buf = crashAck{phy: r.PhysicalOffset, queueOffset: r.QueueOffset, size: r.Size, queueID: batch[j].QueueID,
						topic: batch[j].Topic, bodyHash: bodyHash(batch[j].Body)}.encode(buf)
				}
				mu.Lock()
				_, err = acks.Write(buf) // one write per batch: a whole batch or nothing reaches the parent
				mu.Unlock()
				if err != nil {
					os.Exit(5)
				}
			}
		}()
	}
	select {} // until killed
}

// TestCrashKill kills a child appending with sync flush 20 times at random moments. After each
// kill the store is recovered, in place or on a copy (so the next child also recovers a crashed
// store, and may be killed while it does), and every message acknowledged so far must be read
// back intact, and every queue must read back only records that verify.
func TestCrashKill(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	seed := testSeed(t, "ROCKETGO_CRASH_SEED")
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	var all []crashAck
	started := time.Now()
	for round := range crashRounds {
		acks, out := crashRound(t, dir, seed+uint64(round), rng)
		all = append(all, acks...)
		inPlace := rng.IntN(2) == 0
		checkDir := dir
		if !inPlace {
			checkDir = t.TempDir()
			copyDir(t, dir, checkDir)
		}
		n, st := verifyCrashed(t, checkDir, all)
		where := "on a copy"
		if inPlace {
			where = "in place"
		}
		t.Logf("round %d: %d acknowledged (%d in all); recovered %s in %v: %d bytes verified, %d torn bytes cut, %d units rebuilt; %d records read back%s",
			round, len(acks), len(all), where, st.LastRecoveryDuration.Round(time.Microsecond), st.RecoveryScannedBytes,
			st.TornTailBytesCut, st.UnitsRebuilt, n, out)
	}
	t.Logf("%d rounds in %v", crashRounds, time.Since(started).Round(time.Millisecond))
}

// crashRound runs one child until it has acknowledged a random number of messages (or at once)
// and kills it; it returns the acknowledgements the child made before it died.
func crashRound(t *testing.T, dir string, seed uint64, rng *rand.Rand) ([]crashAck, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashSeedEnv+"="+strconv.FormatUint(seed, 10))
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	want := 0 // kill at once, maybe during recovery
	if rng.IntN(5) != 0 {
		want = 1 + rng.IntN(150)
	}
	reached := make(chan struct{})
	result := make(chan []crashAck, 1)
	go func() {
		var acks []crashAck
		buf := make([]byte, ackSize)
		for {
			if _, err := io.ReadFull(r, buf); err != nil {
				// EOF: the child is dead and everything it wrote is read.
				result <- acks
				return
			}
			acks = append(acks, decodeAck(buf))
			if len(acks) == want {
				close(reached)
			}
		}
	}()
	if want > 0 {
		select {
		case <-reached:
		case acks := <-result:
			_ = cmd.Wait()
			t.Fatalf("the child stopped after %d acknowledgements\n%s", len(acks), stderr.String())
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the child acknowledged fewer than %d messages in 30 s\n%s", want, stderr.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	acks := <-result
	if bytes.Contains(stderr.Bytes(), []byte("DATA RACE")) {
		t.Fatalf("the child found a data race:\n%s", stderr.String())
	}
	out := ""
	if stderr.Len() > 0 {
		out = "; child: " + stderr.String()
	}
	return acks, out
}

// verifyCrashed recovers the store in dir and checks every acknowledged message and queue.
func verifyCrashed(t *testing.T, dir string, acks []crashAck) (int, storage.Stats) {
	t.Helper()
	s, err := New(crashConfig(dir), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("recovery after a kill: %v", err)
	}
	defer func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	ctx := context.Background()
	for _, a := range acks {
		m, err := s.Message(ctx, a.phy)
		if err != nil {
			t.Fatalf("acknowledged message at %d: %v", a.phy, err)
		}
		if m.Topic != a.topic || m.QueueID != a.queueID || m.QueueOffset != a.queueOffset || m.StoreSize != a.size || bodyHash(m.Body) != a.bodyHash {
			t.Fatalf("acknowledged message at %d came back as %s/%d offset %d, %d bytes; want %+v", a.phy, m.Topic, m.QueueID, m.QueueOffset, m.StoreSize, a)
		}
		q := topic.QueueRef{Topic: a.topic, QueueID: a.queueID}
		u, err := s.Lookup(ctx, q, a.queueOffset, 1, nil)
		if err != nil || len(u) != 1 || u[0].PhyOffset != a.phy || u[0].Size != a.size {
			t.Fatalf("%v unit %d = %v, %v; want the acknowledged message at %d", q, a.queueOffset, u, err, a.phy)
		}
	}
	var queues []topic.QueueRef
	for _, tp := range crashTopics {
		for id := range int32(3) {
			queues = append(queues, topic.QueueRef{Topic: tp, QueueID: id})
		}
	}
	return storagetest.VerifyQueues(t, s, queues), s.Stats()
}
