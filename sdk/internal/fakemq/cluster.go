package fakemq

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// Cluster is a name server and brokers; every broker holds every topic.
type Cluster struct {
	NS      *Server
	Brokers []*Broker

	mu        sync.Mutex
	topics    map[string]int32 // queues per broker
	QuotedIDs bool             // answer routes with quoted broker ids (standard JSON)
}

// NewCluster starts a name server and n brokers named broker-0... with TBW102 (8 queues, perm 7).
func NewCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	cl := &Cluster{NS: NewServer(t), topics: map[string]int32{"TBW102": 8}}
	for i := range n {
		cl.Brokers = append(cl.Brokers, newBroker(t, cl, "broker-"+strconv.Itoa(i)))
	}
	cl.NS.Handle(wire.GetRouteInfoByTopic, cl.route)
	cl.NS.Handle(wire.GetBrokerClusterInfo, cl.clusterInfo)
	cl.NS.Handle(wire.GetAllTopicListFromNameserver, func(_ *Conn, req *wire.Command) *wire.Command {
		cl.mu.Lock()
		var names []string
		for n := range cl.topics {
			names = append(names, n)
		}
		cl.mu.Unlock()
		resp := wire.NewResponse(req, wire.Success, "")
		resp.Body, _ = json.Marshal(wire.TopicListBody{TopicList: names})
		return resp
	})
	return cl
}

// CreateTopic makes topic with queues queues on every broker.
func (cl *Cluster) CreateTopic(topic string, queues int32) {
	cl.mu.Lock()
	cl.topics[topic] = queues
	cl.mu.Unlock()
}

func (cl *Cluster) hasTopic(topic string) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	_, ok := cl.topics[topic]
	return ok
}

// RouteData is topic's route as the name server answers it.
func (cl *Cluster) RouteData(topic string) (*wire.TopicRouteData, bool) {
	cl.mu.Lock()
	n, ok := cl.topics[topic]
	cl.mu.Unlock()
	if !ok {
		return nil, false
	}
	perm := int32(6)
	if topic == "TBW102" {
		perm = 7
	}
	d := &wire.TopicRouteData{}
	for _, b := range cl.Brokers {
		d.BrokerDatas = append(d.BrokerDatas, wire.BrokerData{Cluster: "FakeCluster", BrokerName: b.Name, BrokerAddrs: map[int64]string{0: b.Addr}})
		d.QueueDatas = append(d.QueueDatas, wire.QueueData{BrokerName: b.Name, ReadQueueNums: n, WriteQueueNums: n, Perm: perm})
	}
	return d, true
}

func (cl *Cluster) route(_ *Conn, req *wire.Command) *wire.Command {
	d, ok := cl.RouteData(req.Ext("topic"))
	if !ok {
		return wire.NewResponse(req, wire.TopicNotExist, "No topic route info in name server for the topic: "+req.Ext("topic"))
	}
	resp := wire.NewResponse(req, wire.Success, "")
	resp.Body = wire.AppendTopicRoute(nil, d, cl.QuotedIDs)
	return resp
}

func (cl *Cluster) clusterInfo(_ *Conn, req *wire.Command) *wire.Command {
	ci := &wire.ClusterInfo{BrokerAddrTable: map[string]wire.BrokerData{}, ClusterAddrTable: map[string][]string{}}
	for _, b := range cl.Brokers {
		ci.BrokerAddrTable[b.Name] = wire.BrokerData{Cluster: "FakeCluster", BrokerName: b.Name, BrokerAddrs: map[int64]string{0: b.Addr}}
		ci.ClusterAddrTable["FakeCluster"] = append(ci.ClusterAddrTable["FakeCluster"], b.Name)
	}
	resp := wire.NewResponse(req, wire.Success, "")
	resp.Body = wire.AppendClusterInfo(nil, ci, cl.QuotedIDs)
	return resp
}

// qkey names a queue of a broker.
type qkey struct {
	topic string
	id    int32
}

// SendBack is a CONSUMER_SEND_MSG_BACK the broker received.
type SendBack struct {
	Group      string
	Offset     int64
	DelayLevel int
	MsgID      string
}

