//go:build race

package e2e

// raceEnabled: the official client v2.1.2 has data races of its own (for one, push_consumer.go
// writes SubscriptionData.SubVersion in messageQueueChanged while the route refresh clones it in
// SubscriptionDataList), which the race detector reports as failures of whichever test is running.
// The package skips itself under -race; run it without.
const raceEnabled = true
