package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Exit codes of the binary.
const (
	ExitOK      = 0 // done, or stopped gracefully
	ExitFailure = 1 // a runtime failure: start, run or stop went wrong
	ExitUsage   = 2 // bad command line or configuration; the message is on stderr
)

// ModuleFunc builds the fx wiring of a role; the binary passes RoleModule (wiring.go). Taking
// it as a value keeps this package's CLI testable with a small module of a test's own.
type ModuleFunc func(Role, Config) fx.Option

// IO is what a CLI invocation reads and writes besides its arguments.
type IO struct {
	Stdout, Stderr io.Writer
	Environ        []string // KEY=VALUE pairs; the binary passes os.Environ()
}

const usage = `rocketgo - a message broker speaking Apache RocketMQ's protocol

Usage:
  rocketgo standalone [flags]   name server and broker in one process
  rocketgo namesrv [flags]      name server only
  rocketgo broker [flags]       broker only
  rocketgo admin <command>      mqadmin's everyday commands (rocketgo admin for the list)
  rocketgo bench <command>      load generators on the SDK: produce, consume (rocketgo bench help)
  rocketgo version              print version, commit and Go version
  rocketgo help                 this text

Server flags (see 'rocketgo <command> --help'):
  -c, --config FILE     YAML config; every key is documented in configs/standalone.yaml
  --set key=value       any config key, repeatable
  --check-config        print the effective config as YAML and exit
  --ready-file PATH     write the bound addresses as JSON once started

Configuration layers, later wins: defaults < --config file < ROCKETGO_* environment variables
(ROCKETGO_STORAGE__MMAP__FLUSH=sync: "__" between levels, case-insensitive) < flags < --set.

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
`

// Main runs the command line args (without the program name) and returns the exit code. ctx
// ends the servers gracefully when cancelled (the binary cancels it on SIGINT/SIGTERM).
func Main(ctx context.Context, args []string, stdio IO, module ModuleFunc) int {
	if len(args) == 0 {
		fmt.Fprint(stdio.Stderr, usage)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "standalone":
		return serve(ctx, RoleStandalone, rest, stdio, module)
	case "namesrv":
		return serve(ctx, RoleNamesrv, rest, stdio, module)
	case "broker":
		return serve(ctx, RoleBroker, rest, stdio, module)
	case "version":
		fmt.Fprintln(stdio.Stdout, VersionString())
		return ExitOK
	case "bench":
		return benchMain(ctx, rest, stdio)
	case "admin":
		return adminMain(ctx, rest, stdio)
	case "help", "-h", "--help":
		fmt.Fprint(stdio.Stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(stdio.Stderr, "rocketgo: unknown command %q\n\n%s", cmd, usage)
	return ExitUsage
}

// serve runs one server role: flags, config, logger, then Run.
func serve(ctx context.Context, role Role, args []string, stdio IO, module ModuleFunc) int {
	fs := pflag.NewFlagSet("rocketgo "+role.String(), pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed below, once, with a hint
	fs.SortFlags = false
	AddConfigFlags(fs)
	checkConfig := fs.Bool("check-config", false, "print the effective configuration as YAML (every key) and exit")
	readyFile := fs.String("ready-file", "", "write the bound addresses and pid as JSON to `path` once started")
	profile := addProfileFlags(fs)

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdio.Stdout, "Usage: rocketgo %s [flags]\n\n%s", role, fs.FlagUsages())
			return ExitOK
		}
		fmt.Fprintf(stdio.Stderr, "rocketgo %s: %v\nRun 'rocketgo %s --help' for the flags.\n", role, err, role)
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stdio.Stderr, "rocketgo %s: unexpected arguments: %s\n", role, strings.Join(fs.Args(), " "))
		return ExitUsage
	}

	cfg, err := Load(role, fs, stdio.Environ)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "rocketgo %s: %v\n", role, err)
		return ExitUsage
	}
	if *checkConfig {
		out, err := cfg.YAML()
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "rocketgo %s: %v\n", role, err)
			return ExitFailure
		}
		stdio.Stdout.Write(out)
		return ExitOK
	}

	log, err := NewLogger(cfg.Log, stdio.Stderr)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "rocketgo %s: %v\n", role, err)
		return ExitUsage
	}
	defer log.Sync() // stderr may refuse fsync; nothing to do about that
	log.Info("rocketgo starting", zap.Stringer("role", role), zap.String("version", Version), zap.String("commit", Commit))

	stopProfile, err := profile.start()
	if err != nil {
		log.Error("rocketgo failed", zap.Stringer("role", role), zap.Error(err))
		return ExitFailure
	}
	err = Run(ctx, role, cfg, log, module(role, cfg), WithReadyFile(*readyFile))
	if perr := stopProfile(); perr != nil {
		log.Error("writing profiles", zap.Error(perr))
	}
	if err != nil {
		log.Error("rocketgo failed", zap.Stringer("role", role), zap.Error(err))
		return ExitFailure
	}
	return ExitOK
}
