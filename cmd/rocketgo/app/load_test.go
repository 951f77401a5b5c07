package app

import (
	"reflect"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	for _, role := range []Role{RoleStandalone, RoleNamesrv, RoleBroker} {
		t.Run(role.String(), func(t *testing.T) {
			got := mustLoad(t, role, nil)
			want := DefaultsFor(role)
			want.resolve()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load with no sources:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestDerivedValues(t *testing.T) {
	cfg := mustLoad(t, RoleStandalone, []string{"--data-dir", "/var/lib/rg"})
	if cfg.Storage.Mmap.Dir != "/var/lib/rg/store" {
		t.Errorf("storage.mmap.dir = %q, want it derived as /var/lib/rg/store", cfg.Storage.Mmap.Dir)
	}
	if cfg.Storage.MetaDir() != "/var/lib/rg/config" {
		t.Errorf("MetaDir = %q", cfg.Storage.MetaDir())
	}
	cfg = mustLoad(t, RoleStandalone, []string{"--data-dir", "/var/lib/rg", "--set", "storage.mmap.dir=/fast/store"})
	if cfg.Storage.Mmap.Dir != "/fast/store" {
		t.Errorf("an explicit storage.mmap.dir was overridden: %q", cfg.Storage.Mmap.Dir)
	}
	if DefaultsFor(RoleStandalone).Broker.NamesrvAddrs != nil || len(DefaultsFor(RoleBroker).Broker.NamesrvAddrs) != 1 {
		t.Errorf("standalone must default broker.namesrvAddrs to empty, broker to one name server")
	}
}

// Each layer overrides the one before it: default < file < env < named flag < --set.
func TestLayerPrecedence(t *testing.T) {
	file := writeFile(t, "c.yaml", `
log: {level: warn}
broker: {name: from-file, region: file-region, maxPullBatch: 7}
storage: {mmap: {flush: sync}}
remoting: {maxConnections: 11}
`)
	env := []string{
		"ROCKETGO_BROKER__NAME=from-env",
		"ROCKETGO_BROKER__REGION=env-region",
		"ROCKETGO_LOG__LEVEL=error",
		"PATH=/usr/bin", // not ours: ignored
	}
	args := []string{"-c", file, "--log-level", "debug", "--set", "broker.name=from-set"}
	cfg := mustLoad(t, RoleStandalone, args, env...)

	checks := []struct {
		key       string
		got, want any
	}{
		{"broker.name (file<env<set)", cfg.Broker.Name, "from-set"},
		{"broker.region (file<env)", cfg.Broker.Region, "env-region"},
		{"log.level (file<env<flag)", cfg.Log.Level, "debug"},
		{"broker.maxPullBatch (default<file)", cfg.Broker.MaxPullBatch, 7},
		{"storage.mmap.flush (default<file)", cfg.Storage.Mmap.Flush, "sync"},
		{"remoting.maxConnections (default<file)", cfg.Remoting.MaxConnections, 11},
		{"broker.cluster (default)", cfg.Broker.Cluster, "DefaultCluster"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.key, c.got, c.want)
		}
	}
}

func TestNamedFlags(t *testing.T) {
	cfg := mustLoad(t, RoleBroker, []string{
		"--data-dir", "d",
		"--namesrv-listen", "0.0.0.0:0",
		"--broker-listen", ":10912",
		"--namesrv-addr", "10.0.0.1:9876, 10.0.0.2:9876",
		"--log-level", "warn",
		"--log-format", "json",
	})
	want := DefaultsFor(RoleBroker)
	want.Storage.Dir = "d"
	want.Namesrv.Listen = "0.0.0.0:0"
	want.Broker.Listen = ":10912"
	want.Broker.NamesrvAddrs = []string{"10.0.0.1:9876", "10.0.0.2:9876"}
	want.Log = LogConfig{Level: "warn", Format: "json"}
	want.resolve()
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("flags:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestEnvKeysAreCaseInsensitive(t *testing.T) {
	cfg := mustLoad(t, RoleStandalone, nil,
		"ROCKETGO_REMOTING__MAXFRAMESIZE=32MiB",
		"ROCKETGO_storage__Mmap__FLUSH=sync",
		"ROCKETGO_STARTTIMEOUT=90s",
		"ROCKETGO_BROKER__AUTOCREATETOPIC=false",
		"ROCKETGO_BROKER__NAMESRVADDRS=127.0.0.1:1,127.0.0.1:2",
		"ROCKETGO_BROKER__DEFAULTTOPICQUEUENUMS=8",
		"ROCKETGO_E2E_BIN=/tmp/rocketgo", // another tool's variable: not configuration
	)
	if cfg.Remoting.MaxFrameSize != 32<<20 || cfg.Storage.Mmap.Flush != "sync" || cfg.StartTimeout != 90*time.Second ||
		cfg.Broker.AutoCreateTopic || cfg.Broker.DefaultTopicQueueNums != 8 ||
		!reflect.DeepEqual(cfg.Broker.NamesrvAddrs, []string{"127.0.0.1:1", "127.0.0.1:2"}) {
		t.Errorf("environment not applied: %+v", cfg)
	}
}

func TestUnknownKeys(t *testing.T) {
	file := writeFile(t, "x.yaml", "storage:\n  flsuh: sync\n")
	loadErr(t, RoleStandalone, []string{"-c", file}, nil, `unknown config key "storage.flsuh" in `+file)

	file = writeFile(t, "x.yaml", "storage:\n  mmap:\n    flsuh: sync\n")
	loadErr(t, RoleStandalone, []string{"-c", file}, nil, `unknown config key "storage.mmap.flsuh"`, `did you mean "storage.mmap.flush"?`)

	file = writeFile(t, "x.yaml", "broker:\n  maxframesize: 1\n")
	loadErr(t, RoleStandalone, []string{"-c", file}, nil, `unknown config key "broker.maxframesize"`)

	loadErr(t, RoleStandalone, nil, []string{"ROCKETGO_STORAGE__FLSUH=sync"},
		`unknown config key "storage.flsuh" from environment variable ROCKETGO_STORAGE__FLSUH`)
	loadErr(t, RoleStandalone, nil, []string{"ROCKETGO_STARTTIMEOUTT=1s"},
		`unknown config key "starttimeoutt"`, `did you mean "startTimeout"?`)

	loadErr(t, RoleStandalone, []string{"--set", "storage.flush=sync"}, nil,
		`unknown config key "storage.flush" in --set storage.flush=sync`, `did you mean "storage.mmap.flush"?`)
	loadErr(t, RoleStandalone, []string{"--set", "nonsense"}, nil, `--set "nonsense": want key=value`)
}

func TestSectionsAndValuesNotMixed(t *testing.T) {
	file := writeFile(t, "x.yaml", "storage: 5\n")
	loadErr(t, RoleStandalone, []string{"-c", file}, nil, `config key "storage" in `+file+` is a section`)
	file = writeFile(t, "x.yaml", "broker:\n  name:\n    first: a\n")
	loadErr(t, RoleStandalone, []string{"-c", file}, nil, `config key "broker.name" in `+file+` takes a value`)
	file = writeFile(t, "x.yaml", "broker:\n  name:\n")
	loadErr(t, RoleStandalone, []string{"-c", file}, nil, `config key "broker.name" in `+file+` has no value`)
	loadErr(t, RoleStandalone, nil, []string{"ROCKETGO_STORAGE=x"}, `config key "storage" from environment variable ROCKETGO_STORAGE is a section`)

	// A section whose keys are all commented out is null in YAML: it keeps the defaults.
	file = writeFile(t, "x.yaml", "storage:\n  mmap:\n  # flush: sync\nlog:\n")
	cfg := mustLoad(t, RoleStandalone, []string{"-c", file})
	if cfg.Storage.Mmap.Flush != "async" || cfg.Storage.Mmap.SegmentSize != 1<<30 || cfg.Log.Level != "info" {
		t.Errorf("an empty section erased defaults: %+v", cfg.Storage)
	}
}

func TestTypeErrorsNameTheSource(t *testing.T) {
	file := writeFile(t, "x.yaml", "remoting:\n  maxFrameSize: 16MB\n")
	loadErr(t, RoleStandalone, []string{"-c", file}, nil, "remoting.maxFrameSize", `invalid size "16MB"`, "in "+file)

	file = writeFile(t, "x.yaml", "namesrv:\n  brokerExpiry: 30\n")
	loadErr(t, RoleStandalone, []string{"-c", file}, nil, "namesrv.brokerExpiry", "needs a unit", "in "+file)

	loadErr(t, RoleStandalone, nil, []string{"ROCKETGO_BROKER__AUTOCREATETOPIC=maybe"},
		"broker.autoCreateTopic", `invalid boolean "maybe"`, "ROCKETGO_BROKER__AUTOCREATETOPIC")
	loadErr(t, RoleStandalone, []string{"--set", "shutdownTimeout=soon"}, nil,
		"shutdownTimeout", `invalid duration "soon"`, "--set shutdownTimeout=soon")
	loadErr(t, RoleStandalone, []string{"--set", "broker.defaultTopicQueueNums=8GiB"}, nil,
		"broker.defaultTopicQueueNums", "out of range")

	file = writeFile(t, "x.yaml", "namesrv:\n  listen: 9876\n")
	loadErr(t, RoleStandalone, []string{"-c", file}, nil, "namesrv.listen", "in "+file)
}

func TestMissingOrBrokenFile(t *testing.T) {
	loadErr(t, RoleStandalone, []string{"-c", "/nonexistent/rocketgo.yaml"}, nil, "reading config file /nonexistent/rocketgo.yaml")
	file := writeFile(t, "x.yaml", "log: [unclosed\n")
	loadErr(t, RoleStandalone, []string{"-c", file}, nil, "reading config file "+file)
}

func TestSizesAndDurations(t *testing.T) {
	file := writeFile(t, "x.yaml", `
remoting: {maxFrameSize: 1GiB, maxBodySize: "512 KiB", idleTimeout: 0, writeTimeout: 1h30m}
storage: {mmap: {segmentSize: 64MiB, maxMessageSize: 1048576, flushInterval: 250ms}}
broker: {maxPullBytes: 512B}
`)
	cfg := mustLoad(t, RoleStandalone, []string{"-c", file})
	checks := []struct {
		key       string
		got, want any
	}{
		{"remoting.maxFrameSize", cfg.Remoting.MaxFrameSize, 1 << 30},
		{"remoting.maxBodySize", cfg.Remoting.MaxBodySize, 512 << 10},
		{"remoting.idleTimeout", cfg.Remoting.IdleTimeout, time.Duration(0)},
		{"remoting.writeTimeout", cfg.Remoting.WriteTimeout, 90 * time.Minute},
		{"storage.mmap.segmentSize", cfg.Storage.Mmap.SegmentSize, int64(64 << 20)},
		{"storage.mmap.maxMessageSize", cfg.Storage.Mmap.MaxMessageSize, 1 << 20},
		{"storage.mmap.flushInterval", cfg.Storage.Mmap.FlushInterval, 250 * time.Millisecond},
		{"broker.maxPullBytes", cfg.Broker.MaxPullBytes, 512},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.key, c.got, c.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0": 0, "512": 512, "512B": 512, "64KiB": 64 << 10, "16MiB": 16 << 20, "4mib": 4 << 20,
		"1GiB": 1 << 30, "2TiB": 2 << 40, " 8 KiB ": 8 << 10, "-1": -1,
	}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "16MB", "1.5GiB", "16 M", "x", "9999999999TiB", "1GiB2"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

// --check-config prints every key; loading the output alone gives back the same Config.
func TestCheckConfigRoundTrip(t *testing.T) {
	for _, role := range []Role{RoleStandalone, RoleNamesrv, RoleBroker} {
		t.Run(role.String(), func(t *testing.T) {
			cfg := mustLoad(t, role, []string{
				"--data-dir", "/srv/rg", "--set", "remoting.maxBodySize=3MiB", "--set", "storage.engine=memory",
				"--namesrv-addr", "127.0.0.1:9876,127.0.0.2:9876",
			}, "ROCKETGO_STORAGE__MMAP__FLUSHINTERVAL=1m30s")
			out, err := cfg.YAML()
			if err != nil {
				t.Fatal(err)
			}
			back := mustLoad(t, role, []string{"-c", writeFile(t, "effective.yaml", string(out))})
			if !reflect.DeepEqual(back, cfg) {
				t.Errorf("round trip changed the config:\n got %+v\nwant %+v\nYAML:\n%s", back, cfg, out)
			}
			for _, l := range leaves(cfg) {
				if !containsLine(string(out), l.path) {
					t.Errorf("output lacks key %s", l.path)
				}
			}
		})
	}
}

// containsLine reports whether the YAML has a line "<indent><last segment of path>:".
func containsLine(yaml, path string) bool {
	parts := splitPath(path)
	want := ""
	for range len(parts) - 1 {
		want += "  "
	}
	want += parts[len(parts)-1] + ":"
	for _, line := range splitLines(yaml) {
		if len(line) >= len(want) && line[:len(want)] == want {
			return true
		}
	}
	return false
}
