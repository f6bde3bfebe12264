package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/pion/stun/v4"
)

// Junk sends to addr, a gateway's browser port, STUN binding requests that
// name an ICE ufrag no call has, from one socket, as fast as it can, until
// ctx ends, and returns how many it sent: the hostile traffic a port open
// to the internet gets, for measuring what it costs the calls meanwhile.
// Nothing it sends can set up or disturb a call: the gateway, or pion
// behind it, drops each datagram.
func Junk(ctx context.Context, addr netip.AddrPort) (sent int64, err error) {
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername("nobodys:ufrag"),
		stun.NewShortTermIntegrity("guess"), stun.Fingerprint)
	if err != nil {
		return 0, err
	}
	c, err := net.ListenUDP("udp", nil)
	if err != nil {
		return 0, fmt.Errorf("junk: %w", err)
	}
	defer c.Close()
	for ctx.Err() == nil {
		for range 64 {
			if _, err := c.WriteToUDPAddrPort(m.Raw, addr); err == nil {
				sent++
			}
		}
	}
	return sent, nil
}
