// Package message holds the domain's message: what a producer sends, what the store keeps, the
// well-known property names and RocketMQ's tag hash.
package message

import "net/netip"

// Message is a message as the broker handles it before it is stored.
type Message struct {
	Topic                     string
	QueueID                   int32
	Flag                      int32
	SysFlag                   int32
	Body                      []byte
	Properties                map[string]string
	BornTimestamp             int64 // ms since the epoch
	BornHost                  netip.AddrPort
	StoreHost                 netip.AddrPort
	ReconsumeTimes            int32
	PreparedTransactionOffset int64
}

// Ext is a stored message: the message plus what the store assigned.
type Ext struct {
	Message
	QueueOffset    int64
	PhysicalOffset int64
	StoreTimestamp int64
	StoreSize      int32
	BodyCRC        int32
}

// Tags returns the TAGS property.
func (m *Message) Tags() string { return m.Properties[PropertyTags] }

// SetProperty sets a property, allocating the map on first use.
func (m *Message) SetProperty(k, v string) {
	if m.Properties == nil {
		m.Properties = make(map[string]string, 4)
	}
	m.Properties[k] = v
}

// Sys flag bits the domain cares about.
const (
	SysFlagCompressed int32 = 0x1
	SysFlagMultiTags  int32 = 0x2
	SysFlagTxMask     int32 = 0xC
	SysFlagTxNot      int32 = 0x0
	SysFlagTxPrepared int32 = 0x4
	SysFlagTxCommit   int32 = 0x8
	SysFlagTxRollback int32 = 0xC
)

// TxType is the transaction type encoded in a sys flag.
func TxType(sysFlag int32) int32 { return sysFlag & SysFlagTxMask }

// Well-known property names.
const (
	PropertyTags              = "TAGS"
	PropertyKeys              = "KEYS"
	PropertyUniqKey           = "UNIQ_KEY"
	PropertyWait              = "WAIT"
	PropertyDelayLevel        = "DELAY"
	PropertyRealTopic         = "REAL_TOPIC"
	PropertyRealQueueID       = "REAL_QID"
	PropertyRetryTopic        = "RETRY_TOPIC"
	PropertyOriginMessageID   = "ORIGIN_MESSAGE_ID"
	PropertyReconsumeTime     = "RECONSUME_TIME"
	PropertyMaxReconsumeTimes = "MAX_RECONSUME_TIMES"
	PropertyTransactionMsg    = "TRAN_MSG"
	PropertyProducerGroup     = "PGROUP"
	PropertyCluster           = "CLUSTER"
	PropertyMinOffset         = "MIN_OFFSET"
	PropertyMaxOffset         = "MAX_OFFSET"
)

// KeySeparator separates the keys inside the KEYS property.
const KeySeparator = " "

// TagsCode is RocketMQ's tag hash: Java's String.hashCode over UTF-16 code units, widened to int64.
// An empty tag hashes to 0.
func TagsCode(tags string) int64 { return int64(HashCode(0, tags)) }

// HashCode continues Java's String.hashCode h over s: h = 31*h + c for every UTF-16 code unit of
// s, so hashing "a" and then "b" equals hashing "ab". The hash runs for every message (its tag,
// and its keys in the key index), so ASCII goes four bytes a step, which breaks the chain of
// dependent multiplications: h*31^4 + c0*31^3 + c1*31^2 + c2*31 + c3 is the same int32.
func HashCode(h int32, s string) int32 {
	i := 0
	for ; i+4 <= len(s); i += 4 {
		c0, c1, c2, c3 := s[i], s[i+1], s[i+2], s[i+3]
		if c0|c1|c2|c3 >= 0x80 {
			break
		}
		h = h*(31*31*31*31) + int32(c0)*(31*31*31) + int32(c1)*(31*31) + int32(c2)*31 + int32(c3)
	}
	for ; i < len(s) && s[i] < 0x80; i++ {
		h = 31*h + int32(s[i])
	}
	for _, r := range s[i:] {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}
