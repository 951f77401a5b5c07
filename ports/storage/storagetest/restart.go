package storagetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// OpenDir opens (or reopens) a persistent store in dir and returns it with its stop function.
type OpenDir func(t *testing.T, dir string) (storage.MessageStore, func())

// Appended is what a test appended: the messages and what the store assigned them.
type Appended struct {
	Msgs    []message.Message
	Results []storage.AppendResult
}

// Fill appends n messages spread over queues of topicName, in batches of up to 7, with bodies
// of bodySize bytes.
func Fill(t testing.TB, s storage.MessageStore, topicName string, queues int32, n, bodySize int) Appended {
	t.Helper()
	var out Appended
	for i := 0; i < n; {
		var batch []message.Message
		q := int32(i) % queues
		for j := 0; j < 7 && i < n; j, i = j+1, i+1 {
			body := bytes.Repeat([]byte{byte('a' + i%26)}, bodySize)
			copy(body, fmt.Sprint(i, "|"))
			batch = append(batch, Msg(topicName, q, string(body), fmt.Sprint("tag", i%4)))
		}
		out.Msgs = append(out.Msgs, batch...)
		out.Results = append(out.Results, mustAppend(t, s, batch...)...)
	}
	return out
}

// Verify checks that s holds every appended message: by physical offset, byte for byte, and in
// its consume queue.
func Verify(t testing.TB, s storage.MessageStore, a Appended) {
	t.Helper()
	ctx := context.Background()
	units := map[topic.QueueRef][]storage.Unit{}
	for i, m := range a.Msgs {
		r := a.Results[i]
		checkMessage(t, s, Expect(m, r))
		b, err := s.ReadRecord(ctx, r.PhysicalOffset, r.Size, nil)
		if err != nil || len(b) != int(r.Size) {
			t.Fatalf("ReadRecord(%d, %d): %d bytes, %v", r.PhysicalOffset, r.Size, len(b), err)
		}
		q := topic.QueueRef{Topic: m.Topic, QueueID: m.QueueID}
		if _, ok := units[q]; !ok {
			_, hi := s.QueueBounds(q)
			units[q] = mustLookup(t, s, q, 0, int(hi))
		}
		u := units[q]
		if r.QueueOffset >= int64(len(u)) {
			t.Fatalf("%v has %d units; message %d has queue offset %d", q, len(u), i, r.QueueOffset)
		}
		want := storage.Unit{PhyOffset: r.PhysicalOffset, Size: r.Size, TagsCode: message.TagsCode(m.Tags())}
		if u[r.QueueOffset] != want {
			t.Fatalf("%v unit %d = %+v, want %+v", q, r.QueueOffset, u[r.QueueOffset], want)
		}
	}
}

// RunRestart holds a persistent store to surviving a clean restart: everything appended is
// still there, and new appends continue the offsets.
func RunRestart(t *testing.T, open OpenDir) {
	dir := t.TempDir()
	s, stop := open(t, dir)
	a := Fill(t, s, "TopicP", 3, 400, 200)
	prepared := Msg("TopicP", 0, "half", "")
	prepared.SysFlag = message.SysFlagTxPrepared
	mustAppend(t, s, prepared)
	if err := s.DeleteTopic(context.Background(), "TopicP"); err != nil {
		t.Fatal(err)
	}
	deleted := Fill(t, s, "TopicP", 3, 30, 50) // the topic recreated: offsets from 0 again
	_ = deleted
	gone := Fill(t, s, "TopicGone", 1, 10, 10)
	if err := s.DeleteTopic(context.Background(), "TopicGone"); err != nil {
		t.Fatal(err)
	}
	_, logMax := s.LogBounds()
	bounds := map[topic.QueueRef][2]int64{}
	for qid := range int32(3) {
		q := topic.QueueRef{Topic: "TopicP", QueueID: qid}
		lo, hi := s.QueueBounds(q)
		bounds[q] = [2]int64{lo, hi}
	}
	stop()

	s, stop = open(t, dir)
	defer stop()
	if _, hi := s.LogBounds(); hi != logMax {
		t.Fatalf("log max %d after restart, want %d", hi, logMax)
	}
	for q, b := range bounds {
		if lo, hi := s.QueueBounds(q); lo != b[0] || hi != b[1] {
			t.Fatalf("%v bounds %d, %d after restart, want %d, %d", q, lo, hi, b[0], b[1])
		}
	}
	if _, hi := s.QueueBounds(topic.QueueRef{Topic: "TopicGone", QueueID: 0}); hi != 0 {
		t.Fatalf("a deleted topic came back with %d units after restart", hi)
	}
	for i, m := range a.Msgs {
		checkMessage(t, s, Expect(m, a.Results[i]))
	}
	Verify(t, s, deleted)
	for i, m := range gone.Msgs {
		checkMessage(t, s, Expect(m, gone.Results[i]))
	}
	more := mustAppend(t, s, Msg("TopicP", 1, "after restart", ""))
	if want := bounds[topic.QueueRef{Topic: "TopicP", QueueID: 1}][1]; more[0].QueueOffset != want {
		t.Fatalf("queue offset after restart %d, want %d", more[0].QueueOffset, want)
	}
	if more[0].PhysicalOffset < logMax {
		t.Fatalf("physical offset after restart %d, below the old max %d", more[0].PhysicalOffset, logMax)
	}
	if !reflect.DeepEqual(mustLookup(t, s, topic.QueueRef{Topic: "TopicP", QueueID: 1}, more[0].QueueOffset, 1),
		[]storage.Unit{{PhyOffset: more[0].PhysicalOffset, Size: more[0].Size}}) {
		t.Fatalf("unit of the message appended after restart is wrong")
	}
	t.Run("KeyIndex", func(t *testing.T) { testKeyIndexRestart(t, open) })
}