// Broker keeps messages in memory.
type Broker struct {
	*Server
	Name string
	cl   *Cluster
	host netip.AddrPort

	mu        sync.Mutex
	queues    map[qkey][][]byte // encoded records
	byPhys    map[int64][]byte
	phys      int64
	offsets   map[string]int64             // group@topic@qid
	members   map[string]map[string]*Conn  // group -> client id -> conn
	consumers map[string]wire.ConsumerData // group -> last data
	locks     map[string]string            // group@topic@qid -> client id
	sendBacks []SendBack
	arrived   chan struct{} // closed and replaced on every append (wakes held pulls)
}

func newBroker(t testing.TB, cl *Cluster, name string) *Broker {
	b := &Broker{Server: NewServer(t), Name: name, cl: cl, queues: map[qkey][][]byte{}, byPhys: map[int64][]byte{},
		offsets: map[string]int64{}, members: map[string]map[string]*Conn{}, consumers: map[string]wire.ConsumerData{},
		locks: map[string]string{}, arrived: make(chan struct{})}
	b.host = netip.MustParseAddrPort(b.Addr)
	b.Handle(wire.SendMessage, b.send)
	b.Handle(wire.SendMessageV2, b.send)
	b.Handle(wire.SendBatchMessage, b.send)
	b.Handle(wire.PullMessage, b.pull)
	b.Handle(wire.HeartBeat, b.heartbeat)
	b.Handle(wire.UnregisterClient, func(c *Conn, req *wire.Command) *wire.Command {
		b.dropConn(c)
		return wire.NewResponse(req, wire.Success, "")
	})
	b.Handle(wire.GetConsumerListByGroup, b.consumerList)
	b.Handle(wire.QueryConsumerOffset, b.queryOffset)
	b.Handle(wire.UpdateConsumerOffset, b.updateOffset)
	b.Handle(wire.GetMaxOffset, b.maxOffset)
	b.Handle(wire.GetMinOffset, func(_ *Conn, req *wire.Command) *wire.Command {
		resp := wire.NewResponse(req, wire.Success, "")
		resp.SetExt("offset", "0")
		return resp
	})
	b.Handle(wire.LockBatchMQ, b.lock)
	b.Handle(wire.UnlockBatchMQ, b.unlock)
	b.Handle(wire.ConsumerSendMsgBack, b.sendBack)
	b.OnClose(b.dropConn)
	return b
}

var sendV2 = map[string]string{"a": "producerGroup", "b": "topic", "e": "queueId", "f": "sysFlag", "g": "bornTimestamp",
	"h": "flag", "i": "properties", "j": "reconsumeTimes"}

func sendHeader(req *wire.Command) map[string]string {
	if req.Code == wire.SendMessage || req.Ext("topic") != "" {
		return req.ExtMap()
	}
	out := map[string]string{}
	for s, l := range sendV2 {
		out[l] = req.Ext(s)
	}
	return out
}

