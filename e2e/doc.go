// Package e2e holds rocketgo's black-box end-to-end tests. They build the rocketgo binary once,
// start real processes on 127.0.0.1 with temporary data directories and port 0, and drive them with
// the official Go client github.com/apache/rocketmq-client-go/v2 v2.1.2 (and, for a few protocol
// probes the client does not expose, with sdk/wire). They never import core/ or adapters/.
//
// Run: go test -count=1 -v ./e2e/
// Environment:
//
//	ROCKETGO_E2E_LOG=1   print every broker process log at the end of its test, pass or fail
//	ROCKETGO_E2E_BIN=... use this prebuilt binary instead of building ./cmd/rocketgo
//
// With -short the whole package is skipped, and under -race too: the official client has data
// races of its own that the detector would pin on whichever test runs (see race_on_test.go).
package e2e
