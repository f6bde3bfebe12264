package sipws

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// These tests speak WebSocket with raw TCP, so that a gorilla client's own
// checks hide nothing the server does.

const handshakeKey = "dGhlIHNhbXBsZSBub25jZQ=="

// rawHandshake sends a handshake with the given extra header lines and
// returns the connection and the HTTP response to it.
func rawHandshake(t *testing.T, e *endpoint, extra string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: sip\r\n" + extra + "\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	r := bufio.NewReader(c)
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, r, res
}

func TestHandshakeAtTheWire(t *testing.T) {
	const key = "Sec-WebSocket-Key: " + handshakeKey + "\r\n"
	tests := []struct {
		name        string
		extra       string
		wantStatus  int
		wantVersion string
		wantReason  string
	}{
		{"version 13", key + "Sec-WebSocket-Version: 13\r\n", http.StatusSwitchingProtocols, "", ""},
		{"version 8", key + "Sec-WebSocket-Version: 8\r\n", http.StatusUpgradeRequired, "13", "version"},
		{"no version", key, http.StatusUpgradeRequired, "13", "version"},
		{"key twice", key + "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC==\r\nSec-WebSocket-Version: 13\r\n",
			http.StatusBadRequest, "", "duplicate_header"},
		{"version twice", key + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n", http.StatusBadRequest, "", "duplicate_header"},
		{"origin twice", key + "Sec-WebSocket-Version: 13\r\nOrigin: https://a.example\r\nOrigin: https://b.example\r\n",
			http.StatusBadRequest, "", "duplicate_header"},
		{"bad key", "Sec-WebSocket-Key: <script>\r\nSec-WebSocket-Version: 13\r\n", http.StatusBadRequest, "", "handshake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t, Config{}, 10)
			_, _, res := rawHandshake(t, e, tt.extra)
			body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status: got %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if got := res.Header.Get("Sec-WebSocket-Version"); got != tt.wantVersion {
				t.Errorf("Sec-WebSocket-Version: got %q, want %q", got, tt.wantVersion)
			}
			if strings.Contains(string(body), "websocket:") || strings.Contains(string(body), "<script>") {
				t.Errorf("body %q repeats gorilla's error or the request", body)
			}
			if tt.wantReason != "" {
				if got := e.refused(tt.wantReason); got != 1 {
					t.Errorf("refusals{reason=%q}: got %v, want 1", tt.wantReason, got)
				}
			}
		})
	}
}

// wsFrame is one frame read from the server.
type wsFrame struct {
	op      byte
	payload []byte
}

func (f wsFrame) closeCode() int {
	if f.op != websocket.CloseMessage || len(f.payload) < 2 {
		return 0
	}
	return int(binary.BigEndian.Uint16(f.payload))
}

// writeFrame sends one final frame, masked as a client must (RFC 6455 §5.3).
func writeFrame(t *testing.T, c net.Conn, op byte, payload []byte) {
	t.Helper()
	mask := [4]byte{1, 2, 3, 4}
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	default:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	}
	b = append(b, mask[:]...)
	for i, p := range payload {
		b = append(b, p^mask[i%4])
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readFrame reads one unmasked server frame.
func readFrame(r *bufio.Reader) (wsFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return wsFrame{}, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return wsFrame{}, err
		}
		n = int(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return wsFrame{}, err
		}
		n = int(binary.BigEndian.Uint64(ext[:]))
	}
	f := wsFrame{op: h[0] & 0x0f, payload: make([]byte, n)}
	_, err := io.ReadFull(r, f.payload)
	return f, err
}

// rawWS opens a WebSocket over raw TCP.
func rawWS(t *testing.T, e *endpoint) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, r, res := rawHandshake(t, e, "Sec-WebSocket-Key: "+handshakeKey+"\r\nSec-WebSocket-Version: 13\r\n")
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: got %d, want 101", res.StatusCode)
	}
	return c, r
}

