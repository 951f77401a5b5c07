package app

import (
	"context"

	"github.com/rocketgo/rocketgo/cmd/rocketgo/bench"
)

// benchMain is `rocketgo bench`: the SDK-based load generators of package bench.
func benchMain(ctx context.Context, args []string, stdio IO) int {
	return bench.Main(ctx, args, stdio.Stdout, stdio.Stderr)
}
