package app

import "fmt"

// Role is what one process runs: a name server, a broker, or both.
type Role int

// The roles, one per server subcommand.
const (
	RoleStandalone Role = iota + 1 // name server and broker in one process
	RoleNamesrv                    // name server only
	RoleBroker                     // broker only
)

// String is the subcommand name of the role.
func (r Role) String() string {
	switch r {
	case RoleStandalone:
		return "standalone"
	case RoleNamesrv:
		return "namesrv"
	case RoleBroker:
		return "broker"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// RunsNamesrv tells whether the role serves the name server protocol.
func (r Role) RunsNamesrv() bool { return r == RoleStandalone || r == RoleNamesrv }

// RunsBroker tells whether the role serves the broker protocol.
func (r Role) RunsBroker() bool { return r == RoleStandalone || r == RoleBroker }
