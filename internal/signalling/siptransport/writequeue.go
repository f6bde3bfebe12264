package siptransport

import (
	"bytes"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// WriteQueue serializes writes to one connection without making senders wait
// for the peer: Push queues the bytes and a short-lived goroutine drains the
// queue. A peer that stops reading fills the queue and gets disconnected
// instead of stalling whoever sends to it.
//
// The connection's read goroutine can hold the queue while it dispatches
// what it read (Hold, then Flush): the responses that dispatch sends back
// on the same connection are then written by the read goroutine itself once
// the dispatch is over and it holds no lock, rather than by a new goroutine
// on another thread. Only that connection's own reading waits for its peer.
//
// A queue made with NewStreamWriteQueue or NewBatchWriteQueue hands the
// messages waiting together to one write: the answers to requests a peer
// sent at once then cost one system call. A lone message is written as it
// is, at once.
type WriteQueue struct {
	write func([]byte) error
	// writeMany, when set, writes several messages, in order, with as few
	// system calls as it can.
	writeMany func([][]byte) error
	onError   func(error)
	max       int
	// many holds the messages handed to writeMany; only the writer uses
	// it, and it is made the first time several messages wait together.
	many [][]byte

	// mu guards the fields below.
	mu sync.Mutex
	// pending[head:] are the messages waiting, oldest first.
	pending []queued
	head    int
	// writing is set while a writer owns the queue: a drain goroutine, or
	// the goroutine that holds it.
	writing bool
	held    bool
	closed  bool
	sealed  bool
	drained sync.WaitGroup
}

// queued is one message waiting; buf, when set, holds b and goes back to
// the pool once b is written.
type queued struct {
	b   []byte
	buf *bytes.Buffer
}

// keptQueueCap is the largest backing array an empty queue keeps, so that a
// burst does not pin memory on an idle connection.
const keptQueueCap = 16

// NewWriteQueue returns a queue of at most max messages that writes with
// write and reports a failed write to onError once. write must not keep
// the slice it is given: the bytes of PushMessage are reused afterwards.
func NewWriteQueue(max int, write func([]byte) error, onError func(error)) *WriteQueue {
	return &WriteQueue{write: write, onError: onError, max: max}
}

// NewStreamWriteQueue is NewWriteQueue for a byte stream (TCP, TLS), where
// the messages carry their own boundaries: those waiting together, up to
// maxCoalesce messages and maxCoalesceBytes, are written in one write.
func NewStreamWriteQueue(max int, write func([]byte) error, onError func(error)) *WriteQueue {
	q := NewWriteQueue(max, write, onError)
	q.writeMany = q.concat
	return q
}

// NewBatchWriteQueue is NewWriteQueue for a connection that frames each
// message itself (WebSocket): the messages waiting together, up to
// maxCoalesce messages and maxCoalesceBytes, go to writeMany, which must
// write each in order, and one alone to write.
func NewBatchWriteQueue(max int, write func([]byte) error, writeMany func([][]byte) error, onError func(error)) *WriteQueue {
	q := NewWriteQueue(max, write, onError)
	q.writeMany = writeMany
	return q
}

// A write of several messages carries at most maxCoalesce of them and,
// unless one message alone is longer, maxCoalesceBytes.
const (
	maxCoalesce      = 16
	maxCoalesceBytes = 64 << 10
)

// Push queues b, which must not be modified afterwards.
func (q *WriteQueue) Push(b []byte) error { return q.push(queued{b: b}) }

// PushMessage renders msg and queues it. The bytes live in a pooled buffer
// until they are written, rather than in a copy made for each message.
func (q *WriteQueue) PushMessage(msg sip.Message) error {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	msg.StringWrite(buf)
	err := q.push(queued{b: buf.Bytes(), buf: buf})
	if err != nil {
		bufPool.Put(buf)
	}
	return err
}

// PushBuffer queues the message in buf, a buffer from NewBuffer, which
// goes back to the pool once it is written (or not queued).
func (q *WriteQueue) PushBuffer(buf *bytes.Buffer) error {
	err := q.push(queued{b: buf.Bytes(), buf: buf})
	if err != nil {
		bufPool.Put(buf)
	}
	return err
}

func (q *WriteQueue) push(m queued) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.sealed {
		return ErrClosed
	}
	if len(q.pending)-q.head >= q.max {
		return ErrQueueFull
	}
	q.pending = append(q.pending, m)
	if !q.writing {
		q.writing = true
		q.drained.Add(1)
		go q.drain()
	}
	return nil
}

