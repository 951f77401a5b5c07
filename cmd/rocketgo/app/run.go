package app

import (
	"context"
	"errors"
	"fmt"
	"os"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// ErrNotReported means the wiring started a component but never told Endpoints its address.
var ErrNotReported = errors.New("component did not report its address")

// RunOption adjusts Run.
type RunOption func(*runOptions)

type runOptions struct {
	readyFile string
	onReady   func(Addrs) // tests: called once started, after the ready file is written
}

// WithReadyFile makes Run write path once every component has started: a JSON object with the
// bound addresses and the pid, e.g. {"namesrv":"127.0.0.1:39123","broker":"127.0.0.1:40111",
// "pid":1234}. Tests start the binary with port 0 and poll for this file.
func WithReadyFile(path string) RunOption {
	return func(o *runOptions) { o.readyFile = path }
}

// Run starts role's components and blocks until ctx is done (the CLI cancels it on SIGINT or
// SIGTERM) or a component asks fx to shut down, then stops them within cfg.ShutdownTimeout.
//
// module is the role's wiring (RoleModule in wiring.go). Run supplies it with cfg (Config), role
// (Role), log (*zap.Logger) and an *Endpoints whose setters the components' OnStart hooks must
// call. fx runs OnStart hooks in the order they were appended and OnStop hooks in reverse, which
// is how listeners start last and stop first.
func Run(ctx context.Context, role Role, cfg Config, log *zap.Logger, module fx.Option, opts ...RunOption) error {
	var o runOptions
	for _, opt := range opts {
		opt(&o)
	}
	endpoints := &Endpoints{}
	app := fx.New(
		fx.StartTimeout(cfg.StartTimeout),
		fx.StopTimeout(cfg.ShutdownTimeout),
		FxLogger(log),
		fx.Supply(cfg, role, log, endpoints),
		module,
	)
	if err := app.Err(); err != nil {
		return fmt.Errorf("wiring %s: %w", role, err)
	}
	if o.readyFile != "" {
		if err := removeStale(o.readyFile); err != nil {
			return err
		}
	}

	startCtx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	err := app.Start(startCtx) // on failure fx has already stopped what did start
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("starting %s: not started within startTimeout %s: %w", role, formatDuration(cfg.StartTimeout), err)
		}
		return fmt.Errorf("starting %s: %w", role, err)
	}

	addrs := endpoints.Addrs()
	err = checkReported(role, addrs)
	if err == nil && o.readyFile != "" {
		err = writeReadyFile(o.readyFile, readyDoc{Addrs: addrs, PID: os.Getpid()})
	}
	var exit fx.ShutdownSignal
	if err == nil {
		log.Info("started", zap.Stringer("role", role), zap.String("namesrv", addrs.Namesrv), zap.String("broker", addrs.Broker))
		if o.onReady != nil {
			o.onReady(addrs)
		}
		select {
		case <-ctx.Done():
			log.Info("stopping", zap.NamedError("reason", context.Cause(ctx)))
		case exit = <-app.Wait():
			// fx relays SIGINT/SIGTERM here too (it races the ctx above), and fx.Shutdowner
			// requests from components arrive here with their exit code.
			log.Info("stopping", zap.String("reason", exit.String()), zap.Int("exitCode", exit.ExitCode))
		}
	}

	// The stop must run its course even though ctx, its usual parent, is already cancelled.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if stopErr := app.Stop(stopCtx); stopErr != nil {
		if errors.Is(stopErr, context.DeadlineExceeded) {
			stopErr = fmt.Errorf("not stopped within shutdownTimeout %s: %w", formatDuration(cfg.ShutdownTimeout), stopErr)
		}
		err = errors.Join(err, fmt.Errorf("stopping %s: %w", role, stopErr))
	}
	if exit.ExitCode != 0 {
		err = errors.Join(err, fmt.Errorf("%s shut down by a component with exit code %d", role, exit.ExitCode))
	}
	if err == nil {
		log.Info("stopped", zap.Stringer("role", role))
	}
	return err
}

// checkReported makes a missing Endpoints call a loud error instead of a ready file without
// the address a test is waiting for.
func checkReported(role Role, a Addrs) error {
	if role.RunsNamesrv() && a.Namesrv == "" {
		return fmt.Errorf("%s: name server: %w (Endpoints.SetNamesrv)", role, ErrNotReported)
	}
	if role.RunsBroker() && a.Broker == "" {
		return fmt.Errorf("%s: broker: %w (Endpoints.SetBroker)", role, ErrNotReported)
	}
	return nil
}
