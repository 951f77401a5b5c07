package bench

import (
	"sync"
	"testing"
	"time"
)

// A snapshot of send recorders never splits a request from its messages: every request here
// carries 3 messages, so any snapshot taken while callbacks run holds 3 messages a request.
func TestSendSnapshotKeepsRequestsWithTheirMessages(t *testing.T) {
	recs := []*sendRecorder{new(sendRecorder), new(sendRecorder)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, r := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					r.done(time.Now(), nil, 3, 30)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for i := 0; i < 100; i++ {
		s := snapSend(recs, cpuSampler{})
		if s.msgs != 3*s.lat.N || s.bytes != 30*s.lat.N {
			t.Fatalf("snapshot %d: %d requests, %d messages, %d bytes", i, s.lat.N, s.msgs, s.bytes)
		}
	}
}
