package wire

import (
	"encoding/binary"
	"testing"
)

// sendMessageHeader is the header the v2.1.2 client sent for a SEND_MESSAGE (REMOTING.md §4.2).
const sendMessageHeader = `{"code":10,"language":"GO","version":317,"opaque":3,"flag":0,"remark":"","extFields":{"unitMode":"false","defaultTopic":"TBW102","defaultTopicQueueNums":"4","bornTimestamp":"1795234679612","reconsumeTimes":"0","maxReconsumeTimes":"0","batch":"false","properties":"KEYS\u0001k1\u0002UNIQ_KEY\u0001C000020250390000000067eb60d80001\u0002TAGS\u0001TagA\u0002","producerGroup":"pg","topic":"TopicTest","queueId":"1","sysFlag":"0","flag":"0"}}`

// sendMessagePayload is that request as ReadFrame returns it: header word, header, body.
func sendMessagePayload() []byte {
	p := binary.BigEndian.AppendUint32(nil, uint32(len(sendMessageHeader)))
	p = append(p, sendMessageHeader...)
	return append(p, "Hello RocketMQ"...)
}

func BenchmarkDecodeCommandSendMessage(b *testing.B) {
	payload := sendMessagePayload()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeCommand(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendFrameSendResponse writes the answer to a send (REMOTING.md §12a, a3).
func BenchmarkAppendFrameSendResponse(b *testing.B) {
	req := &Command{Code: SendMessage, Opaque: 3}
	resp := NewResponse(req, Success, "")
	resp.SetExt("msgId", "7F00000100002A9F0000000000000000")
	resp.SetExt("queueId", "1")
	resp.SetExt("queueOffset", "0")
	resp.SetExt("MSG_REGION", "DefaultRegion")
	resp.SetExt("TRACE_ON", "true")
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFrame(buf[:0], resp)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendJSONString(b *testing.B) {
	remark := make([]byte, 1024)
	for i := range remark {
		remark[i] = 'a' + byte(i%26)
	}
	for _, c := range []struct{ name, s string }{
		{"msgId", "7F00000100002A9F0000000000000000"},
		{"properties", "KEYS\x01k1\x02UNIQ_KEY\x01C000020250390000000067eb60d80001\x02TAGS\x01TagA\x02"},
		{"remark1KiB", string(remark)},
	} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.SetBytes(int64(len(c.s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendJSONString(buf[:0], c.s)
			}
		})
	}
}
