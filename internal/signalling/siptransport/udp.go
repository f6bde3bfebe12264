package siptransport

import (
	"errors"
	"net"
	"net/netip"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// UDPListener reads SIP datagrams from one socket and sends through it.
type UDPListener struct {
	conn  *net.UDPConn
	local netip.AddrPort
	in    *Inbound
	done  sync.WaitGroup
}

// ListenUDP binds addr now, as net.ListenUDP does; Serve reads from it.
func ListenUDP(addr netip.AddrPort, in *Inbound) (*UDPListener, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)
	return &UDPListener{conn: conn, local: conn.LocalAddr().(*net.UDPAddr).AddrPort(), in: in}, nil
}

// Addr is the bound address.
func (l *UDPListener) Addr() netip.AddrPort { return l.local }

// Serve reads datagrams until Close. One buffer is reused for every read;
// the parser copies what it keeps.
func (l *UDPListener) Serve() error {
	l.done.Add(1)
	defer l.done.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue
		}
		l.in.Message(buf[:n], &udpConn{l: l, remote: from})
	}
}

// Conn returns the path to remote through this socket.
func (l *UDPListener) Conn(remote netip.AddrPort) Conn { return &udpConn{l: l, remote: remote} }

// Close stops Serve and waits for it.
func (l *UDPListener) Close() error {
	err := l.conn.Close()
	l.done.Wait()
	return err
}

// udpConn is one UDP socket paired with one remote address.
type udpConn struct {
	l      *UDPListener
	remote netip.AddrPort
}

func (c *udpConn) Transport() string          { return UDP }
func (c *udpConn) LocalAddr() netip.AddrPort  { return c.l.local }
func (c *udpConn) RemoteAddr() netip.AddrPort { return c.remote }
func (c *udpConn) FlowID() string             { return "udp:" + c.remote.String() }
func (c *udpConn) Send(msg sip.Message) error {
	return withBuffer(msg, func(b []byte) error {
		_, err := c.l.conn.WriteToUDPAddrPort(b, c.remote)
		return err
	})
}
