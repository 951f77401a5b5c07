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

// The real thing: signals sent to this process reach NotifyShutdown, which has them registered
// (so the default action, terminating the test binary, does not happen).
func TestNotifyShutdownWithRealSignals(t *testing.T) {
	second := make(chan os.Signal, 1)
	ctx, stop := NotifyShutdown(context.Background(), func(s os.Signal) { second <- s })
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if s := <-second; s != syscall.SIGINT {
		t.Errorf("second signal = %v", s)
	}
}
