package app

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// NotifyShutdown returns a context that the first SIGINT or SIGTERM cancels (its cause names the
// signal), starting a graceful stop. A second signal calls onSecond at once, for an operator
// who does not want to wait for the stop: the binary exits with code 1 there. stop releases the
// signals and waits for the watcher to end.
func NotifyShutdown(parent context.Context, onSecond func(os.Signal)) (ctx context.Context, stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { watchSignals(ch, done, cancel, onSecond) })
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		wg.Wait()
		cancel(context.Canceled)
	}
}

// watchSignals is NotifyShutdown's loop, apart so a test can feed it signals.
func watchSignals(ch <-chan os.Signal, done <-chan struct{}, cancel context.CancelCauseFunc, onSecond func(os.Signal)) {
	select {
	case sig := <-ch:
		cancel(fmt.Errorf("received %s", sig))
	case <-done:
		return
	}
	select {
	case sig := <-ch:
		onSecond(sig)
	case <-done:
	}
}
