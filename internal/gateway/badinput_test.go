package gateway

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

func TestMalformedOverWebSocketGets400AndKeepsConnection(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	ws := alice.Transport.(*siptest.WSClient)
	bad := "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK1\r\n" +
		"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: one OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if err := ws.SendRaw([]byte(bad), false); err != nil {
		t.Fatal(err)
	}
	res, err := ws.RecvResponse(ctx(t))
	if err != nil {
		t.Fatalf("no answer to a malformed request: %v", err)
	}
	if res.StatusCode != 400 || !strings.HasPrefix(res.Reason, "Bad Request (") {
		t.Errorf("got %d %q, want 400 with a reason naming the fault", res.StatusCode, res.Reason)
	}
	register(t, alice) // the connection is still there
}

func TestOversizedWebSocketMessageCloses1009(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.WebSocket.MaxMessageSize = 4096 })
	ws, err := siptest.DialWS(ctx(t), g.wsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SendRaw([]byte(strings.Repeat("x", 8192)), true)
	<-ws.Done()
	if got := ws.CloseCode(); got != 1009 {
		t.Errorf("close code: got %d, want 1009", got)
	}
}

func TestHandshakeRefusals(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.WebSocket.AllowedOrigins = []string{"https://phone.example"} })
	tests := []struct {
		name string
		opts []siptest.WSOption
		want int
	}{
		{"no sip subprotocol", []siptest.WSOption{siptest.WithoutSubprotocol(), siptest.WithOrigin("https://phone.example")}, http.StatusBadRequest},
		{"origin not allowed", []siptest.WSOption{siptest.WithOrigin("https://evil.example")}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := siptest.DialWS(ctx(t), g.wsURL(), tt.opts...)
			var he *siptest.HandshakeError
			if !errors.As(err, &he) || he.StatusCode != tt.want {
				t.Errorf("got %v, want HTTP %d", err, tt.want)
			}
		})
	}
	ws, err := siptest.DialWS(ctx(t), g.wsURL(), siptest.WithOrigin("https://phone.example"))
	if err != nil {
		t.Fatalf("allowed origin refused: %v", err)
	}
	ws.Close()
}

func TestMaxForwardsZeroGets483(t *testing.T) {
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	req := alice.NewRequest(sip.OPTIONS, userURI(g, "bob"))
	mf := sip.MaxForwardsHeader(0)
	req.ReplaceHeader(&mf)
	res, err := alice.Do(ctx(t), req)
	if err != nil || res.StatusCode != 483 {
		t.Fatalf("got %v, %v; want 483", res, err)
	}
}

func TestDigestRegistration(t *testing.T) {
	g := startGateway(t, func(c *config.Config) {
		c.Registrar.Auth = true
		c.Registrar.Users = []config.User{{Username: "alice", Password: "wonderland"}}
	})
	alice := browser(t, g, "alice")
	req := alice.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: g.domain()})
	req.To().Address = alice.AOR()
	req.From().Address = alice.AOR()
	res, err := alice.Do(ctx(t), req) // no password set yet: the challenge comes back
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("unauthenticated REGISTER: got %v, %v; want 401", res, err)
	}
	challenges := res.GetHeaders("WWW-Authenticate")
	if len(challenges) < 2 || !strings.Contains(challenges[0].Value(), "SHA-256") {
		t.Errorf("challenges: got %v, want SHA-256 first, then MD5", challenges)
	}
	alice.Password = "wonderland"
	register(t, alice)
	alice.Password = "wrong"
	if res, err := alice.Register(ctx(t), 300); err != nil || res.StatusCode != 403 {
		t.Errorf("wrong password: got %v, %v; want 403", res, err)
	}
}