func (b *Broker) send(c *Conn, req *wire.Command) *wire.Command {
	h := sendHeader(req)
	topic := h["topic"]
	if !b.cl.hasTopic(topic) {
		b.cl.CreateTopic(topic, 4)
	}
	qid, _ := strconv.Atoi(h["queueId"])
	sys, _ := strconv.Atoi(h["sysFlag"])
	born, _ := strconv.ParseInt(h["bornTimestamp"], 10, 64)
	flag, _ := strconv.Atoi(h["flag"])
	var entries []wire.BatchEntry
	if req.Code == wire.SendBatchMessage {
		var err error
		if entries, err = wire.DecodeBatch(req.Body); err != nil {
			return wire.NewResponse(req, wire.MessageIllegal, err.Error())
		}
	} else {
		entries = []wire.BatchEntry{{Flag: int32(flag), Body: req.Body, Properties: h["properties"]}}
	}
	var ids []string
	var first int64
	for i, e := range entries {
		rec := wire.Record{QueueID: int32(qid), Flag: e.Flag, SysFlag: int32(sys), BornTimestamp: born,
			BornHost: netip.MustParseAddrPort("127.0.0.1:1"), StoreHost: b.host, Body: e.Body, Topic: topic,
			Properties: e.Properties}
		off, phys := b.appendRecord(rec)
		if i == 0 {
			first = off
		}
		ids = append(ids, wire.OffsetMsgID(b.host, phys))
	}
	resp := wire.NewResponse(req, wire.Success, "")
	resp.SetExt("msgId", joinComma(ids))
	resp.SetExt("queueId", strconv.Itoa(qid))
	resp.SetExt("queueOffset", strconv.FormatInt(first, 10))
	resp.SetExt("MSG_REGION", "DefaultRegion")
	resp.SetExt("TRACE_ON", "true")
	return resp
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

// appendRecord stores a record and returns its queue and physical offsets.
func (b *Broker) appendRecord(rec wire.Record) (int64, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := qkey{rec.Topic, rec.QueueID}
	rec.QueueOffset = int64(len(b.queues[k]))
	rec.PhysicalOffset = b.phys
	rec.StoreTimestamp = time.Now().UnixMilli()
	data := wire.AppendRecord(nil, &rec)
	b.phys += int64(len(data))
	b.queues[k] = append(b.queues[k], data)
	b.byPhys[rec.PhysicalOffset] = data
	close(b.arrived)
	b.arrived = make(chan struct{})
	return rec.QueueOffset, rec.PhysicalOffset
}

// Put stores a message directly (tests use it to fill queues).
func (b *Broker) Put(topic string, qid int32, body string, props string) int64 {
	off, _ := b.appendRecord(wire.Record{QueueID: qid, Topic: topic, Body: []byte(body), Properties: props,
		BornHost: netip.MustParseAddrPort("127.0.0.1:1"), StoreHost: b.host, BornTimestamp: time.Now().UnixMilli()})
	return off
}

// Messages returns the records of a queue.
func (b *Broker) Messages(topic string, qid int32) []wire.Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []wire.Record
	for _, d := range b.queues[qkey{topic, qid}] {
		r, _, _ := wire.DecodeRecord(d)
		out = append(out, r)
	}
	return out
}

// Total is the number of messages of topic on this broker.
func (b *Broker) Total(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for k, q := range b.queues {
		if k.topic == topic {
			n += len(q)
		}
	}
	return n
}

func (b *Broker) pull(_ *Conn, req *wire.Command) *wire.Command {
	topic := req.Ext("topic")
	qid, _ := strconv.Atoi(req.Ext("queueId"))
	off, _ := strconv.ParseInt(req.Ext("queueOffset"), 10, 64)
	maxN, _ := strconv.Atoi(req.Ext("maxMsgNums"))
	sys, _ := strconv.Atoi(req.Ext("sysFlag"))
	suspend, _ := strconv.Atoi(req.Ext("suspendTimeoutMillis"))
	group := req.Ext("consumerGroup")
	k := qkey{topic, int32(qid)}
	if sys&1 != 0 {
		commit, _ := strconv.ParseInt(req.Ext("commitOffset"), 10, 64)
		b.mu.Lock()
		b.offsets[group+"@"+topic+"@"+strconv.Itoa(qid)] = commit
		b.mu.Unlock()
	}
	// Hold at most 300ms (long polling in miniature).
	deadline := time.Now().Add(min(time.Duration(suspend)*time.Millisecond, 300*time.Millisecond))
	for {
		b.mu.Lock()
		q := b.queues[k]
		arrived := b.arrived
		n := int64(len(q))
		if off < n || sys&2 == 0 || time.Now().After(deadline) {
			resp := wire.NewResponse(req, wire.PullNotFound, "")
			next := off
			switch {
			case off > n:
				resp.Code, next = wire.PullOffsetMoved, n
			case off < n:
				resp.Code = wire.Success
				for i := off; i < n && i < off+int64(maxN); i++ {
					resp.Body = append(resp.Body, q[i]...)
					next = i + 1
				}
			}
			b.mu.Unlock()
			resp.SetExt("nextBeginOffset", strconv.FormatInt(next, 10))
			resp.SetExt("minOffset", "0")
			resp.SetExt("maxOffset", strconv.FormatInt(n, 10))
			resp.SetExt("suggestWhichBrokerId", "0")
			return resp
		}
		b.mu.Unlock()
		select {
		case <-arrived:
		case <-time.After(time.Until(deadline)):
		}
	}
}

