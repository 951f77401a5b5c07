package app

import "github.com/spf13/pflag"

// namedFlag is a command-line shortcut for one config key.
type namedFlag struct {
	name, key, usage string
}

// namedFlags are the shortcuts; any other key is reachable with --set key=value.
func namedFlags() []namedFlag {
	return []namedFlag{
		{"data-dir", "storage.dir", "root of the data: the store in DIR/store, metadata in DIR/config (storage.dir)"},
		{"namesrv-listen", "namesrv.listen", "name server listen address, port 0 picks a free one (namesrv.listen)"},
		{"broker-listen", "broker.listen", "broker listen address, port 0 picks a free one (broker.listen)"},
		{"namesrv-addr", "broker.namesrvAddrs", "name servers to register with, comma-separated ip:port (broker.namesrvAddrs)"},
		{"log-level", "log.level", "debug|info|warn|error (log.level)"},
		{"log-format", "log.format", "auto|console|json (log.format)"},
	}
}

// Flag names that are not shortcuts for a key.
const (
	flagConfig = "config"
	flagSet    = "set"
)

// AddConfigFlags registers on fs the flags Load reads: -c/--config, the named shortcuts, and the
// repeatable --set key=value.
func AddConfigFlags(fs *pflag.FlagSet) {
	fs.StringP(flagConfig, "c", "", "YAML config `file` (keys as in configs/*.yaml)")
	for _, f := range namedFlags() {
		fs.String(f.name, "", f.usage)
	}
	fs.StringArray(flagSet, nil, "set any config `key=value`, repeatable, applied last (e.g. --set storage.mmap.flush=sync; lists comma-separated)")
}
