package app

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/adapters/storage/mmap"
	"github.com/rocketgo/rocketgo/core/broker"
)

// ErrConfig marks every configuration error (unknown key, bad value, failed validation), so the
// CLI can tell a usage problem (exit 2) from a runtime failure (exit 1) with errors.Is.
var ErrConfig = errors.New("invalid configuration")

// problems collects every validation failure, so one run reports them all.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n  %s", ErrConfig, strings.Join(p, "\n  "))
}

// Validate checks every section and the rules that span sections. It does not know the role;
// ValidateFor adds the role's own rules.
func (c Config) Validate() error { return c.check(0).err() }

// ValidateFor is Validate plus the rules of one role.
func (c Config) ValidateFor(role Role) error { return c.check(role).err() }

// check lists every problem; role 0 skips the role's rules.
func (c Config) check(role Role) problems {
	var p problems
	c.Log.validate(&p)
	c.Namesrv.validate(&p)
	c.Broker.validate(&p)
	c.validateRemoting(&p)
	c.Storage.validate(&p)
	positive(&p, "startTimeout", c.StartTimeout)
	positive(&p, "shutdownTimeout", c.ShutdownTimeout)
	// A message the transport accepts must fit in a stored record, or sends fail after the fact.
	if c.Storage.Engine == EngineMmap && c.Remoting.MaxBodySize >= c.Storage.Mmap.MaxMessageSize {
		p.addf("remoting.maxBodySize (%d) must be below storage.mmap.maxMessageSize (%d): a stored record holds the body plus its headers",
			c.Remoting.MaxBodySize, c.Storage.Mmap.MaxMessageSize)
	}
	selfValidate(&p, "namesrv", c.Namesrv.Config)
	selfValidate(&p, "broker", c.Broker.Config)
	selfValidate(&p, "remoting", c.Remoting)
	selfValidate(&p, "storage.mmap", c.Storage.Mmap)
	if role == RoleBroker && len(c.Broker.NamesrvAddrs) == 0 {
		p.addf("broker.namesrvAddrs is empty: a broker needs at least one name server (only standalone may leave it empty, meaning its in-process name server)")
	}
	return p
}

// selfValidate defers to a section's own Validate method when its package grows one, so rules
// the owner knows best are not duplicated here.
func selfValidate(p *problems, section string, cfg any) {
	if v, ok := cfg.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			p.addf("%s: %v", section, err)
		}
	}
}

func (l LogConfig) validate(p *problems) {
	oneOf(p, "log.level", l.Level, "debug", "info", "warn", "error")
	oneOf(p, "log.format", l.Format, LogFormatAuto, LogFormatConsole, LogFormatJSON)
}

func (n NamesrvConfig) validate(p *problems) {
	listenAddr(p, "namesrv.listen", n.Listen)
	positive(p, "namesrv.brokerExpiry", n.BrokerExpiry)
	positive(p, "namesrv.scanInterval", n.ScanInterval)
}

func (b BrokerConfig) validate(p *problems) {
	listenAddr(p, "broker.listen", b.Listen)
	if b.AdvertisedAddr != "" {
		if ap, err := netip.ParseAddrPort(b.AdvertisedAddr); err != nil || ap.Port() == 0 || ap.Addr().IsUnspecified() {
			p.addf("broker.advertisedAddr %q must be an ip:port literal with a non-zero port and a routable ip, or empty to derive it from broker.listen", b.AdvertisedAddr)
		}
	}
	if b.Name == "" {
		p.addf("broker.name must not be empty")
	}
	if b.Cluster == "" {
		p.addf("broker.cluster must not be empty")
	}
	if b.ID < 0 {
		p.addf("broker.id must be 0 (master) or positive (slave), got %d", b.ID)
	}
	for i, a := range b.NamesrvAddrs {
		if ap, err := netip.ParseAddrPort(a); err != nil || ap.Port() == 0 {
			p.addf("broker.namesrvAddrs[%d] %q must be an ip:port literal such as 127.0.0.1:9876", i, a)
		}
	}
	positive(p, "broker.registerInterval", b.RegisterInterval)
	if b.DefaultTopicQueueNums <= 0 {
		p.addf("broker.defaultTopicQueueNums must be positive, got %d", b.DefaultTopicQueueNums)
	}
	positive(p, "broker.longPollMaxSuspend", b.LongPollMaxSuspend)
	positive(p, "broker.offsetFlushInterval", b.OffsetFlushInterval)
	positive(p, "broker.clientExpiry", b.ClientExpiry)
	if b.MaxPullBatch <= 0 {
		p.addf("broker.maxPullBatch must be positive, got %d", b.MaxPullBatch)
	}
	if b.MaxPullBytes <= 0 {
		p.addf("broker.maxPullBytes must be positive, got %d", b.MaxPullBytes)
	}
	// A cap of 0 would not mean "no cap" but "never hold a pull", which disables long polling.
	if b.MaxHeldPulls <= 0 {
		p.addf("broker.maxHeldPulls must be positive, got %d", b.MaxHeldPulls)
	}
	if b.MaxHeldPullsPerConn <= 0 {
		p.addf("broker.maxHeldPullsPerConn must be positive, got %d", b.MaxHeldPullsPerConn)
	}
	if _, err := broker.ParseDelayLevels(b.MessageDelayLevel); err != nil {
		p.addf("broker.messageDelayLevel %q: %v", b.MessageDelayLevel, err)
	}
	if b.MaxReconsumeTimes < 0 {
		p.addf("broker.maxReconsumeTimes must be 0 (dead-letter at once) or positive, got %d", b.MaxReconsumeTimes)
	}
	positive(p, "broker.lockLease", b.LockLease)
	if b.HotLogBytes < 0 {
		p.addf("broker.hotLogBytes must be 0 (40%% of memory) or positive, got %d", b.HotLogBytes)
	}
	positive(p, "broker.transactionTimeout", b.TransactionTimeout)
	positive(p, "broker.transactionCheckInterval", b.TransactionCheckInterval)
	if b.TransactionCheckMax < 0 {
		p.addf("broker.transactionCheckMax must be 0 or positive, got %d", b.TransactionCheckMax)
	}
}

