package remote

import (
	"sync"
)

// task is work run on an Executor.
type task interface{ run() }

// Executor runs asynchronous completions (the callbacks of InvokeAsync) off the connections' read
// loops, so a callback may itself send (even synchronously) without stalling the connection that
// delivered its response. A few long-lived workers take tasks from a bounded queue; when the queue
// is full a task gets its own goroutine rather than blocking the read loop.
type Executor struct {
	tasks chan task
	stop  chan struct{}
	wg    sync.WaitGroup

	mu      sync.RWMutex
	stopped bool
}

// NewExecutor starts workers goroutines (at least 1) with a queue of queueLen tasks.
func NewExecutor(workers, queueLen int) *Executor {
	if workers < 1 {
		workers = 1
	}
	if queueLen < 1 {
		queueLen = 1
	}
	e := &Executor{tasks: make(chan task, queueLen), stop: make(chan struct{})}
	e.wg.Add(workers)
	for range workers {
		go e.work()
	}
	return e
}

func (e *Executor) work() {
	defer e.wg.Done()
	for {
		select {
		case t := <-e.tasks:
			t.run()
		case <-e.stop:
			for {
				select {
				case t := <-e.tasks:
					t.run()
				default:
					return
				}
			}
		}
	}
}

func (e *Executor) submit(t task) {
	e.mu.RLock()
	if e.stopped {
		e.mu.RUnlock()
		t.run()
		return
	}
	select {
	case e.tasks <- t:
	default:
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			t.run()
		}()
	}
	e.mu.RUnlock()
}

// Close runs what is queued, stops the workers and waits for them. Tasks submitted afterwards run
// in the submitting goroutine.
func (e *Executor) Close() {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return
	}
	e.stopped = true
	e.mu.Unlock()
	close(e.stop)
	e.wg.Wait()
}
