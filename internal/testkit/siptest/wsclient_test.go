package siptest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"
)

// wsServer starts an in-test WebSocket server that upgrades with up and runs
// serve on each connection. It returns the ws:// URL.
func wsServer(t *testing.T, up websocket.Upgrader, serve func(*websocket.Conn)) string {
	srv := httptest.NewServer(wsHandler(up, serve))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func wsHandler(up websocket.Upgrader, serve func(*websocket.Conn)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		serve(conn)
	})
}

var sipUpgrader = websocket.Upgrader{Subprotocols: []string{"sip"}}

// echo sends every frame back.
func echo(conn *websocket.Conn) {
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil || conn.WriteMessage(kind, data) != nil {
			return
		}
	}
}

func dialTestWS(t *testing.T, url string, opts ...WSOption) *WSClient {
	t.Helper()
	c, err := DialWS(testCtx(t), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDialWS(t *testing.T) {
	checkNoLeaks(t)
	requireSIP := func(w http.ResponseWriter, r *http.Request) {
		if len(websocket.Subprotocols(r)) == 0 {
			http.Error(w, "sip subprotocol required", http.StatusBadRequest)
			return
		}
		wsHandler(sipUpgrader, echo).ServeHTTP(w, r)
	}
	tests := []struct {
		name       string
		handler    http.Handler
		opts       []WSOption
		wantStatus int
		wantErr    error
	}{
		{name: "server selects sip", handler: wsHandler(sipUpgrader, echo)},
		{name: "server ignores sip", handler: wsHandler(websocket.Upgrader{}, echo), wantErr: ErrSubprotocol},
		{name: "client omits sip", handler: http.HandlerFunc(requireSIP), opts: []WSOption{WithoutSubprotocol()}, wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c, err := DialWS(testCtx(t), "ws"+strings.TrimPrefix(srv.URL, "http"), tt.opts...)
			if err == nil {
				defer c.Close()
			}
			var hs *HandshakeError
			switch {
			case tt.wantStatus != 0 && (!errors.As(err, &hs) || hs.StatusCode != tt.wantStatus):
				t.Fatalf("got %v, want HTTP %d", err, tt.wantStatus)
			case tt.wantStatus == 0 && !errors.Is(err, tt.wantErr):
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestDialWSOrigin(t *testing.T) {
	checkNoLeaks(t)
	origins := make(chan string, 1)
	up := sipUpgrader
	up.CheckOrigin = func(r *http.Request) bool { origins <- r.Header.Get("Origin"); return true }
	dialTestWS(t, wsServer(t, up, echo), WithOrigin("https://phone.example.com"))
	if got := <-origins; got != "https://phone.example.com" {
		t.Errorf("Origin = %q, want https://phone.example.com", got)
	}
}

func TestDialWSS(t *testing.T) {
	checkNoLeaks(t)
	srv := httptest.NewTLSServer(wsHandler(sipUpgrader, echo))
	defer srv.Close()
	tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig
	c := dialTestWS(t, "wss"+strings.TrimPrefix(srv.URL, "https"), WithTLSConfig(tlsConfig.Clone()))
	if got := c.Via().Transport; got != "WSS" {
		t.Errorf("Via transport = %s, want WSS", got)
	}
}

func TestWSClientSendRecv(t *testing.T) {
	checkNoLeaks(t)
	c := dialTestWS(t, wsServer(t, sipUpgrader, echo))
	ua := &UA{Transport: c, User: "alice", Domain: "127.0.0.1"}
	opts := ua.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1"})
	res := newResponse(opts, sip.StatusOK, "", nil, nil)
	ctx := testCtx(t)
	for _, m := range []sip.Message{opts, res} {
		if err := c.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	gotRes, err := c.RecvResponse(ctx)
	if err != nil || gotRes.StatusCode != 200 {
		t.Fatalf("RecvResponse = %v, %v; want 200", gotRes, err)
	}
	gotReq, err := c.RecvRequest(ctx, sip.OPTIONS)
	if err != nil {
		t.Fatal(err)
	}
	checkJsSIPHeaders(t, c, gotReq)
}

// checkJsSIPHeaders checks that req names the client as JsSIP would.
func checkJsSIPHeaders(t *testing.T, c *WSClient, req *sip.Request) {
	t.Helper()
	if !strings.HasSuffix(c.Host(), ".invalid") {
		t.Errorf("Host = %q, want a .invalid host", c.Host())
	}
	via := req.Via()
	if via.Transport != "WS" || via.Host != c.Host() || !strings.HasPrefix(branchOf(req), "z9hG4bK") {
		t.Errorf("Via = %s, want SIP/2.0/WS %s;branch=z9hG4bK...", via.Value(), c.Host())
	}
	want := "<sip:alice@" + c.Host() + ";transport=ws;ob>"
	if got := req.Contact().Value(); got != want {
		t.Errorf("Contact = %s, want %s", got, want)
	}
	if got := headerValues(req, "Max-Forwards"); len(got) != 1 || got[0] != "70" {
		t.Errorf("Max-Forwards = %v, want 70", got)
	}
}

func TestWSClientCloseCode(t *testing.T) {
	checkNoLeaks(t)
	url := wsServer(t, sipUpgrader, func(conn *websocket.Conn) {
		msg := websocket.FormatCloseMessage(websocket.CloseMessageTooBig, "too big")
		conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		conn.ReadMessage() // the client's echo of the close frame
	})
	c := dialTestWS(t, url)
	<-c.Done()
	if got := c.CloseCode(); got != websocket.CloseMessageTooBig {
		t.Errorf("CloseCode = %d, want %d", got, websocket.CloseMessageTooBig)
	}
	if _, err := c.Recv(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after close = %v, want ErrClosed", err)
	}
}

func TestWSClientSendRawCountsParseErrors(t *testing.T) {
	checkNoLeaks(t)
	c := dialTestWS(t, wsServer(t, sipUpgrader, echo))
	if err := c.SendRaw([]byte("not sip"), true); err != nil {
		t.Fatal(err)
	}
	ping := mustParse(t, "OPTIONS sip:x SIP/2.0\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n")
	if err := c.Send(ping); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RecvRequest(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := c.ParseErrors(); got != 1 {
		t.Errorf("ParseErrors = %d, want 1", got)
	}
}

func TestDialWSFromLocalAddr(t *testing.T) {
	checkNoLeaks(t)
	from := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from <- r.RemoteAddr
		wsHandler(sipUpgrader, echo).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := dialTestWS(t, "ws"+strings.TrimPrefix(srv.URL, "http"), WithLocalAddr(netip.MustParseAddr("127.0.0.3")))
	defer c.Close()
	if got := <-from; !strings.HasPrefix(got, "127.0.0.3:") {
		t.Errorf("the server saw the client at %s, want 127.0.0.3:*", got)
	}
}
