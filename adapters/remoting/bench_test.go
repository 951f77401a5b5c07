package remoting

import (
	"strconv"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// BenchmarkRoundTrip measures request/response round trips over loopback through Client, Server
// and Router, with 1 and 16 callers sharing one connection (as a RocketMQ client does).
func BenchmarkRoundTrip(b *testing.B) {
	for _, callers := range []int{1, 16} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) {
			cfg := Defaults()
			ts := startServer(b, cfg, nil)
			cl := newClient(b, cfg, nil)
			addr := ts.addr()
			body := make([]byte, 128)
			ext := map[string]string{"topic": "BenchTopic", "queueId": "1"}
			mustInvoke(b, cl, addr, wire.NewRequest(codeEcho, ext, body)) // dial outside the timing
			ctx := timeout(b)

			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range callers {
				n := b.N / callers
				if w < b.N%callers {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := wire.NewRequest(codeEcho, ext, body)
					for range n {
						resp, err := cl.Invoke(ctx, addr, req)
						if err != nil || resp.Code != wire.Success {
							b.Errorf("invoke: %v %+v", err, resp)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}
