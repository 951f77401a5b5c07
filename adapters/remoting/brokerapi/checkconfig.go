package brokerapi

import (
	"context"
	"encoding/json"

	"github.com/rocketgo/rocketgo/adapters/remoting"
	"github.com/rocketgo/rocketgo/ports/inbound"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

// checkClientBody is Java's CheckClientRequestBody.
type checkClientBody struct {
	ClientID         string            `json:"clientId"`
	Group            string            `json:"group"`
	SubscriptionData *checkClientSubst `json:"subscriptionData"`
}

type checkClientSubst struct {
	Topic          string `json:"topic"`
	SubString      string `json:"subString"`
	ExpressionType string `json:"expressionType"`
	SubVersion     int64  `json:"subVersion"`
}

// checkClientConfig answers CHECK_CLIENT_CONFIG (46), which Java clients send before they start a
// consumer with a SQL92 subscription: SUCCESS when the broker can filter by it,
// SUBSCRIPTION_PARSE_FAILED (23) with the position and the reason when the expression does not
// compile, and, as Java, SYSTEM_ERROR when property filters are off. No subscription in the body
// is a success, as in Java.
func (h *Handlers) checkClientConfig(ctx context.Context, _ *remoting.Conn, req *wire.Command) *wire.Command {
	checker, can := h.b.(inbound.SubscriptionChecker)
	if !can {
		return fail(req, wire.RequestCodeNotSupported, "this broker does not check client configs")
	}
	var body checkClientBody
	if len(req.Body) > 0 {
		if err := json.Unmarshal(req.Body, &body); err != nil {
			return fail(req, wire.SystemError, "check client config body: %v", err)
		}
	}
	if body.SubscriptionData == nil {
		return ok(req)
	}
	sd := body.SubscriptionData
	sub := inbound.Subscription{Topic: sd.Topic, Expression: sd.SubString, ExpressionType: sd.ExpressionType, Version: sd.SubVersion}
	if err := checker.CheckSubscription(ctx, body.Group, sub); err != nil {
		return failErr(req, err)
	}
	return ok(req)
}
