package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rocketgo/rocketgo/adapters/filter/sql92"
	"github.com/rocketgo/rocketgo/adapters/filter/tag"
	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/adapters/remoting/brokerapi"
	"github.com/rocketgo/rocketgo/adapters/remoting/namesrvapi"
	"github.com/rocketgo/rocketgo/adapters/storage/filemeta"
	"github.com/rocketgo/rocketgo/adapters/storage/memory"
	"github.com/rocketgo/rocketgo/adapters/storage/mmap"
	"github.com/rocketgo/rocketgo/adapters/storage/timerlog"
	"github.com/rocketgo/rocketgo/core/broker"
	"github.com/rocketgo/rocketgo/core/namesrv"
	"github.com/rocketgo/rocketgo/ports/clock"
	"github.com/rocketgo/rocketgo/ports/filter"
	"github.com/rocketgo/rocketgo/ports/storage"
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// RoleModule wires the components a role runs. The name server's hooks are appended before the
// broker's, so in standalone it listens before the broker registers with it.
func RoleModule(role Role, cfg Config) fx.Option {
	opts := []fx.Option{fx.Provide(func() clock.Clock { return clock.System{} })}
	if role.RunsNamesrv() {
		opts = append(opts, namesrvModule())
	}
	if role.RunsBroker() {
		opts = append(opts, brokerModule(cfg))
	}
	return fx.Options(opts...)
}

func namesrvModule() fx.Option {
	return fx.Module("namesrv",
		fx.Provide(func(cfg Config, clk clock.Clock, log *zap.Logger) *namesrv.RouteTable {
			return namesrv.NewRouteTable(cfg.Namesrv.Config, clk, log.Named("namesrv"))
		}),
		fx.Invoke(startNamesrv),
	)
}

func startNamesrv(lc fx.Lifecycle, cfg Config, log *zap.Logger, routes *namesrv.RouteTable, ep *Endpoints) {
	log = log.Named("namesrv")
	h := namesrvapi.New(routes, log)
	r := remoting.NewRouter(cfg.Remoting, log)
	h.Register(r)
	srv := remoting.NewServer(cfg.Remoting, cfg.Namesrv.Listen, r.Serve, log)
	srv.SetInline(r.Inline)
	srv.OnConnect(h.OnConnect)
	lc.Append(fx.Hook{OnStart: routes.Start, OnStop: routes.Stop})
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := srv.Start(ctx); err != nil {
				return fmt.Errorf("name server listener: %w", err)
			}
			addr := AdvertisedAddr("", net.TCPAddrFromAddrPort(srv.Addr()))
			ep.SetNamesrv(addr)
			log.Info("name server listening", zap.String("addr", addr))
			return nil
		},
		OnStop: srv.Stop,
	})
}

