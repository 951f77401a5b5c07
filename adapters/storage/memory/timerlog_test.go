package memory

import (
	"testing"

	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

func TestTimerLogConformance(t *testing.T) {
	storagetest.RunTimerLog(t, func(*testing.T) storage.TimerLog { return NewTimerLog() })
}
