package rocketgo_test

// This file enforces the dependency rule of ARCHITECTURE.md section 3 over every package of the
// root module and of the sdk module, using `go list -e -deps -json`. -e keeps the check working
// while a package elsewhere in the tree does not compile: its imports are still listed.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/rocketgo/rocketgo"

// listedPackage is the part of `go list -json` output the rule needs.
type listedPackage struct {
	ImportPath   string
	Standard     bool
	DepOnly      bool
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func TestDependencyRule(t *testing.T) {
	var pkgs []listedPackage
	standard := map[string]bool{}
	for _, dir := range []string{".", "sdk"} {
		listed := goList(t, dir)
		for _, p := range listed {
			standard[p.ImportPath] = p.Standard
			if !p.DepOnly {
				pkgs = append(pkgs, p)
			}
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	isStd := func(path string) bool {
		if std, ok := standard[path]; ok {
			return std
		}
		// Test-only imports are not in the -deps listing: the standard library is what has no
		// dot in its first path element.
		first, _, _ := strings.Cut(path, "/")
		return !strings.Contains(first, ".")
	}

	checked := 0
	for _, p := range pkgs {
		rel, ok := relPath(p.ImportPath)
		if !ok {
			continue
		}
		checked++
		edges := []struct {
			imports []string
			test    bool
		}{{p.Imports, false}, {p.TestImports, true}, {p.XTestImports, true}}
		for _, e := range edges {
			for _, imp := range e.imports {
				if imp == p.ImportPath || imp == "C" {
					continue // an external test package importing its own package; cgo
				}
				if why := forbidden(rel, imp, isStd(imp), e.test); why != "" {
					t.Errorf("%s imports %s (forbidden: %s)", describe(rel, e.test), displayPath(imp), why)
				}
			}
		}
	}
	t.Logf("checked the imports of %d packages", checked)
}

// goList runs go list in dir. A non-zero exit with packages listed is tolerated: the listing
// still holds the imports, and the broken package's own tests report what is wrong with it.
func goList(t *testing.T, dir string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=ImportPath,Standard,DepOnly,Imports,TestImports,XTestImports", "./...")
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out []listedPackage
	dec := json.NewDecoder(&stdout)
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output in %s: %v", dir, err)
		}
		out = append(out, p)
	}
	if runErr != nil && len(out) == 0 {
		t.Fatalf("go list in %s: %v\n%s", dir, runErr, stderr.String())
	}
	return out
}

// relPath is path relative to the repository ("core/broker"), or false for other modules.
func relPath(path string) (string, bool) {
	if path == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

func displayPath(path string) string {
	if rel, ok := relPath(path); ok && rel != "" {
		return rel
	}
	return path
}

func describe(rel string, test bool) string {
	if rel == "" {
		rel = "(repository root)"
	}
	if test {
		return rel + " (test)"
	}
	return rel
}

// under reports whether rel is dir or inside it.
func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

// forbidden returns why importer (a path relative to the repository) may not import imp, or ""
// when it may. test marks an import made only by _test.go files: the rule is about what the
// product is built from, so tests may use what helps them (the memory store as a fake in a core
// test, a codec to build inputs), except in e2e, which is all test code and whose rule (black
// box) is about exactly those imports.
func forbidden(importer, imp string, std, test bool) string {
	if std || test && !under(importer, "e2e") {
		return ""
	}
	rel, internal := relPath(imp)
	if !internal && isWiringLibrary(imp) && !under(importer, "cmd/rocketgo/app") {
		return "only cmd/rocketgo/app imports go.uber.org/fx and github.com/knadh/koanf"
	}

	switch {
	case under(importer, "cmd/rocketgo/app"), under(importer, "cmd"):
		return "" // the composition root knows everything

	case under(importer, "sdk"):
		if internal && under(rel, "sdk") {
			return ""
		}
		return "sdk/... imports only the standard library and other sdk packages"

	case under(importer, "core/message"), under(importer, "core/topic"), under(importer, "core/errs"):
		return "core/message, core/topic and core/errs import only the standard library"

	case under(importer, "core/filter"), under(importer, "core/ha"):
		if internal && isCoreBase(rel) {
			return ""
		}
		return "core/filter and core/ha import only core/message, core/topic, core/errs and the standard library"

	case under(importer, "core"):
		if internal && (under(rel, "core") || under(rel, "ports")) || !internal && isZap(imp) {
			return ""
		}
		return importer + " imports only ports/..., core/..., go.uber.org/zap and the standard library"

	case under(importer, "ports"):
		if internal && (isCoreBase(rel) || under(rel, "ports")) {
			return ""
		}
		// A conformance suite (ports/storage/storagetest) builds stored records to check an
		// adapter with, and the stored layout is the wire layout: it may use the codec.
		if internal && under(rel, "sdk/wire") && strings.HasSuffix(importer, "test") {
			return ""
		}
		return "ports/... import only core/message, core/topic, core/errs, other ports and the standard library"

	case under(importer, "adapters"):
		if !internal {
			return "" // third-party libraries are what adapters are for
		}
		if under(rel, "ports") || under(rel, "core") || under(rel, "sdk/wire") {
			return ""
		}
		if under(rel, "adapters") {
			if adapterOf(rel) == adapterOf(importer) || sharedInternal(importer, rel) {
				return ""
			}
			return "an adapter never imports another adapter (" + adapterOf(importer) + " and " + adapterOf(rel) + "); the composition root connects them through ports"
		}
		return "adapters import only ports/..., core/..., sdk/wire and third-party libraries"

	case under(importer, "e2e"):
		if internal && (under(rel, "core") || under(rel, "adapters") || under(rel, "ports") || under(rel, "cmd")) {
			return "e2e tests are black-box: the binary, sdk/... and the official client, never core, ports, adapters or cmd"
		}
		return ""
	}
	return ""
}

// isCoreBase reports the domain's leaf packages, which everything may build on.
func isCoreBase(rel string) bool {
	return under(rel, "core/message") || under(rel, "core/topic") || under(rel, "core/errs")
}

func isZap(imp string) bool {
	return imp == "go.uber.org/zap" || strings.HasPrefix(imp, "go.uber.org/zap/") || imp == "go.uber.org/multierr"
}

func isWiringLibrary(imp string) bool {
	for _, p := range []string{"go.uber.org/fx", "go.uber.org/dig", "github.com/knadh/koanf"} {
		if imp == p || strings.HasPrefix(imp, p+"/") {
			return true
		}
	}
	return false
}

// adapterOf names the adapter a package belongs to: "storage/mmap", "remoting". The groups
// storage, replication and filter hold one adapter per subdirectory (adapters/storage/mmap,
// adapters/filter/tag); elsewhere the first directory is the adapter (adapters/remoting and its
// subpackages such as adapters/remoting/brokerapi).
func adapterOf(rel string) string {
	parts := strings.Split(strings.TrimPrefix(rel, "adapters/"), "/")
	if len(parts) >= 2 && slices.Contains([]string{"storage", "replication", "filter"}, parts[0]) {
		return parts[0] + "/" + parts[1]
	}
	return parts[0]
}

// sharedInternal allows adapters/storage/internal/... for the adapters of storage: code shared
// by one group, which Go's internal rule already keeps inside it.
func sharedInternal(importer, rel string) bool {
	group, _, _ := strings.Cut(strings.TrimPrefix(importer, "adapters/"), "/")
	return under(rel, "adapters/"+group+"/internal")
}

// TestDependencyRuleItself pins the rule on edges the tree may not have yet.
func TestDependencyRuleItself(t *testing.T) {
	cases := []struct {
		importer, imp string
		std, test     bool
		allowed       bool
	}{
		{"core/message", "strings", true, false, true},
		{"core/message", module + "/core/topic", false, false, false},
		{"core/message", "github.com/google/go-cmp/cmp", false, true, true},
		{"core/message", "github.com/google/go-cmp/cmp", false, false, false},
		{"core/message", module + "/sdk/wire", false, false, false},
		{"core/filter", module + "/core/message", false, false, true},
		{"core/filter", module + "/ports/clock", false, false, false},
		{"ports/storage", module + "/core/message", false, false, true},
		{"ports/storage/storagetest", module + "/ports/storage", false, false, true},
		{"ports/storage", module + "/core/broker", false, false, false},
		{"ports/storage/storagetest", module + "/sdk/wire", false, false, true},
		{"ports/storage", module + "/sdk/wire", false, false, false},
		{"ports/storage/storagetest", module + "/adapters/storage/memory", false, false, false},
		{"ports/storage", "go.uber.org/zap", false, false, false},
		{"core/broker", module + "/ports/storage", false, false, true},
		{"core/broker", module + "/core/filter", false, false, true},
		{"core/broker", "go.uber.org/zap/zapcore", false, false, true},
		{"core/broker", module + "/adapters/remoting", false, false, false},
		{"core/broker", module + "/adapters/remoting", false, true, true}, // tests may use what helps them
		{"adapters/storage/mmap", "go.uber.org/fx", false, true, true},
		{"core/namesrv", "github.com/expr-lang/expr", false, false, false},
		{"adapters/remoting/brokerapi", module + "/adapters/remoting", false, false, true},
		{"adapters/remoting", module + "/sdk/wire", false, false, true},
		{"adapters/remoting", module + "/sdk/producer", false, false, false},
		{"adapters/storage/mmap", module + "/adapters/storage/memory", false, false, false},
		{"adapters/storage/mmap", module + "/adapters/storage/mmap/internal/seg", false, false, true},
		{"adapters/storage/mmap", module + "/adapters/storage/internal/crc", false, false, true},
		{"adapters/filter/sql92", "github.com/expr-lang/expr", false, false, true},
		{"adapters/remoting", "go.uber.org/fx", false, false, false},
		{"adapters/storage/mmap", "github.com/knadh/koanf/v2", false, false, false},
		{"ports/clock", "go.uber.org/fx", false, false, false},
		{"cmd/rocketgo/app", "go.uber.org/fx", false, false, true},
		{"cmd/rocketgo/app", module + "/adapters/storage/mmap", false, false, true},
		{"sdk/producer", module + "/sdk/wire", false, false, true},
		{"sdk/wire", "golang.org/x/sys/unix", false, false, false},
		{"sdk/wire", module + "/core/message", false, false, false},
		{"e2e", module + "/sdk/wire", false, true, true},
		{"e2e", "github.com/apache/rocketmq-client-go/v2", false, true, true},
		{"e2e", module + "/core/message", false, true, false},
		{"e2e", module + "/cmd/rocketgo/app", false, true, false},
	}
	for _, c := range cases {
		why := forbidden(c.importer, c.imp, c.std, c.test)
		if (why == "") != c.allowed {
			t.Errorf("forbidden(%s -> %s, test=%v) = %q, want allowed=%v", c.importer, c.imp, c.test, why, c.allowed)
		}
	}
}