// messageStore is a store with a lifecycle, whichever engine provides it.
type messageStore interface {
	storage.MessageStore
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// engine is what one storage engine provides: the message store, the metadata documents and the
// timer wheel's log.
type engine struct {
	store  messageStore
	meta   storage.MetaStore
	timers storage.TimerLog
}

// storeFactory builds one storage engine.
type storeFactory func(cfg Config, log *zap.Logger) (engine, error)

// storageEngines is the selector of storage.engine: one key swaps one adapter.
func storageEngines() map[string]storeFactory {
	return map[string]storeFactory{
		EngineMmap: func(cfg Config, log *zap.Logger) (engine, error) {
			st, err := mmap.New(cfg.Storage.Mmap, log)
			if err != nil {
				return engine{}, err
			}
			meta, err := filemeta.New(cfg.Storage.MetaDir())
			if err != nil {
				return engine{}, err
			}
			tl, err := timerlog.Open(filepath.Join(cfg.Storage.Dir, "timer"), 0)
			if err != nil {
				return engine{}, err
			}
			return engine{store: st, meta: meta, timers: tl}, nil
		},
		EngineMemory: func(Config, *zap.Logger) (engine, error) {
			return engine{store: memoryStore{memory.New()}, meta: memory.NewMetaStore(), timers: memory.NewTimerLog()}, nil
		},
	}
}

// memoryStore gives the memory engine the lifecycle the wiring expects; it has nothing to open
// or flush.
type memoryStore struct{ *memory.Store }

func (memoryStore) Start(context.Context) error { return nil }
func (memoryStore) Stop(context.Context) error  { return nil }

func newEngine(cfg Config, log *zap.Logger) (engine, error) {
	engines := storageEngines()
	f, ok := engines[cfg.Storage.Engine]
	if !ok {
		names := make([]string, 0, len(engines))
		for n := range engines {
			names = append(names, n)
		}
		sort.Strings(names)
		return engine{}, fmt.Errorf("storage.engine %q is not one of %s", cfg.Storage.Engine, strings.Join(names, ", "))
	}
	return f(cfg, log)
}

func brokerModule(cfg Config) fx.Option {
	return fx.Module("broker",
		fx.Provide(
			newEngine,
			func(e engine) messageStore { return e.store },
			func(cfg Config, log *zap.Logger) *remoting.Client {
				return remoting.NewClient(cfg.Remoting, nil, log.Named("broker.client"))
			},
			newFilterRegistry,
			func(e engine, c *remoting.Client, filters *filter.Registry, clk clock.Clock, log *zap.Logger) *broker.Broker {
				bc := cfg.Broker.Config
				if bc.HotLogBytes == 0 {
					// RocketMQ's accessMessageInMemoryMaxRatio: 40% of physical memory.
					bc.HotLogBytes = totalMemory() * 4 / 10
				}
				return broker.New(bc, e.store, e.meta, brokerapi.NewNamesrvClient(c), filters, clk, log.Named("broker"),
					broker.WithTimerLog(e.timers))
			},
		),
		fx.Invoke(startBroker),
	)
}

// newFilterRegistry provides the broker's filter compilers: TAG always, SQL92 (lowered onto expr)
// when broker.enablePropertyFilter is on, within the broker.filterMax* limits. A plugin host
// would register its types here.
func newFilterRegistry(cfg Config) (*filter.Registry, error) {
	bc := cfg.Broker.Config
	cs := []filter.Compiler{tag.New()}
	if bc.EnablePropertyFilter {
		c, err := sql92.New(sql92.Config{MaxExpressionLength: bc.FilterMaxExpressionLength, MaxDepth: bc.FilterMaxDepth,
			MaxInList: bc.FilterMaxInList, CacheSize: sql92.Defaults().CacheSize})
		if err != nil {
			return nil, fmt.Errorf("broker.filterMax*: %w", err)
		}
		cs = append(cs, c)
	}
	return filter.NewRegistry(cs...)
}

// startBroker orders the broker's lifecycle: store, client, domain, then the listener; fx stops
// them in reverse, so the listener closes first and the store flushes last.
func startBroker(lc fx.Lifecycle, cfg Config, role Role, log *zap.Logger, e engine,
	client *remoting.Client, b *broker.Broker, ep *Endpoints) {
	st := e.store
	log = log.Named("broker")
	h := brokerapi.New(b, cfg.Broker.Name, cfg.Broker.Region, log)
	r := remoting.NewRouter(cfg.Remoting, log)
	// An append under sync flush waits for the disk: those requests need their own goroutines.
	h.Register(r, cfg.Storage.Engine == EngineMemory || cfg.Storage.Mmap.Flush != mmap.FlushSync)
	srv := remoting.NewServer(cfg.Remoting, cfg.Broker.Listen, r.Serve, log)
	srv.SetInline(r.Inline)
	srv.SetGrouper(r) // pipelined sends are stored with one append per burst
	srv.OnConnect(h.OnConnect)

	lc.Append(fx.Hook{OnStart: st.Start, OnStop: st.Stop})
	lc.Append(fx.Hook{OnStop: func(context.Context) error { return client.Close() }})
	if c, ok := e.timers.(io.Closer); ok {
		lc.Append(fx.Hook{OnStop: func(context.Context) error { return c.Close() }})
	}
	lc.Append(fx.Hook{OnStart: b.Start, OnStop: b.Stop})
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := srv.Start(ctx); err != nil {
				return fmt.Errorf("broker listener: %w", err)
			}
			addr := AdvertisedAddr(cfg.Broker.AdvertisedAddr, net.TCPAddrFromAddrPort(srv.Addr()))
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return fmt.Errorf("broker advertised address %q must be an ip:port literal: %w", addr, err)
			}
			// Offset message ids of IPv6 store hosts break the Go client's transaction producer.
			if !ap.Addr().Unmap().Is4() {
				return fmt.Errorf("broker advertised address %q must be IPv4 (set broker.advertisedAddr)", addr)
			}
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			haAddr := ""
			if ap.Port() < 65535 {
				haAddr = netip.AddrPortFrom(ap.Addr(), ap.Port()+1).String()
			}
			b.SetNamesrvAddrs(cfg.RegisterAddrs(role, ep.Addrs().Namesrv))
			b.Serve(ctx, ap, haAddr)
			ep.SetBroker(addr)
			log.Info("broker listening", zap.String("addr", addr), zap.String("name", cfg.Broker.Name),
				zap.String("cluster", cfg.Broker.Cluster), zap.Strings("namesrv", cfg.RegisterAddrs(role, ep.Addrs().Namesrv)))
			return nil
		},
		OnStop: srv.Stop,
	})
}
