package brokerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/ports/outbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// NamesrvClient registers the broker with name servers over remoting.
type NamesrvClient struct{ c *remoting.Client }

var _ outbound.NameServerClient = (*NamesrvClient)(nil)

// NewNamesrvClient uses c for every name server.
func NewNamesrvClient(c *remoting.Client) *NamesrvClient { return &NamesrvClient{c: c} }

func registrationHeader(reg outbound.BrokerRegistration) map[string]string {
	return map[string]string{
		"brokerName": reg.BrokerName, "brokerAddr": reg.BrokerAddr, "clusterName": reg.ClusterName,
		"haServerAddr": reg.HAServerAddr, "brokerId": strconv.FormatInt(reg.BrokerID, 10),
	}
}

// RegisterBroker sends REGISTER_BROKER with the full topic table.
func (n *NamesrvClient) RegisterBroker(ctx context.Context, addr string, reg outbound.BrokerRegistration) (outbound.RegisterResult, error) {
	body := wire.RegisterBrokerBody{FilterServerList: []string{}, TopicConfigSerializeWrapper: wire.TopicConfigWrapper{
		DataVersion:      wire.DataVersion{Counter: reg.DataVersion.Counter, Timestamp: reg.DataVersion.Timestamp},
		TopicConfigTable: make(map[string]wire.TopicConfig, len(reg.Topics)),
	}}
	for _, t := range reg.Topics {
		body.TopicConfigSerializeWrapper.TopicConfigTable[t.Name] = toWireTopic(t)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return outbound.RegisterResult{}, fmt.Errorf("encode registration: %w", err)
	}
	ext := registrationHeader(reg)
	ext["compressed"] = "false"
	ext["bodyCrc32"] = strconv.FormatInt(int64(crc32.ChecksumIEEE(data)&0x7FFFFFFF), 10)
	resp, err := n.c.Invoke(ctx, addr, wire.NewRequest(wire.RegisterBroker, ext, data))
	if err != nil {
		return outbound.RegisterResult{}, fmt.Errorf("register with %s: %w", addr, err)
	}
	if resp.Code != wire.Success {
		return outbound.RegisterResult{}, fmt.Errorf("register with %s: code %d: %s", addr, resp.Code, resp.Remark)
	}
	return outbound.RegisterResult{MasterAddr: resp.Ext("masterAddr"), HAServerAddr: resp.Ext("haServerAddr")}, nil
}

// UnregisterBroker sends UNREGISTER_BROKER.
func (n *NamesrvClient) UnregisterBroker(ctx context.Context, addr string, reg outbound.BrokerRegistration) error {
	resp, err := n.c.Invoke(ctx, addr, wire.NewRequest(wire.UnregisterBroker, registrationHeader(reg), nil))
	if err != nil {
		return fmt.Errorf("unregister from %s: %w", addr, err)
	}
	if resp.Code != wire.Success {
		return fmt.Errorf("unregister from %s: code %d: %s", addr, resp.Code, resp.Remark)
	}
	return nil
}
