package e2e

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/sdk/message"
)

// runAdmin runs `rocketgo admin -n NAMESRV ARGS...` and returns its output; a non-zero exit fails
// the test unless wantFail.
func runAdmin(t *testing.T, b *Broker, wantFail bool, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"admin", "-n", b.NamesrvAddr}, args...)...)
	out, err := cmd.CombinedOutput()
	if (err != nil) != wantFail {
		t.Fatalf("rocketgo admin %v: err %v\n%s", args, err, out)
	}
	return string(out)
}

// TestAdminCLI drives mqadmin's everyday commands of `rocketgo admin` against the real binary.
func TestAdminCLI(t *testing.T) {
	t.Parallel()
	testDeadline(t, 90*time.Second)
	b := startBroker(t, t.TempDir())
	topic, group := uniqueName("adm"), uniqueName("admG")

	if out := runAdmin(t, b, false, "updateTopic", "-t", topic, "-r", "4", "-w", "4"); !strings.Contains(out, topic) {
		t.Fatalf("updateTopic: %s", out)
	}
	if out := runAdmin(t, b, false, "topicList"); !strings.Contains(out, topic) {
		t.Fatalf("topicList lacks %s:\n%s", topic, out)
	}
	if out := runAdmin(t, b, false, "topicRoute", "-t", topic); !strings.Contains(out, "broker-a") || !strings.Contains(out, b.BrokerAddr) {
		t.Fatalf("topicRoute:\n%s", out)
	}
	if out := runAdmin(t, b, false, "clusterList"); !strings.Contains(out, "DefaultCluster") || !strings.Contains(out, b.BrokerAddr) {
		t.Fatalf("clusterList:\n%s", out)
	}

	p := sdkProducer(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Send(ctx, &message.Message{Topic: topic, Body: []byte("hello admin"), Keys: []string{"order-42"}, Tag: "T1"})
	if err != nil {
		t.Fatal(err)
	}
	if out := runAdmin(t, b, false, "queryMsgByKey", "-t", topic, "-k", "order-42"); !strings.Contains(out, res.OffsetMsgID) {
		t.Fatalf("queryMsgByKey lacks %s:\n%s", res.OffsetMsgID, out)
	}
	if out := runAdmin(t, b, false, "queryMsgById", "-i", res.OffsetMsgID); !strings.Contains(out, topic) || !strings.Contains(out, "T1") {
		t.Fatalf("queryMsgById:\n%s", out)
	}

	rc := dialRaw(t, b.BrokerAddr)
	commitRaw(t, rc, group, topic, int(res.Queue.QueueID), 1)
	if out := runAdmin(t, b, false, "consumerProgress", "-g", group, "-t", topic); !strings.Contains(out, "total lag") {
		t.Fatalf("consumerProgress:\n%s", out)
	}
	if out := runAdmin(t, b, false, "resetOffsetByTime", "-g", group, "-t", topic, "-s", "0"); !strings.Contains(out, "OFFSET") {
		t.Fatalf("resetOffsetByTime:\n%s", out)
	}
	if code, off, err := queryConsumerOffset(b.BrokerAddr, group, topic, int(res.Queue.QueueID)); err != nil || code != 0 || off != 0 {
		t.Fatalf("offset after reset to 0: code %d offset %d err %v", code, off, err)
	}

	due := time.Now().Add(time.Hour).UnixMilli()
	tr, err := p.Send(ctx, &message.Message{Topic: topic, Body: []byte("later"),
		Properties: map[string]string{"TIMER_DELIVER_MS": strconv.FormatInt(due, 10)}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the timer listed", func() (bool, string) {
		out := runAdmin(t, b, false, "timerList", "-b", b.BrokerAddr)
		return strings.Contains(out, tr.OffsetMsgID), out
	})
	if out := runAdmin(t, b, false, "timerCancel", "-i", tr.OffsetMsgID); !strings.Contains(out, "cancelled") {
		t.Fatalf("timerCancel:\n%s", out)
	}
	if out := runAdmin(t, b, true, "timerCancel", "-i", tr.OffsetMsgID); !strings.Contains(out, "not pending") {
		t.Fatalf("second timerCancel:\n%s", out)
	}
	runAdmin(t, b, true, "topicRoute") // missing -t: usage, exit 2
	if out := runAdmin(t, b, false, "deleteTopic", "-t", topic); !strings.Contains(out, "deleted") {
		t.Fatalf("deleteTopic:\n%s", out)
	}
}
