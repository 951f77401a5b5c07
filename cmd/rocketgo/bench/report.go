package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Result is the summary of one run, printed as JSON with --json (one object per line, which
// `make bench` collects and `bench table` reads).
type Result struct {
	Label     string `json:"label,omitempty"`
	Kind      string `json:"kind"` // produce | consume
	Topic     string `json:"topic"`
	Group     string `json:"group,omitempty"`
	Size      int    `json:"size,omitempty"`
	Producers int    `json:"producers,omitempty"`
	Window    int    `json:"window,omitempty"`
	Batch     int    `json:"batch,omitempty"`
	Consumers int    `json:"consumers,omitempty"`

	Seconds        float64 `json:"seconds"`
	Messages       uint64  `json:"messages"`
	Requests       uint64  `json:"requests,omitempty"` // produce: successful requests (batches count once)
	TPS            float64 `json:"tps"`                // messages per second
	MBps           float64 `json:"mb_s"`               // body bytes per second / 1e6
	SendFailed     uint64  `json:"send_failed,omitempty"`
	ResponseFailed uint64  `json:"response_failed,omitempty"`
	// FirstError is the first failure of the run, so a summary with failures says why.
	FirstError string `json:"first_error,omitempty"`
	ConsumeDup uint64 `json:"consume_dup,omitempty"`

	// Latency is, for produce, the round trip of a request in microseconds; for consume, the
	// born-to-consume latency (consume time minus the message's born timestamp).
	Latency Percentiles `json:"latency_us"`
	// StoreToConsume is, for consume, consume time minus the store timestamp, in microseconds.
	StoreToConsume *Percentiles `json:"s2c_us,omitempty"`

	// Broker CPU time (user + system, from /proc) per message in microseconds, and the cores the
	// broker and this process used over the run; negative when the broker pid was not given.
	BrokerCPUUsPerMsg float64 `json:"broker_cpu_us_per_msg"`
	BrokerCores       float64 `json:"broker_cores"`
	ClientCores       float64 `json:"client_cores"`
}

// Percentiles of a latency, in microseconds.
type Percentiles struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// percentiles turns a histogram of nanoseconds into microseconds.
func percentiles(h *HistSnapshot) Percentiles {
	us := func(ns uint64) float64 { return float64(ns) / 1e3 }
	return Percentiles{
		Mean: h.Mean() / 1e3, P50: us(h.Quantile(0.50)), P90: us(h.Quantile(0.90)),
		P99: us(h.Quantile(0.99)), P999: us(h.Quantile(0.999)), Max: us(h.Max),
	}
}

func (r *Result) writeJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

const timeLayout = "2006-01-02 15:04:05.000"

// msRound is a duration in nanoseconds as whole milliseconds, as RocketMQ's tools print Max RT.
func msRound(ns uint64) int64 { return int64(math.Round(float64(ns) / 1e6)) }

func usRound(ns uint64) int64 { return int64(math.Round(float64(ns) / 1e3)) }

func cpuText(usPerMsg float64) string {
	if usPerMsg < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", usPerMsg)
}

// formatSendLine is a progress line of `bench produce`: RocketMQ's Producer benchmark line, then
// the percentiles, MB/s and the broker's CPU per message of the interval.
func formatSendLine(at time.Time, iv sendInterval) string {
	return fmt.Sprintf("Current Time: %s Send TPS: %d Max RT(ms): %d Average RT(ms): %7.3f Send Failed: %d Response Failed: %d"+
		" | p50(us): %d p99(us): %d p999(us): %d MB/s: %.1f Broker CPU(us/msg): %s",
		at.Format(timeLayout), int64(math.Round(iv.tps())), msRound(iv.Lat.Max), iv.Lat.Mean()/1e6, iv.SendFailed, iv.RespFailed,
		usRound(iv.Lat.Quantile(0.5)), usRound(iv.Lat.Quantile(0.99)), usRound(iv.Lat.Quantile(0.999)),
		rate(iv.Bytes, iv.Seconds)/1e6, cpuText(iv.CPU.BrokerUsPerMsg))
}

// formatSendSummary is the final report of `bench produce`.
func formatSendSummary(r *Result, iv sendInterval) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[Complete] Send Total: %d Send TPS: %d Max RT(ms): %d Average RT(ms): %7.3f Send Failed: %d Response Failed: %d\n",
		r.Messages+r.SendFailed+r.ResponseFailed, int64(math.Round(r.TPS)), msRound(iv.Lat.Max), iv.Lat.Mean()/1e6, r.SendFailed, r.ResponseFailed)
	per := "request"
	if r.Batch > 1 {
		per = fmt.Sprintf("request of %d messages", r.Batch)
	}
	fmt.Fprintf(&b, "Latency(us) per %s: mean %.1f p50 %.0f p90 %.0f p99 %.0f p999 %.0f max %.0f\n",
		per, r.Latency.Mean, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max)
	fmt.Fprintf(&b, "Throughput: %.0f msgs/s, %.1f MB/s of %d-byte bodies, %.0f requests/s over %.1f s\n",
		r.TPS, r.MBps, r.Size, rate(r.Requests, r.Seconds), r.Seconds)
	fmt.Fprintf(&b, "%s\n", cpuSummary(r))
	if r.FirstError != "" {
		fmt.Fprintf(&b, "First failure: %s\n", r.FirstError)
	}
	return b.String()
}

