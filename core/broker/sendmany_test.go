package broker_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/adapters/storage/memory"
	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/ports/inbound"
)

// SendMany stores what Send would, in request order, answers each request as Send would, and a
// request that fails (before the append, or in it) fails alone.
func TestSendManyAnswersEachRequestAsSendWould(t *testing.T) {
	const maxSize = 4096
	e := newEnvOn(t, memory.NewWithMaxMessageSize(maxSize), memory.NewMetaStore())
	ctx := context.Background()
	reqs := []*inbound.SendRequest{
		sendReq("Orders", "TagA", "first"),
		sendReq("../etc", "", "refused before the append"),
		sendReq("Orders", "TagB", "second"),
		sendReq("Orders", "", strings.Repeat("x", 2*maxSize)), // refused by the store
		sendReq("Invoices", "TagC", "third"),
	}
	out := e.b.SendMany(ctx, reqs)
	if len(out) != len(reqs) {
		t.Fatalf("%d outcomes for %d requests", len(out), len(reqs))
	}
	if !errors.Is(out[1].Err, errs.ErrMessageIllegal) || out[1].Result != nil {
		t.Fatalf("invalid topic: %+v", out[1])
	}
	if !errors.Is(out[3].Err, errs.ErrMessageIllegal) || out[3].Result != nil {
		t.Fatalf("too large for the store: %+v", out[3])
	}
	for _, i := range []int{0, 2, 4} {
		o := out[i]
		if o.Err != nil || o.Result == nil || len(o.Result.Appended) != 1 || o.Result.Topic != reqs[i].Topic {
			t.Fatalf("request %d: %+v", i, o)
		}
		rec, err := e.store.Message(ctx, o.Result.Appended[0].PhysicalOffset)
		if err != nil {
			t.Fatal(err)
		}
		if string(rec.Body) != string(reqs[i].Body) || rec.Topic != reqs[i].Topic || rec.Properties["TAGS"] != reqs[i].Properties["TAGS"] ||
			rec.Properties["CLUSTER"] != "DefaultCluster" || rec.Properties["WAIT"] != "" {
			t.Fatalf("request %d stored as %+v", i, rec)
		}
	}
	// In request order: the two Orders messages on queue 0 at offsets 0 and 1.
	if a, b := out[0].Result.Appended[0], out[2].Result.Appended[0]; a.QueueOffset != 0 || b.QueueOffset != 1 || a.PhysicalOffset >= b.PhysicalOffset {
		t.Fatalf("order: %+v then %+v", a, b)
	}
	// The same requests one by one give the same kind of answer.
	for i, req := range reqs {
		res, err := e.b.Send(ctx, req)
		if (err == nil) != (out[i].Err == nil) || (err != nil && !errors.Is(err, errs.ErrMessageIllegal)) {
			t.Fatalf("request %d: Send %v %v, SendMany %+v", i, res, err, out[i])
		}
	}
}
