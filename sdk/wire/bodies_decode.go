package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Decoders for the JSON bodies a Java server writes with fastjson's defaults, which are not
// standard JSON: numeric map keys are bare ({0:"10.0.0.1:10911"}) and maps keyed by objects write
// the object itself as the key ({{"topic":"T","brokerName":"b","queueId":0}:5}). The bodies are
// small (routes, cluster info, offset tables), so these favour clarity over speed.

// topicRouteJSON is the standard-JSON shape of TopicRouteData.
type topicRouteJSON struct {
	BrokerDatas []brokerDataJSON `json:"brokerDatas"`
	QueueDatas  []QueueData      `json:"queueDatas"`
}

type brokerDataJSON struct {
	Cluster     string            `json:"cluster"`
	BrokerName  string            `json:"brokerName"`
	BrokerAddrs map[string]string `json:"brokerAddrs"`
}

func (b *brokerDataJSON) toBrokerData() (BrokerData, error) {
	out := BrokerData{Cluster: b.Cluster, BrokerName: b.BrokerName, BrokerAddrs: make(map[int64]string, len(b.BrokerAddrs))}
	for k, v := range b.BrokerAddrs {
		id, err := strconv.ParseInt(strings.TrimSpace(k), 10, 64)
		if err != nil {
			return BrokerData{}, malformed("broker %q: broker id %q is not an integer", b.BrokerName, k)
		}
		out.BrokerAddrs[id] = v
	}
	return out, nil
}

// DecodeTopicRoute decodes a GET_ROUTEINFO_BY_TOPIC body in either dialect a name server writes:
// standard JSON or fastjson's bare numeric broker ids. Key case does not matter (as for the Go
// client) and unknown keys are ignored. A body without queueDatas is an error, as it is for the
// official client.
func DecodeTopicRoute(b []byte) (*TopicRouteData, error) {
	std := quoteNumericKeys(b)
	var raw topicRouteJSON
	if err := json.Unmarshal(std, &raw); err != nil {
		return nil, malformed("topic route: %v", err)
	}
	// Decoding twice is cheap for a route and tells "missing" from "empty".
	var presence map[string]json.RawMessage
	if err := json.Unmarshal(std, &presence); err != nil {
		return nil, malformed("topic route: %v", err)
	}
	found := false
	for k := range presence {
		if strings.EqualFold(k, "queueDatas") {
			found = true
		}
	}
	if !found {
		return nil, malformed("topic route has no queueDatas")
	}
	out := &TopicRouteData{QueueDatas: raw.QueueDatas}
	for i := range raw.BrokerDatas {
		bd, err := raw.BrokerDatas[i].toBrokerData()
		if err != nil {
			return nil, err
		}
		out.BrokerDatas = append(out.BrokerDatas, bd)
	}
	return out, nil
}

// DecodeClusterInfo decodes a GET_BROKER_CLUSTER_INFO body in either dialect.
func DecodeClusterInfo(b []byte) (*ClusterInfo, error) {
	var raw struct {
		BrokerAddrTable  map[string]brokerDataJSON `json:"brokerAddrTable"`
		ClusterAddrTable map[string][]string       `json:"clusterAddrTable"`
	}
	if err := json.Unmarshal(quoteNumericKeys(b), &raw); err != nil {
		return nil, malformed("cluster info: %v", err)
	}
	out := &ClusterInfo{BrokerAddrTable: make(map[string]BrokerData, len(raw.BrokerAddrTable)), ClusterAddrTable: raw.ClusterAddrTable}
	for name, bd := range raw.BrokerAddrTable {
		d, err := bd.toBrokerData()
		if err != nil {
			return nil, err
		}
		out.BrokerAddrTable[name] = d
	}
	if out.ClusterAddrTable == nil {
		out.ClusterAddrTable = map[string][]string{}
	}
	return out, nil
}

// QueueOffset is one entry of an offset table.
type QueueOffset struct {
	Queue  MessageQueue
	Offset int64
}

// DecodeOffsetTable decodes {"offsetTable":{<queue object>:<offset>,...}}, the fastjson form of a
// map keyed by MessageQueue that RESET_CONSUMER_CLIENT_OFFSET and INVOKE_BROKER_TO_RESET_OFFSET
// carry. Entries come back in the order of the body.
func DecodeOffsetTable(b []byte) ([]QueueOffset, error) {
	s := scanner{b: b}
	if !s.eat('{') {
		return nil, malformed("offset table: not an object")
	}
	var out []QueueOffset
	for !s.eat('}') {
		key, err := s.stringToken()
		if err != nil {
			return nil, malformed("offset table: %v", err)
		}
		if !s.eat(':') {
			return nil, malformed("offset table: want ':' after %q", key)
		}
		if key != "offsetTable" {
			if err := s.skipValue(); err != nil {
				return nil, malformed("offset table: %v", err)
			}
		} else {
			entries, err := s.objectKeyedOffsets()
			if err != nil {
				return nil, malformed("offset table: %v", err)
			}
			out = entries
		}
		if !s.eat(',') && s.peek() != '}' {
			return nil, malformed("offset table: want ',' or '}' at %d", s.i)
		}
	}
	return out, nil
}

