module github.com/rocketgo/rocketgo/sdk

go 1.26
