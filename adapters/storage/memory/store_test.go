package memory

import (
	"testing"

	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.MessageStore { return New() })
}

func TestMetaConformance(t *testing.T) {
	storagetest.RunMeta(t, func(*testing.T) storage.MetaStore { return NewMetaStore() })
}
