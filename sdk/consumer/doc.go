// Package consumer reads messages from RocketMQ-compatible brokers.
//
// PushConsumer delivers the messages of its subscriptions to handlers. In clustering mode the
// members of a group divide each topic's queues with RocketMQ's average allocation (the same as
// the official Java and Go clients, so a group may mix them), offsets are kept by the brokers
// (QUERY/UPDATE_CONSUMER_OFFSET and the pull commit flag), and failed messages go back to the
// broker for a delayed retry through the group's %RETRY% topic. In broadcasting mode every member
// reads every queue and keeps its own offsets. Orderly mode consumes each queue in order, one
// batch at a time, while this member holds the broker's lock on it. Each queue is long-polled
// (held up to 20 s by the broker); rebalances run every 20 s and whenever a broker reports a
// change in the group.
//
// PullConsumer reads the queues and offsets its caller chooses and commits offsets only when
// asked.
package consumer
