package remoting

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
	"go.uber.org/zap"
)

// FuzzServeConn feeds arbitrary bytes into a server connection's read loop through net.Pipe.
// The server must not panic, must close or keep the connection cleanly, and must still answer a
// well-formed request on a new connection afterwards. Seeds: testdata/fuzz/FuzzServeConn.
func FuzzServeConn(f *testing.F) {
	cfg := testConfig()
	cfg.MaxFrameSize = 4096 // small, so the oversized-frame path is reachable
	cfg.MaxBodySize = 1024
	log := zap.NewNop()
	r := NewRouter(cfg, log)
	r.Handle(codeEcho, echo)
	r.Handle(codePanic, func(context.Context, *Conn, *wire.Command) *wire.Command { panic("fuzz") })
	s := NewServer(cfg, "127.0.0.1:0", r.Serve, log)
	accepted := make(chan *Conn, 1)
	s.OnConnect(func(c *Conn) { accepted <- c })
	if err := s.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Stop(context.Background()) })

	f.Add(wire.AppendFrame(nil, request(codeEcho, []byte("body"))))

	f.Fuzz(func(t *testing.T, data []byte) {
		client, c := pipeConn(t, s, accepted)
		go func() { _, _ = io.Copy(io.Discard, client) }() // the pipe is synchronous: keep draining
		_ = client.SetWriteDeadline(time.Now().Add(waitLimit))
		_, _ = client.Write(data) // fails once the server has closed on garbage: fine
		_ = client.Close()
		waitDone(t, c.Done(), "server side of the pipe closed")

		// The server survives: a fresh connection is served.
		probe, pc := pipeConn(t, s, accepted)
		defer pc.Close()
		req := request(codeEcho, []byte("alive"))
		req.Opaque = 7
		writeCmd(t, probe, req)
		if resp := readCmd(t, probe); resp.Opaque != 7 || string(resp.Body) != "alive" {
			t.Fatalf("after fuzz input: %+v", resp)
		}
		_ = probe.Close()
	})
}

// pipeConn hands the server end of a net.Pipe to s as if accepted.
func pipeConn(t *testing.T, s *Server, accepted chan *Conn) (net.Conn, *Conn) {
	t.Helper()
	client, server := net.Pipe()
	s.admit(server)
	select {
	case c := <-accepted:
		return client, c
	case <-time.After(waitLimit):
		t.Fatal("pipe not admitted")
		return nil, nil
	}
}
