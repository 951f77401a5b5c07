package namesrv

import "time"

// Config of the route table.
type Config struct {
	// BrokerExpiry drops a broker that has not registered for this long.
	BrokerExpiry time.Duration `koanf:"brokerExpiry"`
	// ScanInterval is how often expired brokers are looked for.
	ScanInterval time.Duration `koanf:"scanInterval"`
}

// Defaults returns RocketMQ's timings.
func Defaults() Config {
	return Config{BrokerExpiry: 120 * time.Second, ScanInterval: 10 * time.Second}
}
