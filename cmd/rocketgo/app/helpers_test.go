package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// load runs the real loader with a command line and an environment, as the binary would.
func load(t *testing.T, role Role, args []string, environ ...string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return Load(role, fs, environ)
}

func mustLoad(t *testing.T, role Role, args []string, environ ...string) Config {
	t.Helper()
	cfg, err := load(t, role, args, environ...)
	if err != nil {
		t.Fatalf("Load(%s, %q, %q): %v", role, args, environ, err)
	}
	return cfg
}

// loadErr loads and requires an ErrConfig whose message contains every part of want.
func loadErr(t *testing.T, role Role, args []string, environ []string, want ...string) {
	t.Helper()
	_, err := load(t, role, args, environ...)
	if err == nil {
		t.Fatalf("Load(%q, %q) succeeded, want an error containing %q", args, environ, want)
	}
	if !errors.Is(err, ErrConfig) {
		t.Errorf("error %v does not wrap ErrConfig", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// writeFile writes content to a file named name in a fresh temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func splitPath(p string) []string  { return strings.Split(p, ".") }
func splitLines(s string) []string { return strings.Split(s, "\n") }