func cpuSummary(r *Result) string {
	if r.BrokerCPUUsPerMsg < 0 {
		return fmt.Sprintf("Broker CPU: n/a (give --broker-pid or --ready-file); client %.2f cores", r.ClientCores)
	}
	return fmt.Sprintf("Broker CPU: %.2f us/msg, %.2f cores; client %.2f cores", r.BrokerCPUUsPerMsg, r.BrokerCores, r.ClientCores)
}

// formatConsumeLine is a progress line of `bench consume`: RocketMQ's Consumer benchmark line,
// then the percentiles of the born-to-consume latency, MB/s and the broker's CPU per message.
// Message timestamps have millisecond resolution, so these latencies do too.
func formatConsumeLine(at time.Time, iv consumeInterval) string {
	return fmt.Sprintf("Current Time: %s | Consume TPS: %d | AVG(B2C) RT(ms): %7.3f | AVG(S2C) RT(ms): %7.3f | MAX(B2C) RT(ms): %d | MAX(S2C) RT(ms): %d | Consume Fail: %d | Consume Dup: %d"+
		" | B2C p50(us): %d p99(us): %d p999(us): %d | MB/s: %.1f | Broker CPU(us/msg): %s",
		at.Format(timeLayout), int64(math.Round(iv.tps())), iv.B2C.Mean()/1e6, iv.S2C.Mean()/1e6, msRound(iv.B2C.Max), msRound(iv.S2C.Max), 0, iv.Dups,
		usRound(iv.B2C.Quantile(0.5)), usRound(iv.B2C.Quantile(0.99)), usRound(iv.B2C.Quantile(0.999)),
		rate(iv.Bytes, iv.Seconds)/1e6, cpuText(iv.CPU.BrokerUsPerMsg))
}

// formatConsumeSummary is the final report of `bench consume`.
func formatConsumeSummary(r *Result) string {
	var b strings.Builder
	s2c := Percentiles{}
	if r.StoreToConsume != nil {
		s2c = *r.StoreToConsume
	}
	fmt.Fprintf(&b, "[Complete] Consume Total: %d Consume TPS: %d AVG(B2C) RT(ms): %7.3f AVG(S2C) RT(ms): %7.3f MAX(B2C) RT(ms): %d MAX(S2C) RT(ms): %d Consume Dup: %d\n",
		r.Messages, int64(math.Round(r.TPS)), r.Latency.Mean/1e3, s2c.Mean/1e3, int64(math.Round(r.Latency.Max/1e3)), int64(math.Round(s2c.Max/1e3)), r.ConsumeDup)
	fmt.Fprintf(&b, "Born-to-consume(us): p50 %.0f p90 %.0f p99 %.0f p999 %.0f max %.0f\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max)
	fmt.Fprintf(&b, "Store-to-consume(us): p50 %.0f p90 %.0f p99 %.0f p999 %.0f max %.0f\n",
		s2c.P50, s2c.P90, s2c.P99, s2c.P999, s2c.Max)
	fmt.Fprintf(&b, "Throughput: %.0f msgs/s, %.1f MB/s over %.1f s (%d consumer(s), first message to last)\n",
		r.TPS, r.MBps, r.Seconds, r.Consumers)
	fmt.Fprintf(&b, "%s\n", cpuSummary(r))
	return b.String()
}
