package siptransport

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// wire records what a WriteQueue writes; block, when set, holds every
// write until it is closed.
type wire struct {
	mu     sync.Mutex
	got    []string
	fail   error
	block  chan struct{}
	errors int
}

func (w *wire) write(b []byte) error {
	if w.block != nil {
		<-w.block
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
	w.got = append(w.got, string(b))
	return nil
}

func (w *wire) onError(error) {
	w.mu.Lock()
	w.errors++
	w.mu.Unlock()
}

func (w *wire) written() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

func TestWriteQueueHoldWritesOnFlush(t *testing.T) {
	w := &wire{}
	q := NewWriteQueue(4, w.write, w.onError)
	q.Hold()
	for _, m := range []string{"a", "b", "c"} {
		if err := q.Push([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	q.Wait() // no drain goroutine was started
	if got := w.written(); len(got) != 0 {
		t.Fatalf("written before Flush: %q", got)
	}
	q.Flush()
	if got, want := w.written(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// After the hold, a push starts a drain goroutine again.
	if err := q.Push([]byte("d")); err != nil {
		t.Fatal(err)
	}
	q.Wait()
	if got, want := w.written(), []string{"a", "b", "c", "d"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestWriteQueueHoldLimit(t *testing.T) {
	w := &wire{}
	q := NewWriteQueue(2, w.write, w.onError)
	q.Hold()
	_ = q.Push([]byte("a"))
	_ = q.Push([]byte("b"))
	if err := q.Push([]byte("c")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("got %v, want ErrQueueFull", err)
	}
	q.Flush()
	if got, want := w.written(), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// A drain goroutine that is writing keeps the writer's role: Hold does not
// take it, and what is pushed meanwhile is written by that goroutine.
func TestWriteQueueHoldWhileDraining(t *testing.T) {
	w := &wire{block: make(chan struct{})}
	q := NewWriteQueue(4, w.write, w.onError)
	_ = q.Push([]byte("a")) // the drain goroutine blocks writing it
	q.Hold()
	_ = q.Push([]byte("b"))
	q.Flush() // returns at once: not the writer
	close(w.block)
	q.Wait()
	if got, want := w.written(), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestWriteQueueFlushError(t *testing.T) {
	w := &wire{fail: errors.New("broken pipe")}
	q := NewWriteQueue(4, w.write, w.onError)
	q.Hold()
	_ = q.Push([]byte("a"))
	_ = q.Push([]byte("b"))
	q.Flush()
	if w.errors != 1 {
		t.Errorf("onError called %d times, want 1", w.errors)
	}
	if err := q.Push([]byte("c")); !errors.Is(err, ErrClosed) {
		t.Errorf("push after a failed write: got %v, want ErrClosed", err)
	}
	q.Hold()
	q.Flush()
	q.Wait()
}

func TestWriteQueueCloseWhileHeld(t *testing.T) {
	w := &wire{}
	q := NewWriteQueue(4, w.write, w.onError)
	q.Hold()
	_ = q.Push([]byte("a"))
	q.Close()
	q.Flush()
	if got := w.written(); len(got) != 0 {
		t.Fatalf("written after Close: %q", got)
	}
	if err := q.Push([]byte("b")); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

func TestWriteQueuePushMessage(t *testing.T) {
	w := &wire{}
	q := NewWriteQueue(4, w.write, w.onError)
	res := sip.NewResponse(200, "OK")
	res.AppendHeader(sip.NewHeader("Call-ID", "a"))
	other := sip.NewResponse(486, "Busy Here")
	q.Hold()
	_ = q.PushMessage(res)
	_ = q.PushMessage(other)
	q.Flush()
	if got, want := w.written(), []string{string(Marshal(res)), string(Marshal(other))}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Other senders push while the read goroutine holds and flushes the queue
// over and over: every message is written once, each sender's in order.
func TestWriteQueueHoldConcurrentSenders(t *testing.T) {
	w := &wire{}
	q := NewWriteQueue(1<<16, w.write, w.onError)
	const senders, each = 4, 200
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := q.Push([]byte{byte('a' + s), byte(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 500 {
		q.Hold()
		_ = q.Push([]byte{'r', byte(i)})
		q.Flush()
	}
	wg.Wait()
	q.Wait()
	got := w.written()
	if len(got) != senders*each+500 {
		t.Fatalf("wrote %d messages, want %d", len(got), senders*each+500)
	}
	next := map[byte]byte{}
	for _, m := range got {
		if m[1] != next[m[0]] {
			t.Fatalf("sender %c: got message %d, want %d", m[0], m[1], next[m[0]])
		}
		next[m[0]]++
	}
}

// TestStreamWriteQueueCoalesces: on a stream, the messages waiting at a
// Flush go out in one write, up to maxCoalesce messages and
// maxCoalesceBytes; a lone message goes out as it is.
func TestStreamWriteQueueCoalesces(t *testing.T) {
	w := &wire{}
	q := NewStreamWriteQueue(64, w.write, w.onError)
	q.Hold()
	for _, m := range []string{"a", "b", "c"} {
		if err := q.Push([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	q.Flush()
	if got, want := w.written(), []string{"abc"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}

	if err := q.Push([]byte("d")); err != nil { // not held: a drain goroutine writes it
		t.Fatal(err)
	}
	q.Wait()
	if got, want := w.written(), []string{"abc", "d"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}

	// More than maxCoalesce messages: two writes. Then a message longer
	// than maxCoalesceBytes together with the one before it: alone.
	w.got = nil
	q.Hold()
	var want []string
	var first, second []byte
	for i := range maxCoalesce + 2 {
		b := []byte{byte('A' + i)}
		if i < maxCoalesce {
			first = append(first, b...)
		} else {
			second = append(second, b...)
		}
		_ = q.Push(b)
	}
	big := make([]byte, maxCoalesceBytes)
	_ = q.Push(big)
	q.Flush()
	want = []string{string(first), string(second), string(big)}
	if got := w.written(); !slices.Equal(got, want) {
		t.Fatalf("got %d writes of %v bytes, want %d of %v", len(got), lens(got), len(want), lens(want))
	}
}

// TestWriteQueueKeepsMessagesApart: a message queue (WebSocket) writes
// each message with a write of its own.
func TestWriteQueueKeepsMessagesApart(t *testing.T) {
	w := &wire{}
	q := NewWriteQueue(8, w.write, w.onError)
	q.Hold()
	_ = q.Push([]byte("a"))
	_ = q.Push([]byte("b"))
	q.Flush()
	if got, want := w.written(), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func lens(s []string) []int {
	n := make([]int, len(s))
	for i, x := range s {
		n[i] = len(x)
	}
	return n
}

// BenchmarkStreamWriteQueueFlush: three responses queued during one
// dispatch and written together, as the read goroutine does.
func BenchmarkStreamWriteQueueFlush(b *testing.B) {
	writes := 0
	q := NewStreamWriteQueue(16, func([]byte) error { writes++; return nil }, func(error) {})
	msg := []byte(response(200, "OK"))
	b.ReportAllocs()
	for b.Loop() {
		q.Hold()
		for range 3 {
			_ = q.Push(msg)
		}
		q.Flush()
	}
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
}
