package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/ports/storage"
)

// RunMeta holds a MetaStore to the port's contract. open returns a new, empty store.
func RunMeta(t *testing.T, open func(t *testing.T) storage.MetaStore) {
	ctx := context.Background()
	t.Run("LoadMissing", func(t *testing.T) {
		if _, err := open(t).Load(ctx, "topics.json"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Load of a missing document: %v, want ErrNotFound", err)
		}
	})
	t.Run("SaveLoadReplace", func(t *testing.T) {
		m := open(t)
		for _, doc := range [][]byte{[]byte(`{"v":1}`), []byte(`{"v":2,"longer":true}`), []byte(`{}`), {}} {
			if err := m.Save(ctx, "consumerOffset.json", doc); err != nil {
				t.Fatalf("Save: %v", err)
			}
			got, err := m.Load(ctx, "consumerOffset.json")
			if err != nil || !bytes.Equal(got, doc) {
				t.Fatalf("Load = %q, %v, want %q", got, err, doc)
			}
		}
		if _, err := m.Load(ctx, "other.json"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Load of another name: %v", err)
		}
	})
	t.Run("CallerOwnsBuffers", func(t *testing.T) {
		m := open(t)
		doc := []byte("original")
		if err := m.Save(ctx, "a", doc); err != nil {
			t.Fatal(err)
		}
		copy(doc, "XXXXXXXX")
		got, _ := m.Load(ctx, "a")
		copy(got, "YYYYYYYY")
		if again, _ := m.Load(ctx, "a"); string(again) != "original" {
			t.Fatalf("stored document changed through a caller's buffer: %q", again)
		}
	})
	t.Run("InvalidNames", func(t *testing.T) {
		m := open(t)
		for _, name := range []string{"", ".", "..", "../x", "a/b", `a\b`, "nul\x00", "sp ace"} {
			if err := m.Save(ctx, name, []byte("x")); err == nil {
				t.Fatalf("Save accepted the name %q", name)
			}
			if _, err := m.Load(ctx, name); err == nil || errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Load of the name %q: %v, want a refusal", name, err)
			}
		}
	})
	t.Run("ConcurrentSaves", func(t *testing.T) {
		m := open(t)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 10 {
					if err := m.Save(ctx, "shared.json", []byte(fmt.Sprintf("writer %d save %d", i, j))); err != nil {
						t.Errorf("Save: %v", err)
					}
				}
			})
		}
		wg.Wait()
		got, err := m.Load(ctx, "shared.json")
		if err != nil || !bytes.HasPrefix(got, []byte("writer ")) {
			t.Fatalf("Load after concurrent saves = %q, %v", got, err)
		}
	})
}
