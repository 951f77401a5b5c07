package brokerapi

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// fakeBroker answers send, pull and offset calls with canned results and records what it was
// asked; every other method of Broker is nil and would panic.
type fakeBroker struct {
	Broker
	send    *inbound.SendRequest
	sendRes *inbound.SendResult
	pull    *inbound.PullRequest
	pullRes *inbound.PullResult
	err     error
	offset  int64
	found   bool
}

func (f *fakeBroker) Send(_ context.Context, r *inbound.SendRequest) (*inbound.SendResult, error) {
	f.send = r
	return f.sendRes, f.err
}

func (f *fakeBroker) Pull(_ context.Context, r *inbound.PullRequest) (*inbound.PullResult, error) {
	f.pull = r
	return f.pullRes, f.err
}

func (f *fakeBroker) QueryConsumerOffset(context.Context, string, string, int32) (int64, bool, error) {
	return f.offset, f.found, f.err
}

func TestCodeOfMapsEveryDomainError(t *testing.T) {
	cases := map[error]int16{
		errs.ErrTopicNotExist:             wire.TopicNotExist,
		errs.ErrMessageIllegal:            wire.MessageIllegal,
		errs.ErrNoPermission:              wire.NoPermission,
		errs.ErrServiceUnavailable:        wire.ServiceNotAvailable,
		errs.ErrSystemBusy:                wire.SystemBusy,
		errs.ErrFlushDiskTimeout:          wire.FlushDiskTimeout,
		errs.ErrSubscriptionGroupNotExist: wire.SubscriptionGroupNotExist,
		errs.ErrSubscriptionNotExist:      wire.SubscriptionNotExist,
		errs.ErrSubscriptionNotLatest:     wire.SubscriptionNotLatest,
		errs.ErrSubscriptionParse:         wire.SubscriptionParseFailed,
		errs.ErrInvalidArgument:           wire.SystemError,
		errors.New("anything else"):       wire.SystemError,
	}
	for err, want := range cases {
		if got := codeOf(fmt.Errorf("context: %w", err)); got != want {
			t.Errorf("%v -> %d, want %d", err, got, want)
		}
	}
}

func sendHeader() map[string]string {
	return map[string]string{"producerGroup": "pg", "topic": "T", "queueId": "1", "sysFlag": "0",
		"bornTimestamp": "1700000000000", "flag": "7", "properties": "TAGS\x01a\x02KEYS\x01k1 k2\x02",
		"reconsumeTimes": "0", "maxReconsumeTimes": "0", "defaultTopic": "TBW102", "defaultTopicQueueNums": "4", "batch": "false"}
}

func TestSendDecodesBothHeaderFormsAndAnswersLikeRocketMQ(t *testing.T) {
	host := netip.MustParseAddrPort("127.0.0.1:10911")
	f := &fakeBroker{sendRes: &inbound.SendResult{QueueID: 1, StoreHost: host, Region: "R1",
		Appended: []storage.AppendResult{{PhysicalOffset: 0x1D0, QueueOffset: 5}}}}
	h := New(f, "broker-a", "R1", zap.NewNop())

	v2 := map[string]string{}
	for _, p := range sendHeaderV2 {
		v2[p.short] = sendHeader()[p.long]
	}
	for name, req := range map[string]*wire.Command{
		"SEND_MESSAGE":    wire.NewRequest(wire.SendMessage, sendHeader(), []byte("body")),
		"SEND_MESSAGE_V2": wire.NewRequest(wire.SendMessageV2, v2, []byte("body")),
	} {
		resp := roundTrip(t, h.send(context.Background(), nil, req))
		if resp.Code != wire.Success {
			t.Fatalf("%s: code %d %s", name, resp.Code, resp.Remark)
		}
		s := f.send
		if s.Topic != "T" || s.QueueID != 1 || s.Flag != 7 || s.BornTimestamp != 1700000000000 || s.MaxReconsumeTimes != 0 ||
			s.Properties["KEYS"] != "k1 k2" || string(s.Body) != "body" || s.DefaultTopicQueueNums != 4 {
			t.Fatalf("%s: decoded %+v", name, s)
		}
		want := map[string]string{"msgId": "7F00000100002A9F00000000000001D0", "queueId": "1", "queueOffset": "5",
			"MSG_REGION": "R1", "TRACE_ON": "true"}
		for k, v := range want {
			if resp.Ext(k) != v {
				t.Errorf("%s: %s = %q, want %q", name, k, resp.Ext(k), v)
			}
		}
	}

	f.err = fmt.Errorf("x: %w", errs.ErrTopicNotExist)
	resp := roundTrip(t, h.send(context.Background(), nil, wire.NewRequest(wire.SendMessage, sendHeader(), []byte("b"))))
	if resp.Code != wire.TopicNotExist || resp.Ext("MSG_REGION") != "R1" || resp.Ext("TRACE_ON") != "true" {
		t.Fatalf("failed send: %+v", resp)
	}
	f.err = nil
	bad := sendHeader()
	bad["queueId"] = "one"
	if resp := h.send(context.Background(), nil, wire.NewRequest(wire.SendMessage, bad, []byte("b"))); resp.Code != wire.SystemError ||
		!strings.Contains(resp.Remark, "queueId") {
		t.Fatalf("malformed header: %d %q", resp.Code, resp.Remark)
	}
	if resp := h.send(context.Background(), nil, wire.NewRequest(wire.SendMessage, sendHeader(), nil)); resp.Code != wire.MessageIllegal {
		t.Fatalf("empty body: %d", resp.Code)
	}
}

