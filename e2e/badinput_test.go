package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// TestBadInputGetsClearCodesAndTheBrokerStaysUp throws malformed and hostile requests at the real
// binary: each gets RocketMQ's code with a remark saying why, or (for bytes that are not a frame)
// a closed connection, and afterwards the broker still stores and serves messages.
func TestBadInputGetsClearCodesAndTheBrokerStaysUp(t *testing.T) {
	t.Parallel()
	testDeadline(t, 60*time.Second)
	b := startBroker(t, t.TempDir(), "--set", "remoting.maxBodySize=64KiB", "--set", "remoting.maxFrameSize=256KiB")

	send := func(topic string, body []byte) *wire.Command {
		return wire.NewRequest(wire.SendMessage, map[string]string{
			"producerGroup": "pg", "topic": topic, "queueId": "0", "sysFlag": "0", "bornTimestamp": "1",
			"flag": "0", "properties": "", "reconsumeTimes": "0", "maxReconsumeTimes": "0",
			"defaultTopic": "TBW102", "defaultTopicQueueNums": "4", "batch": "false"}, body)
	}
	cases := []struct {
		name   string
		req    *wire.Command
		code   int16
		remark string
	}{
		{"unknown request code", wire.NewRequest(9999, nil, nil), wire.RequestCodeNotSupported, "not supported"},
		{"body over the limit", send("Big", make([]byte, 100<<10)), wire.MessageIllegal, "body"},
		{"topic with a path", send("../../etc", []byte("x")), wire.MessageIllegal, "topic"},
		{"topic with NUL", send("a\x00b", []byte("x")), wire.MessageIllegal, "topic"},
		{"topic too long", send(strings.Repeat("t", 128), []byte("x")), wire.MessageIllegal, "topic"},
		{"system topic", send("SCHEDULE_TOPIC_XXXX", []byte("x")), wire.NoPermission, "system topic"},
		{"missing header field", wire.NewRequest(wire.PullMessage, map[string]string{"topic": "T"}, nil), wire.SystemError, "consumerGroup"},
		{"malformed number", wire.NewRequest(wire.QueryConsumerOffset, map[string]string{
			"consumerGroup": "g", "topic": "T", "queueId": "one"}, nil), wire.SystemError, "queueId"},
		{"group with a slash", wire.NewRequest(wire.UpdateConsumerOffset, map[string]string{
			"consumerGroup": "a/b", "topic": "T", "queueId": "0", "commitOffset": "1"}, nil), wire.SystemError, "group"},
		{"heartbeat that is not JSON", wire.NewRequest(wire.HeartBeat, nil, []byte("{not json")), wire.SystemError, "heartbeat"},
		{"batch body that is garbage", func() *wire.Command {
			r := send("Batch", []byte{0, 0, 0, 1, 2})
			r.Code = wire.SendBatchMessage
			return r
		}(), wire.MessageIllegal, "batch"},
	}
	for _, c := range cases {
		resp, err := rawRequest(b.BrokerAddr, c.req)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if resp.Code != c.code || !strings.Contains(strings.ToLower(resp.Remark), strings.ToLower(c.remark)) {
			t.Errorf("%s: code %d remark %q, want code %d with %q", c.name, resp.Code, resp.Remark, c.code, c.remark)
		}
	}

	// A frame over the frame limit whose header is readable is answered and skipped: the
	// connection stays usable for the next request.
	conn, err := net.DialTimeout("tcp", b.BrokerAddr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	big := send("Huge", make([]byte, 300<<10))
	big.Opaque = 41
	next := wire.NewRequest(wire.GetMaxOffset, map[string]string{"topic": "Huge", "queueId": "0"}, nil)
	next.Opaque = 42
	if _, err := conn.Write(append(wire.AppendFrame(nil, big), wire.AppendFrame(nil, next)...)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		opaque int32
		code   int16
	}{{41, wire.MessageIllegal}, {42, wire.Success}} {
		payload, err := wire.ReadFrame(conn, 1<<20, nil)
		if err != nil {
			t.Fatalf("reading the answer to opaque %d: %v", want.opaque, err)
		}
		resp, err := wire.DecodeCommand(payload)
		if err != nil || resp.Opaque != want.opaque || resp.Code != want.code {
			t.Fatalf("answer %+v %v, want opaque %d code %d", resp, err, want.opaque, want.code)
		}
	}

	// Bytes that are not a frame close that connection, and only that one.
	garbage, err := net.DialTimeout("tcp", b.BrokerAddr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:], 8)
	binary.BigEndian.PutUint32(hdr[4:], 0x05000004) // serialize type 5 does not exist
	_, _ = garbage.Write(append(hdr[:], []byte("junk")...))
	_ = garbage.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(garbage); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("garbage connection: %v (want it closed by the broker)", err)
	}

	// The broker is still up and serves real traffic.
	p, stop := startProducer(t, b.NamesrvAddr)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.SendSync(ctx, primitive.NewMessage("AfterBadInput", bytes.Repeat([]byte("ok"), 10)))
	if err != nil || res.Status != primitive.SendOK {
		t.Fatalf("send after bad input: %v %v", res, err)
	}
	if b.hasExited() {
		t.Fatal("the broker exited")
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "reset by peer")
}
