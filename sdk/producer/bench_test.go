package producer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/sdk/internal/fakemq"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// echoBroker answers every request with a canned send response without decoding it (it scans the
// header for the opaque), so that a benchmark's allocations are the client's.
func echoBroker(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				serveEcho(nc)
			}()
		}
	}()
	return ln.Addr().String()
}

func serveEcho(nc net.Conn) {
	br := bufio.NewReaderSize(nc, 256<<10)
	bw := bufio.NewWriterSize(nc, 256<<10)
	var buf, out []byte
	key := []byte(`"opaque":`)
	for {
		payload, err := wire.ReadFrame(br, 0, buf)
		if err != nil {
			return
		}
		buf = payload
		hlen := int(binary.BigEndian.Uint32(payload) & 0xFFFFFF)
		h := payload[4 : 4+hlen]
		i := bytes.Index(h, key) + len(key)
		j := i
		for j < len(h) && h[j] >= '0' && h[j] <= '9' {
			j++
		}
		out = append(out[:0], 0, 0, 0, 0, 0, 0, 0, 0)
		out = append(out, `{"code":0,"flag":1,"language":"JAVA","version":407,"opaque":`...)
		out = append(out, h[i:j]...)
		out = append(out, `,"extFields":{"msgId":"7F00000100002A9F0000000000000000","queueId":"1","queueOffset":"5","MSG_REGION":"DefaultRegion","TRACE_ON":"true"}}`...)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		binary.BigEndian.PutUint32(out[4:], uint32(len(out)-8))
		if _, err := bw.Write(out); err != nil {
			return
		}
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return
			}
		}
	}
}

func benchProducer(b *testing.B) *Producer {
	cl := fakemq.NewCluster(b, 0)
	addr := echoBroker(b)
	cl.NS.Handle(wire.GetRouteInfoByTopic, func(_ *fakemq.Conn, req *wire.Command) *wire.Command {
		resp := wire.NewResponse(req, wire.Success, "")
		resp.Body = wire.AppendTopicRoute(nil, &wire.TopicRouteData{
			BrokerDatas: []wire.BrokerData{{Cluster: "c", BrokerName: "b", BrokerAddrs: map[int64]string{0: addr}}},
			QueueDatas:  []wire.QueueData{{BrokerName: "b", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 6}},
		}, false)
		return resp
	})
	p, err := New(Options{NameServers: []string{cl.NS.Addr}, Group: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Shutdown(context.Background()) })
	// Warm up: route and connection.
	if _, err := p.Send(context.Background(), &message.Message{Topic: "T", Body: []byte("x")}); err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkSendAsync(b *testing.B) {
	for _, size := range []int{128, 1024} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			p := benchProducer(b)
			m := &message.Message{Topic: "T", Body: bytes.Repeat([]byte("x"), size), Tag: "TagA"}
			var wg sync.WaitGroup
			cb := func(_ SendResult, err error) {
				if err != nil {
					b.Error(err)
				}
				wg.Done()
			}
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				wg.Add(1)
				if err := p.SendAsync(ctx, m, cb); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
		})
	}
}

func BenchmarkSendSyncParallel(b *testing.B) {
	p := benchProducer(b)
	m := &message.Message{Topic: "T", Body: bytes.Repeat([]byte("x"), 256)}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := p.Send(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSendBatch(b *testing.B) {
	p := benchProducer(b)
	msgs := make([]*message.Message, 32)
	for i := range msgs {
		msgs[i] = &message.Message{Topic: "T", Body: bytes.Repeat([]byte("x"), 128)}
	}
	b.ReportAllocs()
	b.SetBytes(32 * 128)
	b.ResetTimer()
	for range b.N {
		if _, err := p.SendBatch(context.Background(), msgs); err != nil {
			b.Fatal(err)
		}
	}
}

var _ = io.EOF
