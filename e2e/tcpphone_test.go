package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// tcpPhone is a SIP phone on one TCP connection, a siptest.Transport for a
// siptest.UA. It reads only when the UA waits for a message, in the UA's
// goroutine: enough for a phone that registers and sends OPTIONS, which
// is all it does; what it does not wait for is dropped.
type tcpPhone struct {
	conn  *net.TCPConn
	r     *bufio.Reader
	local netip.AddrPort
}

var _ siptest.Transport = (*tcpPhone)(nil)

func dialTCPPhone(ctx context.Context, addr netip.AddrPort) (*tcpPhone, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, err
	}
	conn := c.(*net.TCPConn)
	return &tcpPhone{conn: conn, r: bufio.NewReader(conn), local: conn.LocalAddr().(*net.TCPAddr).AddrPort()}, nil
}

func (p *tcpPhone) Send(msg sip.Message) error {
	_, err := io.WriteString(p.conn, msg.String())
	return err
}

func (p *tcpPhone) Next(ctx context.Context, match func(sip.Message) bool) (sip.Message, error) {
	if deadline, ok := ctx.Deadline(); ok {
		p.conn.SetReadDeadline(deadline)
	}
	for {
		msg, err := p.read()
		if err != nil {
			return nil, err
		}
		if match(msg) {
			return msg, nil
		}
	}
}

// read reads one message framed by its Content-Length (RFC 3261 §18.3).
func (p *tcpPhone) read() (sip.Message, error) {
	var head strings.Builder
	length := 0
	for {
		line, err := p.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == "\r\n" {
			if head.Len() == 0 {
				continue // a keep-alive
			}
			break
		}
		head.WriteString(line)
		name, value, _ := strings.Cut(line, ":")
		if n := strings.ToLower(strings.TrimSpace(name)); n == "content-length" || n == "l" {
			length, _ = strconv.Atoi(strings.TrimSpace(value))
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(p.r, body); err != nil {
		return nil, err
	}
	return sip.ParseMessage([]byte(head.String() + "\r\n" + string(body)))
}

func (p *tcpPhone) Via() *sip.ViaHeader {
	return &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TCP",
		Host: p.local.Addr().String(), Port: int(p.local.Port()), Params: sip.NewParams()}
}

func (p *tcpPhone) Contact(user string) sip.Uri {
	params := sip.NewParams()
	params.Add("transport", "tcp")
	return sip.Uri{Scheme: "sip", User: user, Host: p.local.Addr().String(), Port: int(p.local.Port()), UriParams: params}
}

// reset closes the connection with a RST (SO_LINGER 0), as a phone that
// lost power or a NAT that dropped it.
func (p *tcpPhone) reset() error {
	p.conn.SetLinger(0)
	return p.conn.Close()
}

// awaitClose waits until the gateway closes the connection (FIN or RST),
// reading and dropping whatever it sends first.
func awaitClose(conn net.Conn, within time.Duration) error {
	conn.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, conn)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("not closed within %v: %w", within, err)
	}
	return nil
}
