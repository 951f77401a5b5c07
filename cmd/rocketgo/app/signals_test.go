package app

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
)

func TestFirstSignalCancelsSecondExits(t *testing.T) {
	ch := make(chan os.Signal)
	done := make(chan struct{})
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	second := make(chan os.Signal, 1)
	var wg sync.WaitGroup
	wg.Go(func() { watchSignals(ch, done, cancel, func(s os.Signal) { second <- s }) })

	ch <- syscall.SIGTERM
	<-ctx.Done()
	if cause := context.Cause(ctx); cause == nil || cause.Error() != "received terminated" {
		t.Errorf("cause = %v", cause)
	}
	ch <- syscall.SIGINT
	if s := <-second; s != syscall.SIGINT {
		t.Errorf("second signal = %v", s)
	}
	wg.Wait()
}

func TestWatcherEndsWithoutSignals(t *testing.T) {
	ctx, stop := NotifyShutdown(context.Background(), func(os.Signal) { t.Error("onSecond called") })
	stop() // must return: the watcher goroutine ends
	if ctx.Err() == nil {
		t.Error("stop did not release the context")
	}
}
