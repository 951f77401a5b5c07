package memory

// NewWithMaxMessageSize returns an empty store that refuses records over maxSize bytes, so it
// can stand for a store with a smaller limit (the mmap store with small test segments) in the
// model test.
func NewWithMaxMessageSize(maxSize int) *Store {
	s := New()
	s.maxSize = maxSize
	return s
}
