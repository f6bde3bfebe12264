package siptest

import (
	"context"
	"slices"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// inbox holds received messages until a reader takes them. A reader takes
// the first message its match function accepts, so messages it does not want
// wait for another reader. Several readers may wait at once.
type inbox struct {
	mu sync.Mutex
	// items are the messages nobody has taken yet, oldest first.
	items []sip.Message
	// wake is closed when items grow or the inbox closes; nil while nobody waits.
	wake chan struct{}
	// err is why the inbox closed; nil while it is open.
	err error
}

func (b *inbox) push(m sip.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items = append(b.items, m)
	b.wakeLocked()
}

// shut makes waiting and later readers fail with err once no queued message matches.
func (b *inbox) shut(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
	}
	b.wakeLocked()
}

func (b *inbox) wakeLocked() {
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
}

// Next removes and returns the oldest received message for which match
// reports true, waiting until one arrives, ctx is done or the connection ends.
func (b *inbox) Next(ctx context.Context, match func(sip.Message) bool) (sip.Message, error) {
	for {
		m, wake, err := b.take(match)
		if m != nil || err != nil {
			return m, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		}
	}
}

func (b *inbox) take(match func(sip.Message) bool) (sip.Message, <-chan struct{}, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := slices.IndexFunc(b.items, match); i >= 0 {
		m := b.items[i]
		b.items = slices.Delete(b.items, i, i+1)
		return m, nil, nil
	}
	if b.err != nil {
		return nil, nil, b.err
	}
	if b.wake == nil {
		b.wake = make(chan struct{})
	}
	return nil, b.wake, nil
}

// Recv returns the oldest received message.
func (b *inbox) Recv(ctx context.Context) (sip.Message, error) {
	return b.Next(ctx, func(sip.Message) bool { return true })
}

// RecvRequest returns the oldest received request whose method is one of
// methods, or any request if methods is empty. Other messages stay queued.
func (b *inbox) RecvRequest(ctx context.Context, methods ...sip.RequestMethod) (*sip.Request, error) {
	m, err := b.Next(ctx, isRequest(methods...))
	if err != nil {
		return nil, err
	}
	return m.(*sip.Request), nil
}

// RecvResponse returns the oldest received response. Requests stay queued.
func (b *inbox) RecvResponse(ctx context.Context) (*sip.Response, error) {
	m, err := b.Next(ctx, isResponse)
	if err != nil {
		return nil, err
	}
	return m.(*sip.Response), nil
}

// Pending reports how many received messages nobody has taken yet.
func (b *inbox) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}