func TestConnectionFailuresAtTheWire(t *testing.T) {
	conflicting := strings.Replace(options, "Content-Length: 0\r\n", "Content-Length: 0\r\nl: 9\r\n", 1)
	tests := []struct {
		name string
		send func(t *testing.T, c net.Conn)
		// wantText is the SIP status line sent before the close, if any.
		wantText   string
		wantPongs  int
		wantClose  int
		wantMetric string
	}{
		{name: "close with a 1-byte body", send: func(t *testing.T, c net.Conn) {
			writeFrame(t, c, websocket.CloseMessage, []byte{3})
		}, wantClose: websocket.CloseProtocolError, wantMetric: "bad_close"},
		{name: "close with a code", send: func(t *testing.T, c net.Conn) {
			writeFrame(t, c, websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
		}, wantClose: websocket.CloseNormalClosure},
		{name: "text not UTF-8", send: func(t *testing.T, c net.Conn) {
			writeFrame(t, c, websocket.TextMessage, []byte(strings.Replace(options, "alice", "al\xffice", 1)))
		}, wantClose: websocket.CloseInvalidFramePayloadData, wantMetric: "invalid_utf8"},
		{name: "ping flood", send: func(t *testing.T, c net.Conn) {
			for range maxPingsPerSecond + 5 {
				writeFrame(t, c, websocket.PingMessage, []byte("p"))
			}
		}, wantPongs: maxPingsPerSecond, wantClose: websocket.ClosePolicyViolation, wantMetric: "ping_flood"},
		{name: "SIP framing error", send: func(t *testing.T, c net.Conn) {
			writeFrame(t, c, websocket.TextMessage, []byte(conflicting))
			writeFrame(t, c, websocket.TextMessage, []byte(options)) // not delivered
		}, wantText: "SIP/2.0 400 Bad Request (conflicting Content-Length)", wantClose: websocket.CloseProtocolError, wantMetric: "framing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t, Config{WriteTimeout: time.Second}, 10)
			c, r := rawWS(t, e)
			tt.send(t, c)
			var pongs int
			var text []string
			var closeFrame wsFrame
			for {
				f, err := readFrame(r)
				if err != nil {
					t.Fatalf("got %v before a close frame", err)
				}
				if f.op == websocket.PongMessage {
					pongs++
				}
				if f.op == websocket.TextMessage {
					text = append(text, firstLine(f.payload))
				}
				if f.op == websocket.CloseMessage {
					closeFrame = f
					break
				}
			}
			if got := closeFrame.closeCode(); got != tt.wantClose {
				t.Errorf("close code: got %d, want %d", got, tt.wantClose)
			}
			if pongs != tt.wantPongs {
				t.Errorf("pongs: got %d, want %d", pongs, tt.wantPongs)
			}
			if want := []string{tt.wantText}; tt.wantText != "" && (len(text) != 1 || text[0] != tt.wantText) {
				t.Errorf("messages: got %q, want %q", text, want)
			}
			if tt.wantText == "" && len(text) != 0 {
				t.Errorf("messages: got %q, want none", text)
			}
			// The server closes the TCP connection once its close frame is
			// answered, or after closeGrace.
			writeFrame(t, c, websocket.CloseMessage, websocket.FormatCloseMessage(tt.wantClose, ""))
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			// A reset is a close too: the server may have closed before our
			// close frame reached it.
			if _, err := io.Copy(io.Discard, r); err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("after the close: %v, want the connection closed", err)
			}
			waitFor(t, "the flow to be closed", func() bool { return len(e.rec.closedFlows()) == 1 })
			if tt.wantMetric != "" {
				if got := counterValue(e.srv.metrics.closes.WithLabelValues(tt.wantMetric)); got != 1 {
					t.Errorf("closes{%s}: got %v, want 1", tt.wantMetric, got)
				}
			}
			if n := len(e.rec.got); tt.name == "SIP framing error" && n != 0 {
				t.Errorf("delivered %d messages, want 0", n)
			}
		})
	}
}

// TestFramingRuleOverWebSocket runs the classes of the SIP framing rule
// over a WebSocket: each gets its answer, then a 1002 close.
func TestFramingRuleOverWebSocket(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(options, old, new, 1) }
	tests := []struct {
		name, msg string
		// want is the status line sent back; "" for none.
		want  string
		close bool
	}{
		{"valid", options, "SIP/2.0 200 OK", false},
		{"conflicting Content-Length", replace("Content-Length: 0\r\n", "l: 1\r\nContent-Length: 0\r\n"), "SIP/2.0 400 Bad Request (conflicting Content-Length)", true},
		{"Content-Length beyond the message", replace("Content-Length: 0", "Content-Length: 99"), "SIP/2.0 400 Bad Request (Content-Length exceeds message)", true},
		{"duplicate To", replace("To: <sip:switchboard.invalid>\r\n", "To: <sip:switchboard.invalid>\r\nt: <sip:x@y>\r\n"), "SIP/2.0 400 Bad Request (duplicate To)", true},
		{"duplicate Call-ID", replace("Call-ID: ws-call-1\r\n", "Call-ID: ws-call-1\r\ni: other\r\n"), "SIP/2.0 400 Bad Request (duplicate Call-ID)", true},
		{"missing Call-ID", replace("Call-ID: ws-call-1\r\n", ""), "SIP/2.0 400 Bad Request (missing Call-ID)", true},
		{"SIP/7.0", replace(" SIP/2.0\r\n", " SIP/7.0\r\n"), "SIP/2.0 505 Version Not Supported", true},
		{"CSeq 2^31", replace("CSeq: 1 ", "CSeq: 2147483648 "), "SIP/2.0 400 Bad Request (CSeq out of range)", true},
		{"malformed start line", replace(" SIP/2.0\r\n", "\r\n"), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t, Config{}, 10)
			c := e.dial(t, nil)
			if err := c.WriteMessage(websocket.TextMessage, []byte(tt.msg)); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			if tt.want != "" {
				_, data, err := c.ReadMessage()
				if err != nil || firstLine(data) != tt.want {
					t.Fatalf("got %q, %v; want %q", firstLine(data), err, tt.want)
				}
			}
			if tt.close {
				wantClose(t, c, websocket.CloseProtocolError)
				waitFor(t, "the flow to be closed", func() bool { return len(e.rec.closedFlows()) == 1 })
				return
			}
			if n := e.srv.Len(); n != 1 {
				t.Errorf("Len: got %d, want 1", n)
			}
		})
	}
}

// FuzzFrameWatch feeds client bytes to a frameWatch whole and cut in two:
// it must not panic, and where the stream is cut must not change what it
// learns.
func FuzzFrameWatch(f *testing.F) {
	f.Add([]byte{0x88, 0x81, 1, 2, 3, 4, 5}, uint16(3))
	f.Add([]byte{0x81, 0x82, 1, 2, 3, 4, 'h', 'i', 0x88, 0x80, 1, 2, 3, 4}, uint16(9))
	f.Add([]byte{0x82, 0xfe, 0, 2, 1, 2, 3, 4, 'a', 'b', 0x88, 0x82, 1, 2, 3, 4, 3, 0xe8}, uint16(5))
	f.Add([]byte{0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 0}, uint16(4))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		k := int(cut) % (len(data) + 1)
		whole, split := newFrameWatch(), newFrameWatch()
		whole.observe(data)
		split.observe(data[:k])
		split.observe(data[k:])
		if whole.closeLen != split.closeLen {
			t.Fatalf("cut at %d: close length %d, want %d as when whole", k, split.closeLen, whole.closeLen)
		}
	})
}
