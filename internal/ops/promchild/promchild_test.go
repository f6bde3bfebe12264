package promchild

import (
	"sync"
	"testing"
)

func TestCacheMakesEachChildOnce(t *testing.T) {
	var mu sync.Mutex
	made := map[int]int{}
	c := Cache[int, *int]{Make: func(k int) *int {
		mu.Lock()
		made[k]++
		mu.Unlock()
		v := k * 10
		return &v
	}}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				k := (g + i) % 5
				if got := *c.Get(k); got != k*10 {
					t.Errorf("Get(%d) = %d", k, got)
				}
			}
		}()
	}
	wg.Wait()
	for k, n := range made {
		if n != 1 {
			t.Errorf("child %d made %d times, want once", k, n)
		}
	}
	if len(made) != 5 {
		t.Errorf("made %d children, want 5", len(made))
	}
}

func TestCacheStopsGrowingAtItsBound(t *testing.T) {
	made := 0
	c := Cache[int, int]{Make: func(k int) int { made++; return k + 1 }}
	for k := range maxCached + 10 {
		if got := c.Get(k); got != k+1 {
			t.Fatalf("Get(%d) = %d, want %d", k, got, k+1)
		}
	}
	made = 0
	c.Get(0)
	c.Get(maxCached + 5)
	c.Get(maxCached + 5)
	if made != 2 {
		t.Errorf("made %d children for one cached and two uncached lookups, want 2", made)
	}
	if got := len(*c.m.Load()); got != maxCached {
		t.Errorf("cache holds %d children, want %d", got, maxCached)
	}
}
