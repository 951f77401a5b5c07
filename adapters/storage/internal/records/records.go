// Package records converts between the domain's messages and the stored record layout, for the
// stores of adapters/storage, which keep records byte-for-byte as RocketMQ stores them.
package records

import (
	"fmt"
	"strings"

	"github.com/rocketgo/rocketgo/core/errs"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/core/topic"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// CheckTopic refuses a topic that could never be a safe path element. Names were validated
// upstream (topic.ValidateTopic); this is defence in depth before a name becomes a directory,
// and both stores answer alike.
func CheckTopic(name string) error {
	if name == "" || strings.ContainsAny(name, "/\\\x00") || strings.Contains(name, "..") {
		return fmt.Errorf("%w: topic %q is not a safe name", topic.ErrInvalidName, name)
	}
	if len(name) > maxNameBytes {
		return fmt.Errorf("%w: topic of %d bytes is longer than a file name can be (%d)", topic.ErrInvalidName, len(name), maxNameBytes)
	}
	return nil
}

// maxNameBytes is the longest file name of the usual file systems: a topic names a directory.
const maxNameBytes = 255

// CheckBatch refuses a batch with a message the stores could not keep or read back: a topic
// CheckTopic refuses, or a negative queue id (recovery takes a stored one for a corrupt header
// and would cut the log there). Names are checked once per run of equal topics.
func CheckBatch(msgs []message.Message) error {
	for i := range msgs {
		m := &msgs[i]
		if m.QueueID < 0 {
			return fmt.Errorf("%w: message %d has queue id %d", errs.ErrMessageIllegal, i, m.QueueID)
		}
		if i > 0 && m.Topic == msgs[i-1].Topic {
			continue
		}
		if err := CheckTopic(m.Topic); err != nil {
			return err
		}
	}
	return nil
}

// Fill sets the fields of r that come from m; the store sets the offsets and timestamp.
func Fill(r *wire.Record, m *message.Message, props string) {
	*r = wire.Record{
		QueueID:                   m.QueueID,
		Flag:                      m.Flag,
		SysFlag:                   m.SysFlag,
		BornTimestamp:             m.BornTimestamp,
		BornHost:                  m.BornHost,
		StoreHost:                 m.StoreHost,
		ReconsumeTimes:            m.ReconsumeTimes,
		PreparedTransactionOffset: m.PreparedTransactionOffset,
		Body:                      m.Body,
		Topic:                     m.Topic,
		Properties:                props,
	}
}

// ToExt converts a decoded record to the domain's stored message, copying the body.
func ToExt(r *wire.Record) message.Ext {
	var body []byte
	if len(r.Body) > 0 {
		body = append([]byte(nil), r.Body...)
	}
	return message.Ext{
		Message: message.Message{
			Topic:                     r.Topic,
			QueueID:                   r.QueueID,
			Flag:                      r.Flag,
			SysFlag:                   r.SysFlag,
			Body:                      body,
			Properties:                wire.ParseProperties(r.Properties),
			BornTimestamp:             r.BornTimestamp,
			BornHost:                  r.BornHost,
			StoreHost:                 r.StoreHost,
			ReconsumeTimes:            r.ReconsumeTimes,
			PreparedTransactionOffset: r.PreparedTransactionOffset,
		},
		QueueOffset:    r.QueueOffset,
		PhysicalOffset: r.PhysicalOffset,
		StoreTimestamp: r.StoreTimestamp,
		StoreSize:      r.StoreSize,
		BodyCRC:        r.BodyCRC,
	}
}

// Indexed reports whether a record of this sys flag gets a consume-queue unit: only
// non-transactional and committed records do.
func Indexed(sysFlag int32) bool {
	t := message.TxType(sysFlag)
	return t == message.SysFlagTxNot || t == message.SysFlagTxCommit
}
