package mmap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

// groupAppend appends each batch from its own goroutine and has them stored as one group.
func groupAppend(t *testing.T, s *Store, batches [][]message.Message) ([][]storage.AppendResult, []error) {
	t.Helper()
	wait := queueGroup(t, s, batches)
	s.pass(nil) // stores them all as one group, then gives the turn up
	return wait()
}

// queueGroup starts an append of each batch from its own goroutine and returns once all of them
// are queued behind the combining turn, which it leaves held: the caller stores them as one
// group (s.pass), then collects the outcomes with wait.
func queueGroup(t *testing.T, s *Store, batches [][]message.Message) (wait func() ([][]storage.AppendResult, []error)) {
	t.Helper()
	c := &s.comb
	c.turn.Lock()
	res, errs := make([][]storage.AppendResult, len(batches)), make([]error, len(batches))
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = s.Append(context.Background(), b, nil)
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		n := len(c.queued)
		c.mu.Unlock()
		if n == len(batches) {
			break
		}
		if time.Now().After(deadline) {
			c.turn.Unlock()
			t.Fatalf("%d of %d batches queued", n, len(batches))
		}
	}
	return func() ([][]storage.AppendResult, []error) {
		wg.Wait()
		return res, errs
	}
}

// A group of batches stored in one pass crosses segment ends: every record lies in one segment,
// gets its own offsets, consume-queue unit and key-index entries, and all of it survives a
// clean restart.
func TestCombinedGroupCrossesSegmentEnds(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, stop := start(t, cfg)
	var batches [][]message.Message
	size := 0
	for i := 0; size < 3*testSegment; i++ {
		var b []message.Message
		for j := range 1 + i%9 {
			body := strings.Repeat(string(rune('a'+i%26)), 300+(i*j*97)%2800)
			m := storagetest.Msg("TopicG", int32(i%3), fmt.Sprintf("%d-%d|%s", i, j, body), fmt.Sprint("tag", j%2))
			m.SetProperty(message.PropertyKeys, fmt.Sprintf("key-%d-%d", i, j))
			b = append(b, m)
			size += len(m.Body) + 200
		}
		batches = append(batches, b)
	}
	res, errs := groupAppend(t, s, batches)
	var all storagetest.Appended
	for i := range batches {
		if errs[i] != nil {
			t.Fatalf("batch %d: %v", i, errs[i])
		}
		all.Msgs = append(all.Msgs, batches[i]...)
		all.Results = append(all.Results, res[i]...)
	}
	segEnds := 0
	for _, r := range all.Results {
		if r.PhysicalOffset/testSegment != (r.PhysicalOffset+int64(r.Size)-1)/testSegment {
			t.Fatalf("record at %d (%d bytes) spans a segment end", r.PhysicalOffset, r.Size)
		}
		if r.PhysicalOffset%testSegment == 0 && r.PhysicalOffset > 0 {
			segEnds++
		}
	}
	if segEnds < 2 {
		t.Fatalf("the group began %d segments, want at least 2", segEnds)
	}
	check := func(s *Store) {
		storagetest.Verify(t, s, all)
		for i, m := range all.Msgs {
			storagetest.ExpectHits(t, s, "TopicG", m.Properties[message.PropertyKeys], 4, all.Results[i])
		}
	}
	check(s)
	stop()
	s2, _ := start(t, cfg)
	check(s2)
}

// Appenders racing for the turn (combining, handing it on, giving it up) each get their batch
// stored exactly once, at offsets nobody else got, with every record where its result says.
func TestCombiningUnderContention(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, _ := start(t, cfg)
	const writers, perWriter = 8, 150
	got := make([]storagetest.Appended, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				var b []message.Message
				for j := range 1 + (w+i)%3 {
					b = append(b, storagetest.Msg("TopicK", int32(w%4), fmt.Sprintf("w%d-%d-%d|%s", w, i, j, strings.Repeat("x", (i*31)%700)), "t"))
				}
				res, err := s.Append(context.Background(), b, nil)
				if err != nil {
					t.Errorf("writer %d append %d: %v", w, i, err)
					return
				}
				got[w].Msgs = append(got[w].Msgs, b...)
				got[w].Results = append(got[w].Results, res...)
			}
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for w := range got {
		for _, r := range got[w].Results {
			if seen[r.PhysicalOffset] {
				t.Fatalf("physical offset %d given twice", r.PhysicalOffset)
			}
			seen[r.PhysicalOffset] = true
		}
		storagetest.Verify(t, s, got[w])
	}
}

// A panic in the append path (a bug) leaves neither the append lock nor the combining turn
// held and no owner of its group waiting: the store refuses writes from then on (a restart
// recovers it), later appends fail at once and Stop returns. Before, the next append waited
// for ever (found in review).
func TestPanicInAppendReleasesTheStore(t *testing.T) {
	for _, combined := range []bool{false, true} {
		t.Run(fmt.Sprint("combined=", combined), func(t *testing.T) {
			var boom atomic.Bool
			s := newStore(t, testConfig(t.TempDir()), func(s *Store) {
				s.writeAt = func(f *os.File, b []byte, off int64) (int, error) {
					if boom.Swap(false) {
						panic("write hook")
					}
					return f.WriteAt(b, off)
				}
			})
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			kept := storagetest.Fill(t, s, "TopicP", 1, 3, 50)
			boom.Store(true)
			batches := [][]message.Message{{storagetest.Msg("TopicP", 0, "p0", "")}}
			if combined {
				batches = append(batches, []message.Message{storagetest.Msg("TopicP", 0, "p1", "")})
			}
			var wait func() ([][]storage.AppendResult, []error)
			if combined {
				wait = queueGroup(t, s, batches) // then this goroutine combines them and panics
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Error("the panic did not reach the appender that met it")
					}
				}()
				if combined {
					s.pass(nil)
				} else {
					_, _ = s.Append(context.Background(), batches[0], nil)
				}
			}()
			if combined {
				done := make(chan []error, 1)
				go func() { _, errs := wait(); done <- errs }()
				select {
				case errs := <-done:
					for i, err := range errs {
						if !errors.Is(err, storage.ErrUnavailable) {
							t.Errorf("batch %d of the group: %v, want ErrUnavailable", i, err)
						}
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the group's appenders were left waiting")
				}
			}
			after := make(chan error, 2)
			go func() {
				_, err := s.Append(context.Background(), batches[0], nil)
				after <- err
				after <- s.Stop(context.Background())
			}()
			for _, what := range []string{"append after the panic", "stop"} {
				select {
				case err := <-after:
					if what == "stop" && err != nil || what != "stop" && !errors.Is(err, storage.ErrUnavailable) {
						t.Fatalf("%s: %v", what, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s never returned", what)
				}
			}
			s2, _ := start(t, testConfig(s.cfg.Dir))
			storagetest.Verify(t, s2, kept)
		})
	}
}
