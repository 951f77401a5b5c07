package app

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValidate(t *testing.T) {
	for _, role := range []Role{RoleStandalone, RoleNamesrv, RoleBroker} {
		c := DefaultsFor(role)
		c.resolve()
		if err := c.ValidateFor(role); err != nil {
			t.Errorf("%s defaults: %v", role, err)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	cases := []struct {
		name   string
		role   Role
		mutate func(*Config)
		want   string
	}{
		{"log level", 0, func(c *Config) { c.Log.Level = "verbose" }, `log.level must be one of debug|info|warn|error, got "verbose"`},
		{"log format", 0, func(c *Config) { c.Log.Format = "xml" }, `log.format must be one of auto|console|json`},
		{"namesrv listen", 0, func(c *Config) { c.Namesrv.Listen = "9876" }, `namesrv.listen "9876" is not host:port`},
		{"listen port", 0, func(c *Config) { c.Broker.Listen = "127.0.0.1:70000" }, `port must be a number from 0 to 65535`},
		{"listen host", 0, func(c *Config) { c.Broker.Listen = "bad host!:1" }, `host must be an ip, a host name, or empty`},
		{"expiry", 0, func(c *Config) { c.Namesrv.BrokerExpiry = 0 }, `namesrv.brokerExpiry must be a positive duration`},
		{"advertised", 0, func(c *Config) { c.Broker.AdvertisedAddr = "0.0.0.0:10911" }, `broker.advertisedAddr "0.0.0.0:10911"`},
		{"advertised port", 0, func(c *Config) { c.Broker.AdvertisedAddr = "10.0.0.1:0" }, `broker.advertisedAddr`},
		{"namesrv addr host name", 0, func(c *Config) { c.Broker.NamesrvAddrs = []string{"ns.local:9876"} }, `broker.namesrvAddrs[0] "ns.local:9876" must be an ip:port literal`},
		{"broker name", 0, func(c *Config) { c.Broker.Name = "" }, `broker.name must not be empty`},
		{"broker id", 0, func(c *Config) { c.Broker.ID = -1 }, `broker.id must be 0 (master) or positive`},
		{"queue nums", 0, func(c *Config) { c.Broker.DefaultTopicQueueNums = 0 }, `broker.defaultTopicQueueNums must be positive`},
		{"held pulls", 0, func(c *Config) { c.Broker.MaxHeldPulls = 0 }, `broker.maxHeldPulls must be positive`},
		{"delay levels", 0, func(c *Config) { c.Broker.MessageDelayLevel = "1s 5x" }, `broker.messageDelayLevel "1s 5x": delay level 2`},
		{"reconsume", 0, func(c *Config) { c.Broker.MaxReconsumeTimes = -1 }, `broker.maxReconsumeTimes must be 0`},
		{"lock lease", 0, func(c *Config) { c.Broker.LockLease = 0 }, `broker.lockLease must be a positive duration`},
		{"hot log", 0, func(c *Config) { c.Broker.HotLogBytes = -1 }, `broker.hotLogBytes must be 0 (40% of memory) or positive`},
		{"transaction timeout", 0, func(c *Config) { c.Broker.TransactionTimeout = 0 }, `broker.transactionTimeout must be a positive duration`},
		{"transaction checks", 0, func(c *Config) { c.Broker.TransactionCheckMax = -1 }, `broker.transactionCheckMax must be 0 or positive`},
		{"long poll", 0, func(c *Config) { c.Broker.LongPollMaxSuspend = -time.Second }, `broker.longPollMaxSuspend must be a positive duration`},
		{"body vs frame", 0, func(c *Config) { c.Remoting.MaxBodySize = c.Remoting.MaxFrameSize }, `remoting.maxBodySize (16777216) must be below remoting.maxFrameSize (16777216)`},
		{"body vs record", 0, func(c *Config) { c.Storage.Mmap.MaxMessageSize = 1 << 20 }, `remoting.maxBodySize (4194304) must be below storage.mmap.maxMessageSize (1048576)`},
		{"idle negative", 0, func(c *Config) { c.Remoting.IdleTimeout = -1 }, `remoting.idleTimeout must be 0 (disabled) or a positive duration`},
		{"engine", 0, func(c *Config) { c.Storage.Engine = "tape" }, `storage.engine must be one of mmap|memory, got "tape"`},
		{"flush", 0, func(c *Config) { c.Storage.Mmap.Flush = "sometimes" }, `storage.mmap.flush must be one of async|sync`},
		{"segment", 0, func(c *Config) { c.Storage.Mmap.SegmentSize = 1 << 20 }, `storage.mmap.segmentSize (1048576) must be above storage.mmap.maxMessageSize`},
		{"start timeout", 0, func(c *Config) { c.StartTimeout = 0 }, `startTimeout must be a positive duration`},
		{"broker without name server", RoleBroker, func(c *Config) { c.Broker.NamesrvAddrs = nil }, `broker.namesrvAddrs is empty: a broker needs at least one name server`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.resolve()
			c.mutate(&cfg)
			err := cfg.ValidateFor(c.role)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%v does not wrap ErrConfig", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Defaults()
	cfg.resolve()
	cfg.Log.Level = "loud"
	cfg.Storage.Engine = "tape"
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "log.level") || !strings.Contains(err.Error(), "storage.engine") {
		t.Fatalf("want both problems in one error, got %v", err)
	}
}

func TestStandaloneMayLeaveNamesrvAddrsEmpty(t *testing.T) {
	cfg := DefaultsFor(RoleStandalone)
	cfg.resolve()
	if err := cfg.ValidateFor(RoleStandalone); err != nil {
		t.Fatal(err)
	}
	if got := cfg.RegisterAddrs(RoleStandalone, "127.0.0.1:40000"); len(got) != 1 || got[0] != "127.0.0.1:40000" {
		t.Errorf("RegisterAddrs = %v, want the in-process name server", got)
	}
	cfg.Broker.NamesrvAddrs = []string{"10.0.0.1:9876"}
	if got := cfg.RegisterAddrs(RoleStandalone, "127.0.0.1:40000"); len(got) != 1 || got[0] != "10.0.0.1:9876" {
		t.Errorf("RegisterAddrs = %v, want the explicit list", got)
	}
}
