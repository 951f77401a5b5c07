package brokerapi

import (
	"context"
	"fmt"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// sendHeaderV2 maps SEND_MESSAGE_V2's one-letter header names onto SEND_MESSAGE's.
var sendHeaderV2 = [...]struct{ short, long string }{
	{"a", "producerGroup"}, {"b", "topic"}, {"c", "defaultTopic"}, {"d", "defaultTopicQueueNums"},
	{"e", "queueId"}, {"f", "sysFlag"}, {"g", "bornTimestamp"}, {"h", "flag"}, {"i", "properties"},
	{"j", "reconsumeTimes"}, {"k", "unitMode"}, {"l", "maxReconsumeTimes"}, {"m", "batch"},
}

// sendFieldIndex is the index in sendHeaderV2 of a send header field's long name, or -1 (a
// switch, not a search of the table: it runs for every field of every send).
func sendFieldIndex(long string) int {
	switch long {
	case "producerGroup":
		return 0
	case "topic":
		return 1
	case "defaultTopic":
		return 2
	case "defaultTopicQueueNums":
		return 3
	case "queueId":
		return 4
	case "sysFlag":
		return 5
	case "bornTimestamp":
		return 6
	case "flag":
		return 7
	case "properties":
		return 8
	case "reconsumeTimes":
		return 9
	case "unitMode":
		return 10
	case "maxReconsumeTimes":
		return 11
	case "batch":
		return 12
	}
	return -1
}

func (h *Handlers) send(ctx context.Context, c *remoting.Conn, req *wire.Command) *wire.Command {
	sr, err := decodeSend(c, req)
	var res *inbound.SendResult
	if err == nil {
		res, err = h.b.Send(ctx, sr)
	}
	return h.sendAnswer(req, res, err)
}

// sendGroup serves sends pipelined on one connection together: each is decoded as send decodes
// it, and those that decode are stored with one SendMany. The answers are send's, in order.
func (h *Handlers) sendGroup(ctx context.Context, c *remoting.Conn, reqs []*wire.Command) []*wire.Command {
	resps := make([]*wire.Command, len(reqs))
	srs := make([]*inbound.SendRequest, 0, len(reqs))
	at := make([]int, 0, len(reqs))
	for i, req := range reqs {
		sr, err := decodeSend(c, req)
		if err != nil {
			resps[i] = h.sendAnswer(req, nil, err)
			continue
		}
		srs = append(srs, sr)
		at = append(at, i)
	}
	if len(srs) > 0 {
		for j, o := range h.b.SendMany(ctx, srs) {
			resps[at[j]] = h.sendAnswer(reqs[at[j]], o.Result, o.Err)
		}
	}
	return resps
}

func (h *Handlers) sendAnswer(req *wire.Command, res *inbound.SendResult, err error) *wire.Command {
	var resp *wire.Command
	if err != nil {
		resp = failErr(req, err)
		resp.SetExt("MSG_REGION", h.region)
	} else {
		resp = sendResponse(req, res)
	}
	resp.SetExt("TRACE_ON", "true")
	return resp
}

func decodeSend(c *remoting.Conn, req *wire.Command) (*inbound.SendRequest, error) {
	v2 := req.Code == wire.SendBatchMessage || req.Code == wire.SendMessageV2
	if v2 && req.Ext("b") == "" && req.Ext("topic") != "" {
		v2 = false // a batch sent with long header names
	}
	h := sendHeaderOf(req, v2)
	sr := &inbound.SendRequest{
		ProducerGroup:         h.required("producerGroup"),
		Topic:                 h.required("topic"),
		DefaultTopic:          h.str("defaultTopic"),
		DefaultTopicQueueNums: h.int32("defaultTopicQueueNums", 4),
		QueueID:               h.int32("queueId", -1),
		SysFlag:               h.int32("sysFlag", 0),
		BornTimestamp:         h.int64("bornTimestamp", 0),
		Flag:                  h.int32("flag", 0),
		ReconsumeTimes:        h.int32("reconsumeTimes", 0),
		MaxReconsumeTimes:     h.int32("maxReconsumeTimes", -1),
		Properties:            wire.ParseProperties(h.str("properties")),
		BornHost:              c.RemoteAddr(),
	}
	if h.err != nil {
		return nil, h.err
	}
	if req.Code != wire.SendBatchMessage {
		sr.Body = req.Body
		if len(sr.Body) == 0 {
			return nil, fmt.Errorf("%w: message body is empty", errs.ErrMessageIllegal)
		}
		return sr, nil
	}
	entries, err := wire.DecodeBatch(req.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: batch body: %w", errs.ErrMessageIllegal, err)
	}
	sr.Batch = make([]inbound.BatchEntry, len(entries))
	for i, e := range entries {
		if len(e.Body) == 0 {
			return nil, fmt.Errorf("%w: batch message %d has an empty body", errs.ErrMessageIllegal, i)
		}
		sr.Batch[i] = inbound.BatchEntry{Flag: e.Flag, Body: e.Body, Properties: wire.ParseProperties(e.Properties)}
	}
	return sr, nil
}

func sendResponse(req *wire.Command, res *inbound.SendResult) *wire.Command {
	code := wire.Success
	if res.Status == inbound.SendFlushDiskTimeout {
		code = wire.FlushDiskTimeout
	}
	resp := wire.NewResponse(req, code, "")
	if len(res.Appended) == 1 {
		resp.SetExt("msgId", wire.OffsetMsgID(res.StoreHost, res.Appended[0].PhysicalOffset))
	} else {
		ids := make([]byte, 0, len(res.Appended)*33)
		for i, a := range res.Appended {
			if i > 0 {
				ids = append(ids, ',')
			}
			ids = wire.AppendOffsetMsgID(ids, res.StoreHost, a.PhysicalOffset)
		}
		resp.SetExt("msgId", string(ids))
	}
	resp.SetExt("queueId", itoa(int64(res.QueueID)))
	if len(res.Appended) > 0 {
		resp.SetExt("queueOffset", itoa(res.Appended[0].QueueOffset))
	}
	resp.SetExt("MSG_REGION", res.Region)
	if res.TransactionID != "" {
		resp.SetExt("transactionId", res.TransactionID)
	}
	return resp
}
