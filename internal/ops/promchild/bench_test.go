package promchild

import "testing"

// BenchmarkGetParallel looks up one child from every core, as the
// per-message counters do.
//
//	go test -run '^$' -bench GetParallel -cpu 1,2 ./internal/ops/promchild/
func BenchmarkGetParallel(b *testing.B) {
	c := Cache[string, *int]{Make: func(string) *int { return new(int) }}
	c.Get("request")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Get("request")
		}
	})
}
