// Package promchild caches the children of a Prometheus metric vector by
// their label values, for counters on a per-message path.
package promchild

import (
	"maps"
	"sync"
	"sync/atomic"
)

// maxCached bounds a Cache: label values past it are looked up with Make
// each time rather than kept, so a vector whose labels come from the
// network cannot grow the cache without end.
const maxCached = 1024

// Cache maps label values to the vector's child for them, so that counting
// costs a map lookup rather than WithLabelValues' validation, hashing and
// locking. A child is made on first use, as WithLabelValues would, so what
// is exposed does not change. The zero Cache is not usable: set Make.
//
// The map is copied on write and read through an atomic pointer: a lookup
// writes no shared memory, so cores counting at once do not pass a lock's
// cache line between them. Label sets are small and complete early, so the
// copies stop soon.
type Cache[K comparable, M any] struct {
	// Make returns the child for k, typically vec.WithLabelValues(...).
	Make func(k K) M

	m atomic.Pointer[map[K]M]
	// mu serialises the writers of m.
	mu sync.Mutex
}

// Get returns the child for k, making it the first time.
func (c *Cache[K, M]) Get(k K) M {
	if p := c.m.Load(); p != nil {
		if m, ok := (*p)[k]; ok {
			return m
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if m, ok := (*old)[k]; ok {
			return m
		}
		if len(*old) >= maxCached {
			return c.Make(k)
		}
	}
	next := make(map[K]M, 1)
	if old != nil {
		next = maps.Clone(*old)
	}
	m := c.Make(k)
	next[k] = m
	c.m.Store(&next)
	return m
}
