package filemeta

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rocketgo/rocketgo/ports/storage"
	"github.com/rocketgo/rocketgo/ports/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.RunMeta(t, func(t *testing.T) storage.MetaStore {
		s, err := New(filepath.Join(t.TempDir(), "config"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestReopenKeepsDocumentsAndDropsLeftovers(t *testing.T) {
	for _, name := range []string{"meta", "meta[1]", "meta[x"} { // pattern characters: listed, not globbed
		t.Run(name, func(t *testing.T) { testReopenDropsLeftovers(t, filepath.Join(t.TempDir(), name)) })
	}
}

func testReopenDropsLeftovers(t *testing.T, dir string) {
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(context.Background(), "topics.json", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "topics.json.123"+tempSuffix)
	if err := os.WriteFile(leftover, []byte("torn"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = New(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(context.Background(), "topics.json")
	if err != nil || string(got) != `{"a":1}` {
		t.Fatalf("Load after reopen = %q, %v", got, err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("leftover temporary file still there: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the document", len(entries))
	}
}
