// Package promchild caches the children of a Prometheus metric vector by
// their label values, for counters on a per-message path.
package promchild

import "sync"

// Cache maps label values to the vector's child for them, so that counting
// costs a map lookup rather than WithLabelValues' validation, hashing and
// locking. A child is made on first use, as WithLabelValues would, so what
// is exposed does not change. The zero Cache is not usable: set Make.
type Cache[K comparable, M any] struct {
	// Make returns the child for k, typically vec.WithLabelValues(...).
	Make func(k K) M

	// mu guards m.
	mu sync.RWMutex
	m  map[K]M
}

// Get returns the child for k, making it the first time.
func (c *Cache[K, M]) Get(k K) M {
	c.mu.RLock()
	m, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok = c.m[k]; !ok {
		if c.m == nil {
			c.m = make(map[K]M)
		}
		m = c.Make(k)
		c.m[k] = m
	}
	return m
}
