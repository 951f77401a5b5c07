package consumer

import (
	"slices"

	"github.com/rocketgo/rocketgo/sdk/message"
)

// AllocateAveragely is RocketMQ's AllocateMessageQueueAveragely, the default of the Java and Go
// clients: the sorted consumer ids take contiguous ranges of the sorted queues, the first
// len(queues) % len(ids) consumers one queue more than the others. Every member of a group that
// uses it (whatever its client) computes the same partition from the same inputs, so each queue
// has exactly one owner. queues and ids are sorted here (queues by topic, broker name and queue
// id; ids as strings) without modifying the arguments; an id not in ids gets nothing.
func AllocateAveragely(id string, ids []string, queues []message.Queue) []message.Queue {
	if id == "" || len(ids) == 0 || len(queues) == 0 {
		return nil
	}
	cids := slices.Clone(ids)
	slices.Sort(cids)
	mqs := slices.Clone(queues)
	slices.SortStableFunc(mqs, message.Queue.Compare)
	index := slices.Index(cids, id)
	if index < 0 {
		return nil
	}
	mqSize, cidSize := len(mqs), len(cids)
	mod := mqSize % cidSize
	var average int
	switch {
	case mqSize <= cidSize:
		average = 1
	case mod > 0 && index < mod:
		average = mqSize/cidSize + 1
	default:
		average = mqSize / cidSize
	}
	start := index*average + mod
	if mod > 0 && index < mod {
		start = index * average
	}
	n := min(average, mqSize-start)
	out := make([]message.Queue, 0, max(n, 0))
	for i := 0; i < n; i++ {
		out = append(out, mqs[(start+i)%mqSize])
	}
	return out
}
