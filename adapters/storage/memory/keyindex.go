package memory

import (
	"context"
	"github.com/rocketgo/rocketgo/adapters/storage/internal/records"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// keyRef is one index key: RocketMQ's "<topic>#<key>", kept as a pair so nothing is concatenated.
type keyRef struct{ topic, key string }

// indexKeys records that the record at position rec of s.records carries m's keys. Called by
// Append under s.mu, in log order, so every list stays sorted by physical offset.
func (s *Store) indexKeys(m *message.Message, rec int) {
	if !records.Indexed(m.SysFlag) {
		return
	}
	for k := range message.IndexKeys(m.Properties[message.PropertyUniqKey], m.Properties[message.PropertyKeys]) {
		if s.keys == nil {
			s.keys = make(map[keyRef][]int)
		}
		ref := keyRef{m.Topic, k}
		s.keys[ref] = append(s.keys[ref], rec)
	}
}

// QueryByKey implements storage.KeyIndex.
func (s *Store) QueryByKey(ctx context.Context, q storage.KeyQuery) (storage.KeyResult, error) {
	if err := ctx.Err(); err != nil {
		return storage.KeyResult{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var res storage.KeyResult
	if n := len(s.records); n > 0 {
		res.LastUpdatePhyOffset, res.LastUpdateTimestamp = s.records[n-1].phy, s.records[n-1].ts
	}
	list := s.keys[keyRef{q.Topic, q.Key}]
	last := -1
	for i := len(list) - 1; i >= 0 && len(res.Hits) < q.MaxNum; i-- {
		rec := s.records[list[i]]
		if list[i] == last || rec.ts < q.BeginMs || rec.ts > q.EndMs {
			continue // a key listed twice in one record answers it once
		}
		last = list[i]
		res.Hits = append(res.Hits, storage.KeyHit{PhyOffset: rec.phy, Size: int32(len(rec.data)), StoreTimestamp: rec.ts})
	}
	return res, nil
}
