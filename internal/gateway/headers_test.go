package gateway

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// An INVITE with a bare LF inside a header (a P-Asserted-Identity smuggled
// past the parser, for a peer that splits lines on LF) is answered 400 on
// every transport and never reaches the callee.
func TestControlCharacterGets400OnEveryTransport(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	bob := browser(t, g, "bob")
	register(t, bob)
	bobWS := bob.Transport.(*siptest.WSClient)
	for _, transport := range []string{"WS", "UDP", "TCP"} {
		t.Run(transport, func(t *testing.T) {
			invite := "INVITE sip:bob@" + g.domain() + " SIP/2.0\r\n" +
				"Via: SIP/2.0/" + transport + " 127.0.0.1:5999;branch=z9hG4bK-ctl-" + transport + "\r\n" +
				"Max-Forwards: 70\r\nFrom: <sip:mallory@example.com>;tag=m1\r\nTo: <sip:bob@example.com>\r\n" +
				"Call-ID: ctl-" + transport + "\r\nCSeq: 1 INVITE\r\nContact: <sip:mallory@127.0.0.1:5999>\r\n" +
				"Subject: hello\nP-Asserted-Identity: <sip:boss@example.com>\r\nContent-Length: 0\r\n\r\n"
			got := sendRaw(t, g, transport, invite)
			if want := "SIP/2.0 400 Bad Request (control character in header)"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if req, err := bobWS.RecvRequest(c); err == nil {
		t.Errorf("bob got %s, want nothing", req.StartLine())
	}
}

// sendRaw sends data to the gateway over transport and returns the status
// line of the answer.
func sendRaw(t *testing.T, g *testGateway, transport, data string) string {
	t.Helper()
	var conn net.Conn
	var err error
	switch transport {
	case "WS":
		ws, err := siptest.DialWS(ctx(t), g.wsURL())
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		if err := ws.SendRaw([]byte(data), false); err != nil {
			t.Fatal(err)
		}
		res, err := ws.RecvResponse(ctx(t))
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		return res.StartLine()
	case "UDP":
		conn, err = net.Dial("udp", g.Addrs().UDP.String())
	case "TCP":
		conn, err = net.Dial("tcp", g.Addrs().TCP.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return strings.TrimSuffix(line, "\r\n")
}