// scanner walks fastjson text: just enough to find the extent of values and to read keys.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scanner) peek() byte {
	s.skipSpace()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// stringEnd returns the index after the string starting at i (which holds '"').
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

func (s *scanner) stringToken() (string, error) {
	if s.peek() != '"' {
		return "", malformed("want a string at %d", s.i)
	}
	end, ok := stringEnd(s.b, s.i)
	if !ok {
		return "", malformed("unterminated string at %d", s.i)
	}
	var v string
	if err := json.Unmarshal(s.b[s.i:end], &v); err != nil {
		return "", err
	}
	s.i = end
	return v, nil
}

// valueEnd returns the end of the value starting at s.i: a string, a balanced object or array, or
// a bare token up to the next ',', ':', '}' or ']'.
func (s *scanner) valueEnd() (int, error) {
	s.skipSpace()
	if s.i >= len(s.b) {
		return 0, malformed("value expected at end of input")
	}
	switch s.b[s.i] {
	case '"':
		end, ok := stringEnd(s.b, s.i)
		if !ok {
			return 0, malformed("unterminated string at %d", s.i)
		}
		return end, nil
	case '{', '[':
		depth := 0
		for j := s.i; j < len(s.b); j++ {
			switch s.b[j] {
			case '"':
				end, ok := stringEnd(s.b, j)
				if !ok {
					return 0, malformed("unterminated string at %d", j)
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, malformed("unbalanced value at %d", s.i)
	}
	j := s.i
	for j < len(s.b) && !bytes.ContainsRune([]byte(",:}] \t\r\n"), rune(s.b[j])) {
		j++
	}
	if j == s.i {
		return 0, malformed("value expected at %d", s.i)
	}
	return j, nil
}

func (s *scanner) skipValue() error {
	end, err := s.valueEnd()
	if err != nil {
		return err
	}
	s.i = end
	return nil
}

func (s *scanner) objectKeyedOffsets() ([]QueueOffset, error) {
	if !s.eat('{') {
		return nil, malformed("offsetTable is not an object at %d", s.i)
	}
	out := []QueueOffset{}
	for !s.eat('}') {
		start := s.i
		end, err := s.valueEnd()
		if err != nil {
			return nil, err
		}
		keyText := s.b[start:end]
		s.i = end
		var q MessageQueue
		switch {
		case len(keyText) > 0 && keyText[0] == '{':
			if err := json.Unmarshal(quoteNumericKeys(keyText), &q); err != nil {
				return nil, malformed("queue key %s: %v", keyText, err)
			}
		case len(keyText) > 0 && keyText[0] == '"':
			// A JSON-encoded queue object as a string key (gson-like writers).
			var inner string
			if err := json.Unmarshal(keyText, &inner); err != nil {
				return nil, err
			}
			if err := json.Unmarshal([]byte(inner), &q); err != nil {
				return nil, malformed("queue key %s: %v", keyText, err)
			}
		default:
			return nil, malformed("queue key %s", keyText)
		}
		if !s.eat(':') {
			return nil, malformed("want ':' after queue key at %d", s.i)
		}
		vs := s.i
		ve, err := s.valueEnd()
		if err != nil {
			return nil, err
		}
		s.i = ve
		off, err := strconv.ParseInt(strings.TrimSpace(string(s.b[vs:ve])), 10, 64)
		if err != nil {
			return nil, malformed("offset %q of %s", s.b[vs:ve], keyText)
		}
		out = append(out, QueueOffset{Queue: q, Offset: off})
		if !s.eat(',') && s.peek() != '}' {
			return nil, malformed("want ',' or '}' at %d", s.i)
		}
	}
	return out, nil
}

// quoteNumericKeys rewrites fastjson's bare numeric object keys ({0:"a",1:"b"}) as strings, so the
// text becomes standard JSON. Text inside strings is never touched. Standard JSON comes back
// unchanged (and unallocated).
func quoteNumericKeys(b []byte) []byte {
	var out []byte // nil until the first rewrite
	last := 0
	expectKey := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			end, ok := stringEnd(b, i)
			if !ok {
				i = len(b)
				continue
			}
			i = end - 1
			expectKey = false
		case c == '{':
			expectKey = true
		case c == ',':
			// A key follows a comma only inside an object; in an array a number after a comma is
			// followed by ',' or ']', never ':', which the check below requires.
			expectKey = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case expectKey && (c == '-' || (c >= '0' && c <= '9')):
			j := i + 1
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			k := j
			for k < len(b) && (b[k] == ' ' || b[k] == '\t' || b[k] == '\n' || b[k] == '\r') {
				k++
			}
			if k < len(b) && b[k] == ':' {
				out = append(out, b[last:i]...)
				out = append(out, '"')
				out = append(out, b[i:j]...)
				out = append(out, '"')
				last = j
			}
			i = j - 1
			expectKey = false
		default:
			expectKey = false
		}
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}
