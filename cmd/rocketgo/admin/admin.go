// Package admin is `rocketgo admin`: mqadmin's everyday commands, built on the SDK's admin client,
// so they work against rocketgo and Apache RocketMQ alike (the timer commands only against
// rocketgo).
package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	sdkadmin "github.com/rocketgo/rocketgo/sdk/admin"
)

// Exit codes, as the rest of the binary uses them.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// command is one admin subcommand.
type command struct {
	name, usage string
	run         func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error
}

// env is what every command gets: the admin client and where to print.
type env struct {
	a   *sdkadmin.Admin
	out io.Writer
}

func commands() []command {
	return []command{
		{"clusterList", "brokers by cluster", clusterList},
		{"topicList", "every topic the name server routes", topicList},
		{"topicRoute", "-t TOPIC: brokers and queues of a topic", topicRoute},
		{"updateTopic", "-t TOPIC [-r 8] [-w 8] [-p 6] [-c CLUSTER] [-b BROKER_ADDR]: create or update a topic", updateTopic},
		{"deleteTopic", "-t TOPIC: delete a topic from brokers and name servers", deleteTopic},
		{"consumerProgress", "-g GROUP -t TOPIC: committed offset, max offset and lag per queue", consumerProgress},
		{"resetOffsetByTime", "-g GROUP -t TOPIC -s TIME [-f=true]: move a group's offsets to the messages stored at TIME (RFC 3339, ms since the epoch, or now)", resetOffsetByTime},
		{"queryMsgByKey", "-t TOPIC -k KEY [-n 32]: messages by key (KEYS or UNIQ_KEY)", queryMsgByKey},
		{"queryMsgById", "-i OFFSET_MSG_ID: one message by its offset message id", queryMsgByID},
		{"timerList", "-b BROKER_ADDR [-n 100] [-s TIME]: pending timer messages by due time (rocketgo)", timerList},
		{"timerCancel", "-i OFFSET_MSG_ID: cancel a pending timer message (rocketgo)", timerCancel},
	}
}

// Main runs `rocketgo admin ARGS` and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "Usage: rocketgo admin [-n NAMESRV] [--timeout 10s] COMMAND [flags]\n\nCommands:")
		for _, c := range commands() {
			fmt.Fprintf(stderr, "  %-18s %s\n", c.name, c.usage)
		}
	}
	global := flag.NewFlagSet("admin", flag.ContinueOnError)
	global.SetOutput(stderr)
	global.Usage = usage
	ns := global.String("n", "127.0.0.1:9876", "name server addresses, ip:port;ip:port")
	timeout := global.Duration("timeout", 10*time.Second, "bound on the whole command")
	if err := global.Parse(args); err != nil {
		return exitUsage
	}
	if global.NArg() == 0 {
		usage()
		return exitUsage
	}
	name, rest := global.Arg(0), global.Args()[1:]
	var cmd *command
	for _, c := range commands() {
		if strings.EqualFold(c.name, name) {
			cmd = &c
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "rocketgo admin: unknown command %q\n", name)
		usage()
		return exitUsage
	}
	a, err := sdkadmin.New(sdkadmin.Options{NameServers: strings.Split(*ns, ";")})
	if err != nil {
		fmt.Fprintf(stderr, "rocketgo admin: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	defer a.Close(context.Background())
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := cmd.run(ctx, &env{a: a, out: stdout}, fs, rest); err != nil {
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "usage: rocketgo admin %s %s\n", cmd.name, cmd.usage)
			return exitUsage
		}
		fmt.Fprintf(stderr, "rocketgo admin %s: %v\n", cmd.name, err)
		return exitFailure
	}
	return exitOK
}

// errUsage marks a command line that is missing something.
var errUsage = errors.New("usage")

// required fails with errUsage when a flag was left empty.
func required(vals ...string) error {
	for _, v := range vals {
		if v == "" {
			return errUsage
		}
	}
	return nil
}

// parseTime reads RFC 3339, milliseconds since the epoch, or "now".
func parseTime(s string) (time.Time, error) {
	if s == "now" {
		return time.Now(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	var ms int64
	if _, err := fmt.Sscan(s, &ms); err == nil && ms >= 0 {
		return time.UnixMilli(ms), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-11-21T06:00:00Z), ms since the epoch, or now", s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