func (b *Broker) heartbeat(c *Conn, req *wire.Command) *wire.Command {
	var hb wire.HeartbeatData
	if err := json.Unmarshal(req.Body, &hb); err != nil {
		return wire.NewResponse(req, wire.SystemError, err.Error())
	}
	var notify []string
	b.mu.Lock()
	for _, cd := range hb.ConsumerDataSet {
		m := b.members[cd.GroupName]
		if m == nil {
			m = map[string]*Conn{}
			b.members[cd.GroupName] = m
		}
		if m[hb.ClientID] == nil {
			notify = append(notify, cd.GroupName)
		}
		m[hb.ClientID] = c
		b.consumers[cd.GroupName] = cd
		for _, s := range cd.SubscriptionDataSet {
			if !b.cl.hasTopic(s.Topic) && len(s.Topic) > 7 && s.Topic[:7] == "%RETRY%" {
				b.cl.CreateTopic(s.Topic, 1)
			}
		}
	}
	b.mu.Unlock()
	for _, g := range notify {
		b.notify(g)
	}
	return wire.NewResponse(req, wire.Success, "")
}

// notify sends NOTIFY_CONSUMER_IDS_CHANGED to every member of group.
func (b *Broker) notify(group string) {
	b.mu.Lock()
	var conns []*Conn
	for _, c := range b.members[group] {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	for _, c := range conns {
		cmd := wire.NewRequest(wire.NotifyConsumerIdsChanged, map[string]string{"consumerGroup": group}, nil)
		cmd.Flag = wire.FlagOneway
		_ = c.Write(cmd)
	}
}

func (b *Broker) dropConn(c *Conn) {
	var groups []string
	b.mu.Lock()
	for g, m := range b.members {
		for id, mc := range m {
			if mc == c {
				delete(m, id)
				groups = append(groups, g)
			}
		}
	}
	b.mu.Unlock()
	for _, g := range groups {
		b.notify(g)
	}
}

// Members lists the client ids of group.
func (b *Broker) Members(group string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for id := range b.members[group] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (b *Broker) consumerList(_ *Conn, req *wire.Command) *wire.Command {
	ids := b.Members(req.Ext("consumerGroup"))
	if len(ids) == 0 {
		return wire.NewResponse(req, wire.SystemError, "no consumer for this group")
	}
	resp := wire.NewResponse(req, wire.Success, "")
	resp.Body, _ = json.Marshal(wire.ConsumerListBody{ConsumerIDList: ids})
	return resp
}

func offsetKey(req *wire.Command) string {
	return req.Ext("consumerGroup") + "@" + req.Ext("topic") + "@" + req.Ext("queueId")
}

func (b *Broker) queryOffset(_ *Conn, req *wire.Command) *wire.Command {
	b.mu.Lock()
	off, ok := b.offsets[offsetKey(req)]
	b.mu.Unlock()
	if !ok {
		return wire.NewResponse(req, wire.QueryNotFound, "not found")
	}
	resp := wire.NewResponse(req, wire.Success, "")
	resp.SetExt("offset", strconv.FormatInt(off, 10))
	return resp
}

// Offset is a committed offset (-1 when none).
func (b *Broker) Offset(group, topic string, qid int32) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	off, ok := b.offsets[group+"@"+topic+"@"+strconv.Itoa(int(qid))]
	if !ok {
		return -1
	}
	return off
}

func (b *Broker) updateOffset(_ *Conn, req *wire.Command) *wire.Command {
	off, err := strconv.ParseInt(req.Ext("commitOffset"), 10, 64)
	if err != nil {
		return wire.NewResponse(req, wire.SystemError, err.Error())
	}
	b.mu.Lock()
	b.offsets[offsetKey(req)] = off
	b.mu.Unlock()
	return wire.NewResponse(req, wire.Success, "")
}

func (b *Broker) maxOffset(_ *Conn, req *wire.Command) *wire.Command {
	qid, _ := strconv.Atoi(req.Ext("queueId"))
	b.mu.Lock()
	n := len(b.queues[qkey{req.Ext("topic"), int32(qid)}])
	b.mu.Unlock()
	resp := wire.NewResponse(req, wire.Success, "")
	resp.SetExt("offset", strconv.Itoa(n))
	return resp
}

func (b *Broker) lock(_ *Conn, req *wire.Command) *wire.Command {
	var body wire.LockBatchBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return wire.NewResponse(req, wire.SystemError, err.Error())
	}
	out := wire.LockBatchResponseBody{LockOKMQSet: []wire.MessageQueue{}}
	b.mu.Lock()
	for _, q := range body.MQSet {
		k := fmt.Sprintf("%s@%s@%d", body.ConsumerGroup, q.Topic, q.QueueID)
		if h := b.locks[k]; h == "" || h == body.ClientID {
			b.locks[k] = body.ClientID
			out.LockOKMQSet = append(out.LockOKMQSet, q)
		}
	}
	b.mu.Unlock()
	resp := wire.NewResponse(req, wire.Success, "")
	resp.Body, _ = json.Marshal(out)
	return resp
}

