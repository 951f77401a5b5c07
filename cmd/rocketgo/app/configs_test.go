package app

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// The shipped files in configs/ load through the real, strict loader, validate, and list every
// key their role uses, so a field added to any Config type fails here until it is documented.
func TestShippedConfigs(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "configs")
	cases := []struct {
		file     string
		role     Role
		sections []string // top-level keys the role uses; all their keys must be in the file
	}{
		{"standalone.yaml", RoleStandalone, []string{"log", "namesrv", "broker", "remoting", "storage", "startTimeout", "shutdownTimeout"}},
		{"namesrv.yaml", RoleNamesrv, []string{"log", "namesrv", "remoting", "startTimeout", "shutdownTimeout"}},
		{"broker.yaml", RoleBroker, []string{"log", "broker", "remoting", "storage", "startTimeout", "shutdownTimeout"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join(dir, c.file)
			cfg, err := load(t, c.role, []string{"-c", path})
			if err != nil {
				t.Fatalf("loading %s: %v", path, err)
			}

			raw := koanf.New(".")
			if err := raw.Load(file.Provider(path), yaml.Parser()); err != nil {
				t.Fatal(err)
			}
			present := raw.All()
			for _, l := range leaves(cfg) {
				top, _, _ := strings.Cut(l.path, ".")
				if !slices.Contains(c.sections, top) {
					continue
				}
				if _, ok := present[l.path]; !ok {
					t.Errorf("%s lacks key %s: add it with a comment (what it does, default, units)", c.file, l.path)
				}
			}

			// Every key is commented: the line before each key line is a comment or another key
			// opening a section. This keeps "every key commented" from being only a promise.
			checkCommented(t, path)
		})
	}
}

func checkCommented(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasSuffix(trimmed, ":") {
			continue // blank, comment, or a section header
		}
		prev := ""
		if i > 0 {
			prev = strings.TrimSpace(lines[i-1])
		}
		if !strings.HasPrefix(prev, "#") {
			t.Errorf("%s:%d: key %q has no comment above it", path, i+1, trimmed)
		}
	}
}
