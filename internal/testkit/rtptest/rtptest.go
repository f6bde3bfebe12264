// Package rtptest provides media peers for tests, in the style of
// net/http/httptest: a plain-RTP echo (what a PBX's echo test does) and a
// WebRTC browser built on pion/webrtc that sends a known payload and counts
// what comes back. It is for tests only.
package rtptest

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Echo is a plain RTP peer that sends every packet back where it came from.
type Echo struct {
	conn     *net.UDPConn
	received atomic.Int64
	done     sync.WaitGroup
}

// NewEcho binds 127.0.0.1:0 and starts echoing.
func NewEcho() (*Echo, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	e := &Echo{conn: c}
	e.done.Add(1)
	go e.loop()
	return e, nil
}

// Addr is the RTP address to put in SDP.
func (e *Echo) Addr() netip.AddrPort { return e.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Received counts the packets echoed so far.
func (e *Echo) Received() int64 { return e.received.Load() }

func (e *Echo) loop() {
	defer e.done.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		e.received.Add(1)
		_, _ = e.conn.WriteToUDPAddrPort(buf[:n], from)
	}
}

// Close stops the echo and waits for it.
func (e *Echo) Close() error {
	err := e.conn.Close()
	e.done.Wait()
	return err
}