// Hold makes the calling goroutine the queue's writer until it calls Flush,
// unless a drain goroutine is running already: what is pushed meanwhile
// waits for Flush instead of starting a goroutine. Only the connection's
// read goroutine may hold the queue, and it must call Flush before it reads
// again.
func (q *WriteQueue) Hold() {
	q.mu.Lock()
	if !q.writing && !q.closed {
		q.writing = true
		q.held = true
	}
	q.mu.Unlock()
}

// Flush writes, on the calling goroutine, what was pushed since Hold, and
// ends the hold. A failed write closes the queue and is reported to onError,
// as in a drain goroutine.
func (q *WriteQueue) Flush() {
	q.mu.Lock()
	held := q.held
	q.mu.Unlock()
	if held {
		q.writeAll()
	}
}

func (q *WriteQueue) drain() {
	defer q.drained.Done()
	q.writeAll()
}

// writeAll writes until the queue is empty or closed, then gives up the
// writer's role.
func (q *WriteQueue) writeAll() {
	var taken [maxCoalesce]queued
	for {
		q.mu.Lock()
		if q.head == len(q.pending) || q.closed {
			q.writing = false
			q.held = false
			q.resetLocked()
			q.mu.Unlock()
			return
		}
		batch := q.takeLocked(taken[:0])
		q.mu.Unlock()
		err := q.writeBatch(batch)
		for i, m := range batch {
			if m.buf != nil {
				bufPool.Put(m.buf)
			}
			batch[i] = queued{}
		}
		if err != nil {
			q.Close()
			q.onError(err)
			return
		}
	}
}

// takeLocked moves the next message out of the queue into batch, and,
// when the queue writes several at once, those after it that fit.
func (q *WriteQueue) takeLocked(batch []queued) []queued {
	size := 0
	for q.head < len(q.pending) && len(batch) < cap(batch) {
		m := q.pending[q.head]
		if len(batch) > 0 && (q.writeMany == nil || size+len(m.b) > maxCoalesceBytes) {
			break
		}
		size += len(m.b)
		batch = append(batch, m)
		q.pending[q.head] = queued{}
		q.head++
	}
	return batch
}

// writeBatch writes the messages of batch: one with write, several with
// writeMany.
func (q *WriteQueue) writeBatch(batch []queued) error {
	if len(batch) == 1 {
		return q.write(batch[0].b)
	}
	for _, m := range batch {
		q.many = append(q.many, m.b)
	}
	err := q.writeMany(q.many)
	clear(q.many)
	q.many = q.many[:0]
	return err
}

// concat is a stream's writeMany: the messages one after the other in one
// write.
func (q *WriteQueue) concat(msgs [][]byte) error {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	for _, b := range msgs {
		buf.Write(b)
	}
	err := q.write(buf.Bytes())
	bufPool.Put(buf)
	return err
}

// resetLocked empties the queue, keeping a small backing array for reuse.
func (q *WriteQueue) resetLocked() {
	clear(q.pending[q.head:])
	q.head = 0
	if cap(q.pending) > keptQueueCap || q.closed {
		q.pending = nil
	} else {
		q.pending = q.pending[:0]
	}
}

// Close drops what is queued and refuses further pushes.
func (q *WriteQueue) Close() {
	q.mu.Lock()
	q.closed = true
	q.resetLocked()
	q.mu.Unlock()
}

// Seal refuses further pushes but, unlike Close, lets what is queued be
// written: Wait then returns once it is.
func (q *WriteQueue) Seal() {
	q.mu.Lock()
	q.sealed = true
	q.mu.Unlock()
}

// Wait returns when no drain goroutine is running.
func (q *WriteQueue) Wait() { q.drained.Wait() }
