// Package bench is `rocketgo bench`: load generators built on the SDK that print what Apache
// RocketMQ's benchmark tools print (Send TPS, Max RT, Average RT, Send Failed, Response Failed;
// Consume TPS with born-to-consume and store-to-consume latency) every few seconds, plus latency
// percentiles in microseconds, MB/s and the broker's CPU time per message, and `bench table`,
// which turns the results of `make bench` into a Markdown table beside NATS JetStream's.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Exit codes, as the rest of the binary.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `Usage:
  rocketgo bench produce [flags]   send messages for a duration (or a count) and report
  rocketgo bench consume [flags]   consume a topic with a push-consumer group and report
  rocketgo bench table [flags]     Markdown table from the results of 'make bench'
  rocketgo bench store [flags]     the mmap store alone beside the raw bandwidth of the same disk

Run 'rocketgo bench <command> --help' for the flags.
`

// Main runs `rocketgo bench` with args (after "bench"). Reports go to stdout (to stderr with
// --json, which prints the summary alone on stdout); errors go to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "produce":
		o, code := parseProduce(args[1:], stdout, stderr)
		if o == nil {
			return code
		}
		return finish(stderr, "produce", func() (*Result, error) { return runProduce(ctx, *o, o.reportTo(stdout, stderr)) }, o.JSON, stdout)
	case "consume":
		o, code := parseConsume(args[1:], stdout, stderr)
		if o == nil {
			return code
		}
		return finish(stderr, "consume", func() (*Result, error) { return runConsume(ctx, *o, o.reportTo(stdout, stderr)) }, o.JSON, stdout)
	case "table":
		return tableMain(args[1:], stdout, stderr)
	case "store":
		return storeMain(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "rocketgo bench: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

func finish(stderr io.Writer, cmd string, run func() (*Result, error), asJSON bool, stdout io.Writer) int {
	res, err := run()
	if err != nil {
		fmt.Fprintf(stderr, "rocketgo bench %s: %v\n", cmd, err)
		return exitFailure
	}
	if asJSON {
		if err := res.writeJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "rocketgo bench %s: %v\n", cmd, err)
			return exitFailure
		}
	}
	return exitOK
}

// common are the flags of both load generators.
type common struct {
	NameServers []string
	ReadyFile   string
	BrokerPID   int
	Topic       string
	Duration    time.Duration
	Report      time.Duration
	JSON        bool
	Label       string
}

func (c *common) addFlags(fs *pflag.FlagSet, duration time.Duration) {
	fs.StringSliceVar(&c.NameServers, "namesrv", nil, "name servers, comma-separated host:port (default 127.0.0.1:9876, or the one in --ready-file)")
	fs.StringVar(&c.ReadyFile, "ready-file", "", "the broker's --ready-file: gives the name server address and the broker pid")
	fs.IntVar(&c.BrokerPID, "broker-pid", 0, "pid of the broker process, for its CPU time per message (read from /proc)")
	fs.StringVar(&c.Topic, "topic", "BenchmarkTest", "topic")
	fs.DurationVar(&c.Duration, "duration", duration, "how long to measure")
	fs.DurationVar(&c.Report, "report", 5*time.Second, "period of the progress lines")
	fs.BoolVar(&c.JSON, "json", false, "print the summary as one JSON object on stdout (progress lines go to stderr)")
	fs.StringVar(&c.Label, "label", "", "name of this run, copied into the JSON summary")
}

// resolve fills the name servers and broker pid from the ready file and applies defaults.
func (c *common) resolve() error {
	if c.ReadyFile != "" {
		d, err := readReadyFile(c.ReadyFile)
		if err != nil {
			return err
		}
		if len(c.NameServers) == 0 && d.Namesrv != "" {
			c.NameServers = []string{d.Namesrv}
		}
		if c.BrokerPID == 0 {
			c.BrokerPID = d.PID
		}
	}
	if len(c.NameServers) == 0 {
		c.NameServers = []string{"127.0.0.1:9876"}
	}
	if c.Topic == "" {
		return errors.New("--topic must not be empty")
	}
	if c.Duration <= 0 {
		return errors.New("--duration must be positive")
	}
	if c.Report <= 0 {
		return errors.New("--report must be positive")
	}
	return nil
}

// reportTo is where progress lines go: stdout, or stderr when stdout carries the JSON summary.
func (c *common) reportTo(stdout, stderr io.Writer) io.Writer {
	if c.JSON {
		return stderr
	}
	return stdout
}

// parseFlags parses args with fs; nil error and false mean --help was printed.
func parseFlags(fs *pflag.FlagSet, name string, args []string, stdout, stderr io.Writer) (bool, int) {
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: rocketgo bench %s [flags]\n\n%s", name, fs.FlagUsages())
			return false, exitOK
		}
		fmt.Fprintf(stderr, "rocketgo bench %s: %v\nRun 'rocketgo bench %s --help' for the flags.\n", name, err, name)
		return false, exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rocketgo bench %s: unexpected arguments: %s\n", name, strings.Join(fs.Args(), " "))
		return false, exitUsage
	}
	return true, exitOK
}

func usageError(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "rocketgo bench %s: %v\n", name, err)
	return exitUsage
}

// instanceName names this process's clients, so that a broker's logs tell bench clients apart.
func instanceName(kind string, i int) string {
	return fmt.Sprintf("bench-%s-%d-%d", kind, os.Getpid(), i)
}
