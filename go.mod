module github.com/rocketgo/rocketgo

go 1.26

require github.com/rocketgo/rocketgo/sdk v0.0.0

require (
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
)

replace github.com/rocketgo/rocketgo/sdk => ./sdk
