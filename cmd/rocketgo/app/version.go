package app

import (
	"fmt"
	"runtime"
)

// Version and Commit identify the build. The Makefile sets them with
// -ldflags "-X github.com/rocketgo/rocketgo/cmd/rocketgo/app.Version=... -X ...app.Commit=...";
// they are variables, not constants, only so the linker can do that.
var (
	Version = "dev"
	Commit  = "dev"
)

// VersionString is what `rocketgo version` prints.
func VersionString() string {
	return fmt.Sprintf("rocketgo %s (commit %s, %s %s/%s)", Version, Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
