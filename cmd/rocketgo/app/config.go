package app

import (
	"path/filepath"
	"time"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/adapters/storage/mmap"
	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/namesrv"
)

// Config is the whole configuration tree of the binary. The koanf tags are the keys of the YAML
// files, of ROCKETGO_ environment variables (case-insensitively, "__" between levels) and of --set.
// Sections owned by another package embed that package's Config type unchanged, so a field added
// there becomes a key here without a copy to keep in step.
type Config struct {
	Log      LogConfig       `koanf:"log"`
	Namesrv  NamesrvConfig   `koanf:"namesrv"`
	Broker   BrokerConfig    `koanf:"broker"`
	Remoting remoting.Config `koanf:"remoting"`
	Storage  StorageConfig   `koanf:"storage"`
	// StartTimeout bounds the start of every component together (recovery of a large commit
	// log is part of it, hence far above fx's 15 s default).
	StartTimeout time.Duration `koanf:"startTimeout"`
	// ShutdownTimeout bounds the graceful stop: listeners close, then logs and offsets flush.
	ShutdownTimeout time.Duration `koanf:"shutdownTimeout"`
}

// Log levels and formats.
const (
	LogFormatAuto    = "auto"
	LogFormatConsole = "console"
	LogFormatJSON    = "json"
)

// LogConfig selects the zap logger.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `koanf:"level"`
	// Format is console, json, or auto (console when stderr is a terminal, json otherwise).
	Format string `koanf:"format"`
}

// NamesrvConfig is the name server's listener plus the route table's settings (flat keys).
type NamesrvConfig struct {
	// Listen is the TCP address to accept clients and brokers on; port 0 picks a free one.
	Listen         string `koanf:"listen"`
	namesrv.Config `koanf:",squash"`
}

// BrokerConfig is the broker's listener plus the broker use cases' settings (flat keys).
type BrokerConfig struct {
	// Listen is the TCP address to accept clients on; port 0 picks a free one.
	Listen string `koanf:"listen"`
	// AdvertisedAddr is the "ip:port" registered with name servers. Empty derives it from the
	// bound listener: see AdvertisedAddr.
	AdvertisedAddr string `koanf:"advertisedAddr"`
	broker.Config  `koanf:",squash"`
}

// Storage engines, the values of storage.engine.
const (
	EngineMmap   = "mmap"
	EngineMemory = "memory"
)

// Engines returns the valid values of storage.engine, in the order error messages list them.
func Engines() []string { return []string{EngineMmap, EngineMemory} }

// StorageConfig selects and configures the message store.
type StorageConfig struct {
	// Engine is mmap (files, the default) or memory (nothing survives a restart).
	Engine string `koanf:"engine"`
	// Dir is the root of everything the broker keeps on disk.
	Dir string `koanf:"dir"`
	// Mmap configures the mmap engine. Its Dir left empty means Dir + "/store".
	Mmap mmap.Config `koanf:"mmap"`
}

// MetaDir is where the broker keeps its metadata documents (topics, groups, offsets).
func (s StorageConfig) MetaDir() string { return filepath.Join(s.Dir, "config") }

// storeDir is the default of storage.mmap.dir.
func (s StorageConfig) storeDir() string { return filepath.Join(s.Dir, "store") }

// Defaults returns the configuration of a local setup: everything on 127.0.0.1, data in ./data.
func Defaults() Config {
	mm := mmap.Defaults()
	mm.Dir = "" // derived from storage.dir unless set
	return Config{
		Log:      LogConfig{Level: "info", Format: LogFormatAuto},
		Namesrv:  NamesrvConfig{Listen: "127.0.0.1:9876", Config: namesrv.Defaults()},
		Broker:   BrokerConfig{Listen: "127.0.0.1:10911", Config: broker.Defaults()},
		Remoting: remoting.Defaults(),
		Storage:  StorageConfig{Engine: EngineMmap, Dir: "./data", Mmap: mm},

		StartTimeout:    5 * time.Minute,
		ShutdownTimeout: 30 * time.Second,
	}
}

// DefaultsFor returns Defaults adjusted to a role.
//
// Standalone rule: broker.namesrvAddrs defaults to empty, and an empty list in standalone means
// "register with the in-process name server at its bound address" (see Config.RegisterAddrs).
// Setting the list explicitly registers with exactly the listed name servers instead.
func DefaultsFor(role Role) Config {
	c := Defaults()
	if role == RoleStandalone {
		c.Broker.NamesrvAddrs = nil
	}
	return c
}

// RegisterAddrs returns the name servers the broker registers with. inProcess is the bound
// address of the name server in the same process ("" when there is none); it is used when the
// role is standalone and broker.namesrvAddrs is empty. The wiring calls this once the name
// server has started.
func (c Config) RegisterAddrs(role Role, inProcess string) []string {
	if role == RoleStandalone && len(c.Broker.NamesrvAddrs) == 0 && inProcess != "" {
		return []string{inProcess}
	}
	return c.Broker.NamesrvAddrs
}

// resolve fills the values derived from others; Load calls it after decoding, so the effective
// config (and --check-config) shows them.
func (c *Config) resolve() {
	if c.Storage.Mmap.Dir == "" {
		c.Storage.Mmap.Dir = c.Storage.storeDir()
	}
	if len(c.Broker.NamesrvAddrs) == 0 {
		c.Broker.NamesrvAddrs = nil // one spelling of "none", so configs compare equal
	}
}
