package broker

import (
	"context"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/ports/outbound"
	"go.uber.org/zap"
)

// registerTimeout bounds one registration with one name server (RocketMQ's 6 s).
const registerTimeout = 6 * time.Second

// registrar keeps the broker registered with every name server: at start, every interval, and at
// once when the topic table changes.
type registrar struct {
	cfg    Config
	ns     outbound.NameServerClient
	topics *Topics
	log    *zap.Logger

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	self   outbound.BrokerRegistration
	addrs  []string
}

func newRegistrar(cfg Config, ns outbound.NameServerClient, topics *Topics, log *zap.Logger) *registrar {
	return &registrar{cfg: cfg, ns: ns, topics: topics, log: log, kick: make(chan struct{}, 1), addrs: cfg.NamesrvAddrs}
}

// trigger asks for a registration soon; repeated triggers coalesce.
func (r *registrar) trigger() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// registerNow registers with every name server before it returns, once the broker has started:
// an admin's topic change is then routable the moment it is answered, as in RocketMQ.
func (r *registrar) registerNow(ctx context.Context) {
	r.mu.Lock()
	started := r.self.BrokerAddr != ""
	r.mu.Unlock()
	if started {
		r.registerAll(ctx)
	}
}

func (r *registrar) start(ctx context.Context, addr, haAddr string) {
	r.mu.Lock()
	r.self = outbound.BrokerRegistration{ClusterName: r.cfg.Cluster, BrokerName: r.cfg.Name, BrokerAddr: addr,
		HAServerAddr: haAddr, BrokerID: r.cfg.ID}
	r.mu.Unlock()
	r.registerAll(ctx)
	bg, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.run(bg)
}

func (r *registrar) run(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.cfg.RegisterInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
		r.registerAll(ctx)
	}
}

// setNamesrvAddrs replaces the name servers to register with (a standalone process learns its
// own name server's port only once it listens).
func (r *registrar) setNamesrvAddrs(addrs []string) {
	r.mu.Lock()
	r.addrs = append([]string(nil), addrs...)
	r.mu.Unlock()
}

func (r *registrar) registration() (outbound.BrokerRegistration, []string) {
	r.mu.Lock()
	reg, addrs := r.self, r.addrs
	r.mu.Unlock()
	reg.Topics, reg.DataVersion = r.topics.Snapshot()
	return reg, addrs
}

func (r *registrar) registerAll(ctx context.Context) {
	reg, addrs := r.registration()
	var wg sync.WaitGroup
	for _, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, registerTimeout)
			defer cancel()
			if _, err := r.ns.RegisterBroker(cctx, addr, reg); err != nil {
				r.log.Warn("register with name server failed", zap.String("namesrv", addr), zap.Error(err))
			}
		}()
	}
	wg.Wait()
}

// stop ends periodic registration and unregisters from every name server.
func (r *registrar) stop(ctx context.Context) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	reg, addrs := r.registration()
	var wg sync.WaitGroup
	for _, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			if err := r.ns.UnregisterBroker(cctx, addr, reg); err != nil {
				r.log.Warn("unregister from name server failed", zap.String("namesrv", addr), zap.Error(err))
			}
		}()
	}
	wg.Wait()
}
