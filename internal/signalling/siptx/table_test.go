package siptx

import (
	"fmt"
	"sync"
	"testing"
)

// TestTableConcurrent has goroutines race to create the same transactions:
// each key gets exactly one, and remove only deletes the one stored.
func TestTableConcurrent(t *testing.T) {
	tb := newTable[*int]()
	const keys, workers = 500, 8
	var made [workers]int
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := range keys {
				tb.getOrAdd(fmt.Sprint("branch", k), func() *int { made[w]++; return new(int) })
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range made {
		total += n
	}
	if total != keys || tb.len() != keys {
		t.Fatalf("made %d transactions and the table holds %d, want %d each", total, tb.len(), keys)
	}
	if got := len(tb.appendAll(nil)); got != keys {
		t.Errorf("appendAll returned %d, want %d", got, keys)
	}
	tb.remove("branch1", new(int)) // another transaction under the same key
	if tb.get("branch1") == nil {
		t.Error("remove deleted a transaction it was not given")
	}
	tb.remove("branch1", tb.get("branch1"))
	if tb.get("branch1") != nil || tb.len() != keys-1 {
		t.Errorf("after remove: get %v, len %d, want nil and %d", tb.get("branch1"), tb.len(), keys-1)
	}
}
