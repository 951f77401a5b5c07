module github.com/rocketgo/rocketgo

go 1.26

require github.com/rocketgo/rocketgo/sdk v0.0.0

replace github.com/rocketgo/rocketgo/sdk => ./sdk
