package memory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/rocketgo/rocketgo/ports/storage"
)

var _ storage.MetaStore = (*MetaStore)(nil)

// MetaStore keeps named documents in a map; Save stores a copy, Load returns one.
type MetaStore struct {
	mu   sync.Mutex
	docs map[string][]byte
}

// NewMetaStore returns an empty document store.
func NewMetaStore() *MetaStore { return &MetaStore{docs: make(map[string][]byte)} }

// Load implements storage.MetaStore.
func (m *MetaStore) Load(_ context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[name]
	if !ok {
		return nil, fmt.Errorf("%w: document %q", storage.ErrNotFound, name)
	}
	return append([]byte(nil), d...), nil
}

// Save implements storage.MetaStore.
func (m *MetaStore) Save(_ context.Context, name string, data []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.docs[name] = append([]byte{}, data...)
	return nil
}

// checkName holds names to the rule the file-backed store needs (a plain file name), so a name
// that works here works there.
func checkName(name string) error {
	if name == "" || name == "." || strings.Contains(name, "..") {
		return fmt.Errorf("%w: document name %q", errInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: document name %q has %q at %d", errInvalidName, name, c, i)
		}
	}
	return nil
}

var errInvalidName = errors.New("memory meta store: invalid document name")
