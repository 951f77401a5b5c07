package client

import (
	"os"

	"github.com/rocketgo/rocketgo/sdk/internal/remote"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func asCmd(c *wire.Command) remote.Encoder { return remote.Cmd{Command: c} }

func pid() int { return os.Getpid() }
