package app

import (
	"strings"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// TestEveryRoleAndEngineWires checks the fx graph of each role with each storage engine, so a
// missing provider or a type mismatch fails here rather than at a user's start.
func TestEveryRoleAndEngineWires(t *testing.T) {
	for _, role := range []Role{RoleStandalone, RoleNamesrv, RoleBroker} {
		for engine := range storageEngines() {
			cfg := DefaultsFor(role)
			cfg.Storage.Engine = engine
			cfg.Storage.Dir = t.TempDir()
			cfg.resolve()
			err := fx.ValidateApp(fx.NopLogger, fx.Supply(cfg, role, zap.NewNop(), &Endpoints{}), RoleModule(role, cfg))
			if err != nil {
				t.Errorf("%s with engine %s: %v", role, engine, err)
			}
		}
	}
}

func TestEveryValidatedEngineHasAFactory(t *testing.T) {
	engines := storageEngines()
	for _, e := range Engines() {
		if _, ok := engines[e]; !ok {
			t.Errorf("storage.engine %q passes validation but has no factory", e)
		}
	}
	if len(engines) != len(Engines()) {
		t.Errorf("factories %d, validated engines %d", len(engines), len(Engines()))
	}
}

func TestUnknownEngineListsTheValidOnes(t *testing.T) {
	cfg := Defaults()
	cfg.Storage.Engine = "tape"
	_, err := newEngine(cfg, zap.NewNop())
	if err == nil || !strings.Contains(err.Error(), "memory, mmap") {
		t.Fatalf("err = %v", err)
	}
}
