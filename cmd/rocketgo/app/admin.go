package app

import (
	"context"

	"github.com/rocketgo/rocketgo/cmd/rocketgo/admin"
)

// adminMain runs `rocketgo admin`, mqadmin's everyday commands on the SDK's admin client.
func adminMain(ctx context.Context, args []string, stdio IO) int {
	return admin.Main(ctx, args, stdio.Stdout, stdio.Stderr)
}
