// Command rocketgo is a message broker compatible with Apache RocketMQ's protocol. The command
// line, configuration and lifecycle live in package app; this file only connects them to the
// process: arguments, environment, standard streams, signals and the exit code.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rocketgo/rocketgo/cmd/rocketgo/app"
)

func main() {
	ctx, stop := app.NotifyShutdown(context.Background(), func(sig os.Signal) {
		fmt.Fprintf(os.Stderr, "rocketgo: second %s during shutdown, exiting now\n", sig)
		os.Exit(app.ExitFailure)
	})
	code := app.Main(ctx, os.Args[1:], app.IO{Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()}, app.RoleModule)
	stop()
	os.Exit(code)
}
