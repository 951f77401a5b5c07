package e2e

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/sdk/wire"
)

// rawRequest sends one remoting request to addr with sdk/wire and returns the answer. It exists for
// the few reads the official client does not expose (a group's committed offset), so a test can
// wait for a state instead of sleeping. One connection per call keeps it simple; it is not hot.
func rawRequest(addr string, req *wire.Command) (*wire.Command, error) {
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req.Opaque = 1
	if _, err := conn.Write(wire.AppendFrame(nil, req)); err != nil {
		return nil, err
	}
	for {
		payload, err := wire.ReadFrame(conn, 16<<20, nil)
		if err != nil {
			return nil, err
		}
		resp, err := wire.DecodeCommand(payload)
		if err != nil {
			return nil, err
		}
		if resp.IsResponse() && resp.Opaque == req.Opaque {
			return resp, nil
		}
		// Anything else (a broker-initiated request) is not ours; keep reading.
	}
}

// queryConsumerOffset asks the broker for group's committed offset of topic/queueID
// (QUERY_CONSUMER_OFFSET, code 14). It returns the response code and, for code 0, the offset.
func queryConsumerOffset(brokerAddr, group, topic string, queueID int) (code int16, offset int64, err error) {
	resp, err := rawRequest(brokerAddr, wire.NewRequest(wire.QueryConsumerOffset, map[string]string{
		"consumerGroup": group,
		"topic":         topic,
		"queueId":       strconv.Itoa(queueID),
	}, nil))
	if err != nil {
		return 0, 0, err
	}
	if resp.Code != 0 {
		return resp.Code, -1, nil
	}
	offset, err = strconv.ParseInt(resp.Ext("offset"), 10, 64)
	if err != nil {
		return resp.Code, 0, fmt.Errorf("offset field %q: %v", resp.Ext("offset"), err)
	}
	return 0, offset, nil
}

// routeCode asks the name server for topic's route (GET_ROUTEINFO_BY_TOPIC, code 105) and returns
// the response code: 0 with a route, 17 (TOPIC_NOT_EXIST) without one.
func routeCode(namesrvAddr, topic string) (int16, error) {
	resp, err := rawRequest(namesrvAddr, wire.NewRequest(wire.GetRouteInfoByTopic, map[string]string{"topic": topic}, nil))
	if err != nil {
		return 0, err
	}
	if resp.Code == 0 && len(resp.Body) == 0 {
		return 0, fmt.Errorf("code 0 with an empty body (the Go client treats that as an error)")
	}
	return resp.Code, nil
}
