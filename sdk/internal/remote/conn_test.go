package remote

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/internal/leaktest"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// A peer that reads nothing: writes pile up to MaxPendingWrite, then senders wait for room within
// their context, and asynchronous calls already queued fail at their deadline.
func TestStuckPeerBlocksWritersWithinTheirContext(t *testing.T) {
	defer leaktest.Check(t)()
	client, server := net.Pipe()
	defer server.Close()
	exec := NewExecutor(1, 16)
	defer exec.Close()
	c := newConn("pipe", client, Options{Executor: exec, MaxPendingWrite: 1024, SweepInterval: 10 * time.Millisecond})
	body := make([]byte, 300)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var cbErrs []error
	queued := 0
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		wg.Add(1)
		err := c.InvokeAsync(ctx, Cmd{wire.NewRequest(wire.SendMessage, nil, body)}, 0, func(_ *wire.Command, err error) {
			mu.Lock()
			cbErrs = append(cbErrs, err)
			mu.Unlock()
			wg.Done()
		})
		if err != nil {
			wg.Done()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("blocked sender: %v", err)
			}
			continue
		}
		queued++
	}
	if queued == 20 || queued == 0 {
		t.Fatalf("%d of 20 queued; want some queued and some refused for room", queued)
	}
	wg.Wait()
	for _, err := range cbErrs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("queued call: %v", err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Invoke(context.Background(), Cmd{wire.NewRequest(wire.SendMessage, nil, nil)}); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func TestExecutorRunsEverythingAndOverflowsIntoGoroutines(t *testing.T) {
	defer leaktest.Check(t)()
	e := NewExecutor(1, 1)
	block := make(chan struct{})
	var wg sync.WaitGroup
	var n int
	var mu sync.Mutex
	for i := range 50 {
		wg.Add(1)
		e.submit(funcTask(func() {
			if i == 0 {
				<-block // the worker is busy; the queue fills; the rest overflow
			}
			mu.Lock()
			n++
			mu.Unlock()
			wg.Done()
		}))
	}
	close(block)
	wg.Wait()
	e.Close()
	e.submit(funcTask(func() { n++ })) // after Close: runs inline
	if n != 51 {
		t.Fatalf("%d tasks ran", n)
	}
}

type funcTask func()

func (f funcTask) run() { f() }
