package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/rocketgo/rocketgo/ports/storage"
)

// document is one JSON document in the meta store. Saves are serialized and each one marshals the
// state current at its turn, so a slow older save can never overwrite a newer one.
type document struct {
	meta storage.MetaStore
	name string
	mu   sync.Mutex
}

func newDocument(meta storage.MetaStore, name string) *document {
	return &document{meta: meta, name: name}
}

// load decodes the document into v; found is false when it was never saved.
func (d *document) load(ctx context.Context, v any) (bool, error) {
	data, err := d.meta.Load(ctx, d.name)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load %s: %w", d.name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", d.name, err)
	}
	return true, nil
}

// save marshals what snapshot returns and replaces the document.
func (d *document) save(ctx context.Context, snapshot func() any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	data, err := json.MarshalIndent(snapshot(), "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", d.name, err)
	}
	if err := d.meta.Save(ctx, d.name, data); err != nil {
		return fmt.Errorf("save %s: %w", d.name, err)
	}
	return nil
}
