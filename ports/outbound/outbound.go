// Package outbound states the calls the domain makes to the outside world over the network: to
// name servers, and back to connected clients.
package outbound

import (
	"context"
	"net/netip"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
)

// TransactionCheck is one CHECK_TRANSACTION_STATE: the half message as stored (the transport sends
// it with its real topic and queue restored) and where it is.
type TransactionCheck struct {
	HalfOffset      int64
	CommitLogOffset int64
	Message         message.Ext
}

// Channel is one connected client as the broker sees it.
type Channel interface {
	// ID is unique per connection for the life of the process.
	ID() uint64
	// RemoteAddr is the client's socket address (the born host of what it sends).
	RemoteAddr() netip.AddrPort
	// NotifyConsumerIDsChanged tells the client that its group's membership changed, so it
	// rebalances now rather than at its next timer. Fire and forget.
	NotifyConsumerIDsChanged(ctx context.Context, group string) error
	// ResetConsumerOffsets tells a consumer of group to continue topic's queues of brokerName
	// from the given offsets (queue id -> offset). Fire and forget.
	ResetConsumerOffsets(ctx context.Context, topic, group, brokerName string, timestampMs int64, offsets map[int32]int64) error
	// CheckTransactionState asks a producer how an undecided transaction ended; the producer
	// answers later with a separate END_TRANSACTION. Fire and forget.
	CheckTransactionState(ctx context.Context, check TransactionCheck) error
	// Close drops the connection.
	Close() error
}

// BrokerRegistration is what a broker tells each name server about itself.
type BrokerRegistration struct {
	ClusterName  string
	BrokerName   string
	BrokerAddr   string // ip:port clients dial
	HAServerAddr string
	BrokerID     int64
	DataVersion  topic.DataVersion
	Topics       []topic.Config
}

// RegisterResult is a name server's answer to a registration.
type RegisterResult struct {
	MasterAddr   string // for slaves: the master's address, when known
	HAServerAddr string
}

// NameServerClient registers a broker with name servers.
type NameServerClient interface {
	RegisterBroker(ctx context.Context, namesrvAddr string, reg BrokerRegistration) (RegisterResult, error)
	UnregisterBroker(ctx context.Context, namesrvAddr string, reg BrokerRegistration) error
}
