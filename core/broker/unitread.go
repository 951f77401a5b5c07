package broker

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/ports/storage"
)

// unitMessage reads the message a consume-queue unit points at, for the broker's own readers of
// system queues (delay levels, timers, half and op messages). gone is true when there is nothing to act
// on: retention removed the record (ErrNotFound), it fails verification (ErrCorrupt), or the
// record at the unit's offset is not the unit's (a hole unit that recovery filled a gap with, or
// damage). A reader that retried such a unit would stop its queue for good, and one that took
// the record at the offset would act on another message; pulls skip them the same way.
func unitMessage(ctx context.Context, st storage.MessageStore, log *zap.Logger, q topic.QueueRef, u storage.Unit) (m message.Ext, gone bool, err error) {
	m, err = st.Message(ctx, u.PhyOffset)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return m, true, nil
	case errors.Is(err, storage.ErrCorrupt):
		log.Warn("consume queue unit skipped: its record fails verification", zap.Stringer("queue", q),
			zap.Int64("phyOffset", u.PhyOffset), zap.Error(err))
		return m, true, nil
	case err != nil:
		return m, false, err
	case m.StoreSize != u.Size:
		log.Warn("consume queue unit skipped: the record at its offset is not its own", zap.Stringer("queue", q),
			zap.Int64("phyOffset", u.PhyOffset), zap.Int32("unitSize", u.Size), zap.Int32("recordSize", m.StoreSize))
		return m, true, nil
	}
	return m, false, nil
}
