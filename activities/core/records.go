package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
)

// RecordStore holds core.record values. With a path it persists them as
// JSON (so `quench dev` restarts keep them); it also counts writes per key,
// which tests use to prove a step did not run twice.
type RecordStore struct {
	mu     sync.Mutex
	path   string
	values map[string]any
	writes map[string]int
}

// NewRecordStore opens (or creates) a store; path "" keeps it in memory.
func NewRecordStore(path string) (*RecordStore, error) {
	s := &RecordStore{path: path, values: map[string]any{}, writes: map[string]int{}}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open record store %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &s.values); err != nil {
		return nil, fmt.Errorf("read record store %s: %w", path, err)
	}
	return s, nil
}

// Get returns a key's value.
func (s *RecordStore) Get(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	return v, ok
}

// Put sets a key.
func (s *RecordStore) Put(key string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = v
	s.writes[key]++
	return s.save()
}

// Delete removes a key.
func (s *RecordStore) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.values, key)
	s.writes[key]++
	return s.save()
}

// Writes returns how many times a key was written in this process.
func (s *RecordStore) Writes(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes[key]
}

// Snapshot returns a copy of all values.
func (s *RecordStore) Snapshot() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]any, len(s.values))
	for k, v := range s.values {
		out[k] = v
	}
	return out
}

// Keys lists the keys, sorted.
func (s *RecordStore) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// save writes atomically (temp file + rename) so a crash never leaves half a file.
func (s *RecordStore) save() error {
	if s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s.values, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".records-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

// equalJSON compares values the way they look after a JSON round trip
// (numbers from history are float64).
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return reflect.DeepEqual(a, b)
	}
	return string(ja) == string(jb)
}
