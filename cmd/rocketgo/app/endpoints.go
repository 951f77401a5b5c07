package app

import "sync"

// Addrs are the addresses of the running listeners, as clients should dial them. An empty field
// means the role does not run that component.
type Addrs struct {
	Namesrv string `json:"namesrv,omitempty"`
	Broker  string `json:"broker,omitempty"`
}

// Endpoints collects the listeners' addresses as components start. Run supplies one *Endpoints
// to the fx graph; the wiring's OnStart hooks call SetNamesrv and SetBroker once their listener
// is bound (with AdvertisedAddr's result, so port 0 becomes the real port), and Run reads it
// after start for the log and the ready file. In standalone the broker's hook reads Addrs().Namesrv
// to register with the in-process name server (see Config.RegisterAddrs).
type Endpoints struct {
	mu    sync.Mutex
	addrs Addrs
}

// SetNamesrv records the name server's address.
func (e *Endpoints) SetNamesrv(addr string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.addrs.Namesrv = addr
}

// SetBroker records the broker's address.
func (e *Endpoints) SetBroker(addr string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.addrs.Broker = addr
}

// Addrs returns the addresses recorded so far.
func (e *Endpoints) Addrs() Addrs {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addrs
}