func (b *Broker) unlock(_ *Conn, req *wire.Command) *wire.Command {
	var body wire.LockBatchBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return wire.NewResponse(req, wire.SystemError, err.Error())
	}
	b.mu.Lock()
	for _, q := range body.MQSet {
		k := fmt.Sprintf("%s@%s@%d", body.ConsumerGroup, q.Topic, q.QueueID)
		if b.locks[k] == body.ClientID {
			delete(b.locks, k)
		}
	}
	b.mu.Unlock()
	return wire.NewResponse(req, wire.Success, "")
}

// LockHolder is the client holding group's lock of a queue, or "".
func (b *Broker) LockHolder(group, topic string, qid int32) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.locks[fmt.Sprintf("%s@%s@%d", group, topic, qid)]
}

// sendBack stores the message again in the group's retry topic (delay ignored) or, for delay
// level -1 or too many attempts, in its dead-letter topic.
func (b *Broker) sendBack(_ *Conn, req *wire.Command) *wire.Command {
	group := req.Ext("group")
	phys, _ := strconv.ParseInt(req.Ext("offset"), 10, 64)
	delay, _ := strconv.Atoi(req.Ext("delayLevel"))
	maxTimes, _ := strconv.Atoi(req.Ext("maxReconsumeTimes"))
	b.mu.Lock()
	data := b.byPhys[phys]
	b.sendBacks = append(b.sendBacks, SendBack{Group: group, Offset: phys, DelayLevel: delay, MsgID: req.Ext("originMsgId")})
	b.mu.Unlock()
	if data == nil {
		return wire.NewResponse(req, wire.SystemError, "no message at offset")
	}
	rec, _, err := wire.DecodeRecord(data)
	if err != nil {
		return wire.NewResponse(req, wire.SystemError, err.Error())
	}
	props := wire.ParseProperties(rec.Properties)
	if props == nil {
		props = map[string]string{}
	}
	if props["RETRY_TOPIC"] == "" {
		props["RETRY_TOPIC"] = rec.Topic
	}
	rec.ReconsumeTimes++
	rec.Topic = "%RETRY%" + group
	if delay < 0 || int(rec.ReconsumeTimes) > maxTimes {
		rec.Topic = "%DLQ%" + group
	}
	b.cl.CreateTopic(rec.Topic, 1)
	rec.QueueID = 0
	rec.Properties = wire.EncodeProperties(props)
	b.appendRecord(rec)
	return wire.NewResponse(req, wire.Success, "")
}

// SendBacks returns the send-backs received.
func (b *Broker) SendBacks() []SendBack {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]SendBack(nil), b.sendBacks...)
}
