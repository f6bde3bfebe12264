package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"

	"github.com/switchboard-gw/switchboard/internal/config"
)

// rawWS dials with gorilla directly, to control framing and pongs.
func rawWS(t *testing.T, g *testGateway, writeBuffer int) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"sip"}, WriteBufferSize: writeBuffer}
	c, _, err := d.DialContext(context.Background(), g.wsURL(), http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func options(host string) string {
	return "OPTIONS sip:" + host + " SIP/2.0\r\nVia: SIP/2.0/WS ab.invalid;branch=z9hG4bKws1\r\nMax-Forwards: 70\r\n" +
		"From: <sip:a@ab.invalid>;tag=1\r\nTo: <sip:" + host + ">\r\nCall-ID: ws-frames\r\nCSeq: 1 OPTIONS\r\n" +
		"X-Padding: " + strings.Repeat("p", 2000) + "\r\nContent-Length: 0\r\n\r\n"
}

func TestFragmentedAndBinaryMessages(t *testing.T) {
	g := startGateway(t, nil)
	// A 256-byte write buffer makes gorilla send the 2 KB message in fragments.
	c := rawWS(t, g, 256)
	for _, kind := range []int{websocket.TextMessage, websocket.BinaryMessage} {
		if err := c.WriteMessage(kind, []byte(options(g.domain()))); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("frame kind %d: %v", kind, err)
		}
		res, err := sip.ParseMessage(data)
		if r, ok := res.(*sip.Response); err != nil || !ok || r.StatusCode != 200 {
			t.Fatalf("frame kind %d: got %q, want 200", kind, data)
		}
	}
}

func TestSilentWebSocketClosedAfterIdleTimeout(t *testing.T) {
	g := startGateway(t, func(c *config.Config) {
		c.WebSocket.PingInterval = 100 * time.Millisecond
		c.WebSocket.IdleTimeout = 300 * time.Millisecond
	})
	c := rawWS(t, g, 0)
	c.SetPingHandler(func(string) error { return nil }) // a client that never answers pings
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if time.Since(start) > 2*time.Second {
				t.Fatalf("closed after %v, want about 300ms: %v", time.Since(start), err)
			}
			return
		}
	}
}