func TestPullAnswersEveryStatusWithAllFields(t *testing.T) {
	f := &fakeBroker{}
	h := New(f, "broker-a", "R", zap.NewNop())
	ext := map[string]string{"consumerGroup": "g", "topic": "T", "queueId": "2", "queueOffset": "10", "maxMsgNums": "32",
		"sysFlag": "3", "commitOffset": "9", "suspendTimeoutMillis": "20000", "subscription": "", "subVersion": "0", "expressionType": "TAG"}
	cases := []struct {
		status inbound.PullStatus
		code   int16
	}{
		{inbound.PullFound, wire.Success}, {inbound.PullNoNewMsg, wire.PullNotFound},
		{inbound.PullNoMatched, wire.PullRetryImmediately}, {inbound.PullOffsetMoved, wire.PullOffsetMoved},
	}
	for _, c := range cases {
		f.pullRes = &inbound.PullResult{Status: c.status, NextBeginOffset: 11, MinOffset: 1, MaxOffset: 12, Body: []byte("recs")}
		resp := roundTrip(t, h.pull(context.Background(), nil, wire.NewRequest(wire.PullMessage, ext, nil)))
		if resp.Code != c.code {
			t.Errorf("status %d: code %d, want %d", c.status, resp.Code, c.code)
		}
		for k, v := range map[string]string{"nextBeginOffset": "11", "minOffset": "1", "maxOffset": "12", "suggestWhichBrokerId": "0"} {
			if resp.Ext(k) != v {
				t.Errorf("status %d: %s = %q", c.status, k, resp.Ext(k))
			}
		}
		if (c.status == inbound.PullFound) != (len(resp.Body) > 0) {
			t.Errorf("status %d: body %q", c.status, resp.Body)
		}
	}
	p := f.pull
	if p.QueueID != 2 || p.QueueOffset != 10 || p.CommitOffset != 9 || p.SuspendTimeout != 20*time.Second || p.SysFlag != 3 {
		t.Fatalf("decoded %+v", p)
	}
}

func TestQueryConsumerOffsetNotFoundIs22(t *testing.T) {
	f := &fakeBroker{}
	h := New(f, "broker-a", "R", zap.NewNop())
	req := wire.NewRequest(wire.QueryConsumerOffset, map[string]string{"consumerGroup": "g", "topic": "T", "queueId": "0"}, nil)
	if resp := h.queryConsumerOffset(context.Background(), nil, req); resp.Code != wire.QueryNotFound {
		t.Fatalf("no offset: %d", resp.Code)
	}
	f.offset, f.found = 42, true
	if resp := roundTrip(t, h.queryConsumerOffset(context.Background(), nil, req)); resp.Code != 0 || resp.Ext("offset") != "42" {
		t.Fatalf("offset: %+v", resp)
	}
}

func TestOffsetTableIsTheFastjsonFormTheGoClientParses(t *testing.T) {
	got := string(appendOffsetTable(nil, "TopicTest", "broker-a", map[int32]int64{1: 0, 0: 7}))
	want := `{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:7,{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:0}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
