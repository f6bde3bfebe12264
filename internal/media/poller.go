package media

import (
	"fmt"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// poller is one of the engine's packet loops: it reads its share of the
// sockets (sock.Poller) and hands each datagram to the socket's handler
// with its scratch, whose outbox it sends at the end of every round.
type poller = sock.Poller[*scratch]

// handler relays a datagram a poller read; sc is the poller's scratch.
type handler = sock.Handler[*scratch]

func newPoller() (*poller, error) {
	sc := newScratch()
	sc.tx = sock.NewOutbox(maxPacket + srtpOverhead)
	p, err := sock.NewPoller(maxPacket, sc.tx, sc)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	return p, nil
}
