// Package namesrvapi maps the name server's remoting requests onto the route table.
package namesrvapi

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/core/namesrv"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/outbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

// Routes is what the handlers need of the route table.
type Routes interface {
	Register(reg namesrv.Registration) outbound.RegisterResult
	Unregister(cluster, brokerName, addr string, brokerID int64)
	ChannelClosed(channel uint64)
	Route(topic string) (namesrv.TopicRoute, error)
	Topics() []string
	DeleteTopic(topic string)
	Cluster() namesrv.ClusterInfo
}

// Handlers serve the name server's request codes.
type Handlers struct {
	routes Routes
	log    *zap.Logger
}

// New builds the handlers.
func New(routes Routes, log *zap.Logger) *Handlers { return &Handlers{routes: routes, log: log} }

// Register installs every handler on r. All of them only touch the route table in memory, so
// they run on the connection's read loop.
func (h *Handlers) Register(r *remoting.Router) {
	r.HandleInline(wire.RegisterBroker, h.registerBroker)
	r.HandleInline(wire.UnregisterBroker, h.unregisterBroker)
	r.HandleInline(wire.GetRouteInfoByTopic, h.routeByTopic)
	r.HandleInline(wire.GetBrokerClusterInfo, h.clusterInfo)
	r.HandleInline(wire.GetAllTopicListFromNameserver, h.allTopics)
	r.HandleInline(wire.DeleteTopicInNamesrv, h.deleteTopic)
}

// OnConnect drops the brokers registered over a connection as soon as it closes.
func (h *Handlers) OnConnect(c *remoting.Conn) {
	id := c.ID()
	c.OnClose(func() { h.routes.ChannelClosed(id) })
}

func fail(req *wire.Command, code int16, format string, args ...any) *wire.Command {
	return wire.NewResponse(req, code, fmt.Sprintf(format, args...))
}

func ok(req *wire.Command) *wire.Command { return wire.NewResponse(req, wire.Success, "") }

func (h *Handlers) registerBroker(_ context.Context, c *remoting.Conn, req *wire.Command) *wire.Command {
	id, err := strconv.ParseInt(req.Ext("brokerId"), 10, 64)
	if err != nil || id < 0 {
		return fail(req, wire.SystemError, "brokerId %q is not a non-negative integer", req.Ext("brokerId"))
	}
	reg := namesrv.Registration{Channel: c.ID()}
	reg.ClusterName, reg.BrokerName = req.Ext("clusterName"), req.Ext("brokerName")
	reg.BrokerAddr, reg.HAServerAddr, reg.BrokerID = req.Ext("brokerAddr"), req.Ext("haServerAddr"), id
	if reg.ClusterName == "" || reg.BrokerName == "" || reg.BrokerAddr == "" {
		return fail(req, wire.SystemError, "clusterName, brokerName and brokerAddr are required")
	}
	// Clients parse broker addresses by hand: anything but ip:port would break every route.
	if _, err := netip.ParseAddrPort(reg.BrokerAddr); err != nil {
		return fail(req, wire.SystemError, "brokerAddr %q is not ip:port: %v", reg.BrokerAddr, err)
	}
	if reg.HAServerAddr != "" {
		if _, err := netip.ParseAddrPort(reg.HAServerAddr); err != nil {
			return fail(req, wire.SystemError, "haServerAddr %q is not ip:port: %v", reg.HAServerAddr, err)
		}
	}
	if topic.ValidateTopic(reg.ClusterName) != nil || topic.ValidateTopic(reg.BrokerName) != nil {
		return fail(req, wire.SystemError, "clusterName %q or brokerName %q has characters outside [%%|a-zA-Z0-9_-]",
			reg.ClusterName, reg.BrokerName)
	}
	if crc := req.Ext("bodyCrc32"); crc != "" && crc != "0" {
		want, err := strconv.ParseInt(crc, 10, 64)
		if err != nil || int64(crc32.ChecksumIEEE(req.Body)&0x7FFFFFFF) != want {
			return fail(req, wire.SystemError, "crc32 not match")
		}
	}
	var wrapper *wire.TopicConfigWrapper
	if len(req.Body) > 0 {
		if req.Ext("compressed") == "true" {
			wrapper, err = decodeCompressed(req.Body)
		} else {
			var body wire.RegisterBrokerBody
			err = json.Unmarshal(req.Body, &body)
			wrapper = &body.TopicConfigSerializeWrapper
		}
		if err != nil {
			return fail(req, wire.SystemError, "register broker body: %v", err)
		}
		reg.DataVersion = topic.DataVersion{Counter: wrapper.DataVersion.Counter, Timestamp: wrapper.DataVersion.Timestamp}
		for name, tc := range wrapper.TopicConfigTable {
			if topic.ValidateTopic(name) != nil {
				h.log.Warn("broker registered an invalid topic name; ignored", zap.String("broker", reg.BrokerName),
					zap.String("topic", name))
				continue
			}
			reg.Topics = append(reg.Topics, topic.Config{Name: name, ReadQueueNums: tc.ReadQueueNums,
				WriteQueueNums: tc.WriteQueueNums, Perm: tc.Perm, FilterType: tc.TopicFilterType,
				SysFlag: tc.TopicSysFlag, Order: tc.Order})
		}
	}
	res := h.routes.Register(reg)
	resp := ok(req)
	resp.SetExt("masterAddr", res.MasterAddr)
	resp.SetExt("haServerAddr", res.HAServerAddr)
	return resp
}

