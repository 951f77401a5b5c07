package durable

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestMkdirAllCreatesMissingParents(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "c")
	if err := MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("after MkdirAll: %v, %v", st, err)
	}
	if err := MkdirAll(dir); err != nil {
		t.Fatalf("again, on an existing directory: %v", err)
	}
}

func TestMkdirAllRefusesAFileInTheWay(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(file); err == nil {
		t.Fatal("MkdirAll over a file succeeded")
	}
	if err := MkdirAll(filepath.Join(file, "sub")); err == nil {
		t.Fatal("MkdirAll under a file succeeded")
	}
}

func TestSyncDirOfAMissingDirectory(t *testing.T) {
	if err := SyncDir(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("SyncDir of a missing directory: %v, want not-exist", err)
	}
}
