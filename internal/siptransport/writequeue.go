package siptransport

import (
	"sync"
)

// WriteQueue serializes writes to one connection without making senders wait
// for the peer: Push queues the bytes and a short-lived goroutine drains the
// queue. A peer that stops reading fills the queue and gets disconnected
// instead of stalling whoever sends to it.
type WriteQueue struct {
	write   func([]byte) error
	onError func(error)
	max     int

	// mu guards the fields below.
	mu      sync.Mutex
	pending [][]byte
	writing bool
	closed  bool
	drained sync.WaitGroup
}

// NewWriteQueue returns a queue of at most max messages that writes with
// write and reports a failed write to onError once.
func NewWriteQueue(max int, write func([]byte) error, onError func(error)) *WriteQueue {
	return &WriteQueue{write: write, onError: onError, max: max}
}

// Push queues b, which must not be modified afterwards.
func (q *WriteQueue) Push(b []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	if len(q.pending) >= q.max {
		return ErrQueueFull
	}
	q.pending = append(q.pending, b)
	if !q.writing {
		q.writing = true
		q.drained.Add(1)
		go q.drain()
	}
	return nil
}

func (q *WriteQueue) drain() {
	defer q.drained.Done()
	for {
		q.mu.Lock()
		if len(q.pending) == 0 || q.closed {
			q.writing = false
			q.mu.Unlock()
			return
		}
		b := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		q.mu.Unlock()
		if err := q.write(b); err != nil {
			q.Close()
			q.onError(err)
			return
		}
	}
}

// Close drops what is queued and refuses further pushes.
func (q *WriteQueue) Close() {
	q.mu.Lock()
	q.closed = true
	q.pending = nil
	q.mu.Unlock()
}

// Wait returns when no drain goroutine is running.
func (q *WriteQueue) Wait() { q.drained.Wait() }