// maxCompressedBody bounds what a compressed registration may inflate to.
const maxCompressedBody = 64 << 20

// decodeCompressed reads the compact registration form: a zlib stream of length-prefixed parts.
func decodeCompressed(body []byte) (*wire.TopicConfigWrapper, error) {
	zr, err := zlib.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	r := io.LimitReader(zr, maxCompressedBody)
	part := func() ([]byte, error) {
		var n int32
		if err := binary.Read(r, binary.BigEndian, &n); err != nil {
			return nil, err
		}
		if n < 0 || n > maxCompressedBody {
			return nil, fmt.Errorf("part length %d", n)
		}
		// Read what is there rather than allocate what the stream claims.
		b, err := io.ReadAll(io.LimitReader(r, int64(n)))
		if err == nil && len(b) != int(n) {
			err = io.ErrUnexpectedEOF
		}
		return b, err
	}
	w := &wire.TopicConfigWrapper{TopicConfigTable: make(map[string]wire.TopicConfig)}
	dv, err := part()
	if err != nil {
		return nil, fmt.Errorf("data version: %w", err)
	}
	if err := json.Unmarshal(dv, &w.DataVersion); err != nil {
		return nil, fmt.Errorf("data version: %w", err)
	}
	var count int32
	if err := binary.Read(r, binary.BigEndian, &count); err != nil {
		return nil, fmt.Errorf("topic count: %w", err)
	}
	for i := int32(0); i < count; i++ {
		b, err := part()
		if err != nil {
			return nil, fmt.Errorf("topic %d: %w", i, err)
		}
		f := strings.Fields(string(b))
		if len(f) < 4 {
			return nil, fmt.Errorf("topic %d: %q", i, b)
		}
		rq, e1 := strconv.ParseInt(f[1], 10, 32)
		wq, e2 := strconv.ParseInt(f[2], 10, 32)
		perm, e3 := strconv.ParseInt(f[3], 10, 32)
		if err := errors.Join(e1, e2, e3); err != nil {
			return nil, fmt.Errorf("topic %d: %w", i, err)
		}
		tc := wire.TopicConfig{TopicName: f[0], ReadQueueNums: int32(rq), WriteQueueNums: int32(wq), Perm: int32(perm)}
		if len(f) > 4 {
			tc.TopicFilterType = f[4]
		}
		w.TopicConfigTable[f[0]] = tc
	}
	return w, nil
}

func (h *Handlers) unregisterBroker(_ context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	id, err := strconv.ParseInt(req.Ext("brokerId"), 10, 64)
	if err != nil {
		return fail(req, wire.SystemError, "brokerId %q is not an integer", req.Ext("brokerId"))
	}
	h.routes.Unregister(req.Ext("clusterName"), req.Ext("brokerName"), req.Ext("brokerAddr"), id)
	return ok(req)
}

func (h *Handlers) routeByTopic(_ context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	name := req.Ext("topic")
	route, err := h.routes.Route(name)
	if err != nil {
		return fail(req, wire.TopicNotExist, "No topic route info in name server for the topic: %s", name)
	}
	data := wire.TopicRouteData{}
	for _, b := range route.Brokers {
		data.BrokerDatas = append(data.BrokerDatas, wire.BrokerData{Cluster: b.Cluster, BrokerName: b.BrokerName, BrokerAddrs: b.Addrs})
	}
	for _, q := range route.Queues {
		data.QueueDatas = append(data.QueueDatas, wire.QueueData{BrokerName: q.BrokerName, ReadQueueNums: q.ReadQueueNums,
			WriteQueueNums: q.WriteQueueNums, Perm: q.Perm, TopicSysFlag: q.TopicSysFlag})
	}
	resp := ok(req)
	resp.Body = wire.AppendTopicRoute(nil, &data, quoted(req))
	return resp
}

// quoted reports whether the requester gets standard JSON (quoted broker ids), as RocketMQ decides.
func quoted(req *wire.Command) bool {
	return req.Version >= wire.StandardJSONVersion || req.Ext("acceptStandardJsonOnly") == "true"
}

func (h *Handlers) clusterInfo(_ context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	ci := h.routes.Cluster()
	out := wire.ClusterInfo{BrokerAddrTable: make(map[string]wire.BrokerData, len(ci.Brokers)), ClusterAddrTable: ci.Clusters}
	for name, b := range ci.Brokers {
		out.BrokerAddrTable[name] = wire.BrokerData{Cluster: b.Cluster, BrokerName: b.BrokerName, BrokerAddrs: b.Addrs}
	}
	resp := ok(req)
	resp.Body = wire.AppendClusterInfo(nil, &out, quoted(req))
	return resp
}

func (h *Handlers) allTopics(_ context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	body, err := json.Marshal(wire.TopicListBody{TopicList: h.routes.Topics()})
	if err != nil {
		return fail(req, wire.SystemError, "encode topic list: %v", err)
	}
	resp := ok(req)
	resp.Body = body
	return resp
}

func (h *Handlers) deleteTopic(_ context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	name := req.Ext("topic")
	if err := topic.ValidateTopic(name); err != nil {
		return fail(req, wire.SystemError, "%v", err)
	}
	h.routes.DeleteTopic(name)
	return ok(req)
}
