package brokerapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// fakeQuerier answers the two query calls and records their arguments; every other method of
// Broker is left nil, so a handler calling one would fail the test by panicking.
type fakeQuerier struct {
	Broker

	topic, key string
	maxNum     int32
	begin, end int64
	res        *inbound.QueryResult
	err        error

	offset  int64
	view    []byte
	viewErr error
}

func (f *fakeQuerier) QueryMessage(_ context.Context, topicName, key string, maxNum int32, begin, end int64) (*inbound.QueryResult, error) {
	f.topic, f.key, f.maxNum, f.begin, f.end = topicName, key, maxNum, begin, end
	return f.res, f.err
}

func (f *fakeQuerier) ViewMessage(_ context.Context, off int64) ([]byte, error) {
	f.offset = off
	return f.view, f.viewErr
}

// roundTrip encodes resp as a frame and decodes it again, as a client would read it.
func roundTrip(t *testing.T, resp *wire.Command) *wire.Command {
	t.Helper()
	frame := wire.AppendFrame(nil, resp)
	got, err := wire.DecodeCommand(frame[4:])
	if err != nil {
		t.Fatalf("response does not decode: %v", err)
	}
	return got
}

func queryReq(ext map[string]string) *wire.Command {
	base := map[string]string{"topic": "Orders", "key": "order-1", "maxNum": "64", "beginTimestamp": "0", "endTimestamp": "9223372036854775807"}
	for k, v := range ext {
		if v == "" {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	return wire.NewRequest(wire.QueryMessage, base, nil)
}

func TestQueryMessageHandler(t *testing.T) {
	found := &inbound.QueryResult{Body: []byte("two records"), Count: 2, IndexLastUpdateTimestamp: 1_700_000_000_123, IndexLastUpdatePhyOffset: 4242}
	for _, tc := range []struct {
		name     string
		ext      map[string]string
		res      *inbound.QueryResult
		err      error
		code     int16
		remark   string // a part of it
		maxNum   int32
		indexExt bool
	}{
		{name: "found", res: found, code: wire.Success, maxNum: 64, indexExt: true},
		{name: "not found", res: &inbound.QueryResult{IndexLastUpdateTimestamp: 5, IndexLastUpdatePhyOffset: 6}, code: wire.QueryNotFound,
			remark: "maybe time range not correct", maxNum: 64, indexExt: true},
		{name: "unique key", ext: map[string]string{"_UNIQUE_KEY_QUERY": "true", "maxNum": "1"}, res: found, code: wire.Success, maxNum: 32, indexExt: true},
		{name: "unique key false", ext: map[string]string{"_UNIQUE_KEY_QUERY": "false", "maxNum": "5"}, res: found, code: wire.Success, maxNum: 5, indexExt: true},
		{name: "no topic", ext: map[string]string{"topic": ""}, code: wire.SystemError, remark: "topic"},
		{name: "no key", ext: map[string]string{"key": ""}, code: wire.SystemError, remark: "key"},
		{name: "no maxNum", ext: map[string]string{"maxNum": ""}, code: wire.SystemError, remark: "maxNum"},
		{name: "no begin", ext: map[string]string{"beginTimestamp": ""}, code: wire.SystemError, remark: "beginTimestamp"},
		{name: "no end", ext: map[string]string{"endTimestamp": ""}, code: wire.SystemError, remark: "endTimestamp"},
		{name: "bad maxNum", ext: map[string]string{"maxNum": "lots"}, code: wire.SystemError, remark: "maxNum"},
		{name: "maxNum over int32", ext: map[string]string{"maxNum": "4294967296"}, code: wire.SystemError, remark: "maxNum"},
		{name: "refused", err: fmt.Errorf("%w: bad topic", errs.ErrInvalidArgument), code: wire.SystemError, remark: "bad topic", maxNum: 64},
		{name: "store down", err: fmt.Errorf("%w: key index", errs.ErrServiceUnavailable), code: wire.ServiceNotAvailable, maxNum: 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeQuerier{res: tc.res, err: tc.err}
			h := New(f, "broker-a", "DefaultRegion", zap.NewNop())
			resp := roundTrip(t, h.queryMessage(context.Background(), nil, queryReq(tc.ext)))
			if resp.Code != tc.code || !strings.Contains(resp.Remark, tc.remark) {
				t.Fatalf("code %d remark %q, want %d with %q", resp.Code, resp.Remark, tc.code, tc.remark)
			}
			if tc.maxNum != 0 && (f.maxNum != tc.maxNum || f.topic != "Orders" || f.key != "order-1" || f.begin != 0 || f.end != 1<<63-1) {
				t.Fatalf("domain called with %s %s max %d %d..%d, want max %d", f.topic, f.key, f.maxNum, f.begin, f.end, tc.maxNum)
			}
			if tc.maxNum == 0 && f.topic != "" {
				t.Fatalf("the domain was called despite a bad header")
			}
			if tc.indexExt {
				if resp.Ext("indexLastUpdateTimestamp") != fmt.Sprint(tc.res.IndexLastUpdateTimestamp) ||
					resp.Ext("indexLastUpdatePhyoffset") != fmt.Sprint(tc.res.IndexLastUpdatePhyOffset) {
					t.Fatalf("index fields %q %q", resp.Ext("indexLastUpdateTimestamp"), resp.Ext("indexLastUpdatePhyoffset"))
				}
			}
			if tc.code == wire.Success && string(resp.Body) != "two records" {
				t.Fatalf("body %q", resp.Body)
			}
			if tc.code != wire.Success && len(resp.Body) != 0 {
				t.Fatalf("a failure carries a body of %d bytes", len(resp.Body))
			}
		})
	}
}

func TestViewMessageByIDHandler(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset string
		view   []byte
		err    error
		code   int16
		remark string
	}{
		{name: "found", offset: "1024", view: []byte("one record"), code: wire.Success},
		{name: "no record", offset: "1025", err: fmt.Errorf("%w: nothing there", errs.ErrNotFound), code: wire.SystemError,
			remark: "can not find message by the offset, 1025"},
		{name: "store down", offset: "7", err: fmt.Errorf("%w: closed", errs.ErrServiceUnavailable), code: wire.ServiceNotAvailable},
		{name: "no offset", code: wire.SystemError, remark: "offset"},
		{name: "bad offset", offset: "0x10", code: wire.SystemError, remark: "offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeQuerier{view: tc.view, viewErr: tc.err, offset: -99}
			h := New(f, "broker-a", "DefaultRegion", zap.NewNop())
			ext := map[string]string{}
			if tc.offset != "" {
				ext["offset"] = tc.offset
			}
			resp := roundTrip(t, h.viewMessageByID(context.Background(), nil, wire.NewRequest(wire.ViewMessageByID, ext, nil)))
			if resp.Code != tc.code || !strings.Contains(resp.Remark, tc.remark) {
				t.Fatalf("code %d remark %q, want %d with %q", resp.Code, resp.Remark, tc.code, tc.remark)
			}
			if tc.code == wire.Success && (string(resp.Body) != "one record" || f.offset != 1024) {
				t.Fatalf("body %q for offset %d", resp.Body, f.offset)
			}
			if (tc.offset == "" || strings.HasPrefix(tc.offset, "0x")) && f.offset != -99 {
				t.Fatalf("the domain was called despite a bad header")
			}
		})
	}
}
