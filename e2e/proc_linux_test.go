package e2e

import "syscall"

// childProcAttr makes the kernel kill a broker if the test binary dies (a go test timeout panic,
// a crash), so no orphan keeps ports or disk.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
