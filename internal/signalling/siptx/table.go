package siptx

import (
	"hash/maphash"
	"sync"
)

// tableShards is how many locks a table spreads its transactions over, so
// that messages of different transactions read on different cores rarely
// take the same lock.
const tableShards = 32

// table maps transaction keys to transactions. It is safe for concurrent
// use; a lookup locks one shard.
type table[T comparable] struct {
	seed   maphash.Seed
	shards [tableShards]tableShard[T]
}

type tableShard[T comparable] struct {
	// mu guards m.
	mu sync.Mutex
	m  map[string]T
	// The padding keeps two shards' locks off one cache line.
	_ [64 - 16]byte
}

func newTable[T comparable]() *table[T] {
	t := &table[T]{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].m = make(map[string]T)
	}
	return t
}

func (t *table[T]) shard(key string) *tableShard[T] {
	return &t.shards[maphash.String(t.seed, key)%tableShards]
}

// get returns the transaction with key, or the zero T.
func (t *table[T]) get(key string) T {
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

// getOrAdd returns the transaction with key and true, or stores the one
// made by newTx and returns it and false. newTx runs with the shard locked.
func (t *table[T]) getOrAdd(key string, newTx func() T) (T, bool) {
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if tx, ok := s.m[key]; ok {
		return tx, true
	}
	tx := newTx()
	s.m[key] = tx
	return tx, false
}

// put stores tx under key.
func (t *table[T]) put(key string, tx T) {
	s := t.shard(key)
	s.mu.Lock()
	s.m[key] = tx
	s.mu.Unlock()
}

// remove deletes key if it still maps to tx.
func (t *table[T]) remove(key string, tx T) {
	s := t.shard(key)
	s.mu.Lock()
	if s.m[key] == tx {
		delete(s.m, key)
	}
	s.mu.Unlock()
}

// len returns the number of transactions, summed shard by shard.
func (t *table[T]) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// appendAll appends every transaction to dst, shard by shard.
func (t *table[T]) appendAll(dst []T) []T {
	return t.appendMatching(dst, func(T) bool { return true })
}

// appendMatching appends the transactions for which match is true to dst,
// shard by shard; match runs with the shard locked.
func (t *table[T]) appendMatching(dst []T, match func(T) bool) []T {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for _, tx := range s.m {
			if match(tx) {
				dst = append(dst, tx)
			}
		}
		s.mu.Unlock()
	}
	return dst
}