func (c Config) validateRemoting(p *problems) {
	r := c.Remoting
	if r.MaxFrameSize <= 0 {
		p.addf("remoting.maxFrameSize must be positive, got %d", r.MaxFrameSize)
	}
	if r.MaxBodySize <= 0 {
		p.addf("remoting.maxBodySize must be positive, got %d", r.MaxBodySize)
	}
	if r.MaxBodySize >= r.MaxFrameSize {
		p.addf("remoting.maxBodySize (%d) must be below remoting.maxFrameSize (%d): a frame carries the body plus its header", r.MaxBodySize, r.MaxFrameSize)
	}
	// Zero disables these limits (adapters/remoting.Config), so only negatives are wrong.
	notNegative(p, "remoting.idleTimeout", r.IdleTimeout)
	notNegative(p, "remoting.writeTimeout", r.WriteTimeout)
	if r.MaxConnections < 0 {
		p.addf("remoting.maxConnections must be 0 (no limit) or positive, got %d", r.MaxConnections)
	}
}

func (s StorageConfig) validate(p *problems) {
	oneOf(p, "storage.engine", s.Engine, Engines()...)
	if s.Dir == "" {
		p.addf("storage.dir must not be empty")
	}
	m := s.Mmap
	if m.Dir == "" {
		p.addf("storage.mmap.dir must not be empty")
	}
	if m.MaxMessageSize <= 0 {
		p.addf("storage.mmap.maxMessageSize must be positive, got %d", m.MaxMessageSize)
	}
	if m.SegmentSize <= int64(m.MaxMessageSize) {
		p.addf("storage.mmap.segmentSize (%d) must be above storage.mmap.maxMessageSize (%d): every record fits in one segment", m.SegmentSize, m.MaxMessageSize)
	}
	if m.ConsumeQueueUnits <= 0 {
		p.addf("storage.mmap.consumeQueueUnits must be positive, got %d", m.ConsumeQueueUnits)
	}
	oneOf(p, "storage.mmap.flush", m.Flush, mmap.FlushAsync, mmap.FlushSync)
	positive(p, "storage.mmap.flushInterval", m.FlushInterval)
	positive(p, "storage.mmap.syncFlushTimeout", m.SyncFlushTimeout)
}

func oneOf(p *problems, key, v string, valid ...string) {
	if !slices.Contains(valid, v) {
		p.addf("%s must be one of %s, got %q", key, strings.Join(valid, "|"), v)
	}
}

func positive(p *problems, key string, d time.Duration) {
	if d <= 0 {
		p.addf("%s must be a positive duration such as \"30s\", got %s", key, d)
	}
}

func notNegative(p *problems, key string, d time.Duration) {
	if d < 0 {
		p.addf("%s must be 0 (disabled) or a positive duration, got %s", key, d)
	}
}

// listenAddr accepts what net.Listen("tcp", addr) accepts for a literal host: an ip, a host
// name, or nothing (all interfaces), and a port from 0 (pick a free one) to 65535.
func listenAddr(p *problems, key, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.addf("%s %q is not host:port (%v)", key, addr, err)
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		p.addf("%s %q: port must be a number from 0 to 65535", key, addr)
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		p.addf("%s %q: host must be an ip, a host name, or empty for all interfaces", key, addr)
	}
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}
