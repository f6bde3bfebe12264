package siptest

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"
)

var (
	md5Challenge    = digestChallenge{realm: "switchboard", nonce: "n1", algorithm: "MD5", qop: []string{"auth"}}
	sha256Challenge = digestChallenge{realm: "switchboard", nonce: "n1", algorithm: "SHA-256", qop: []string{"auth"}}
)

// registrar serves a tiny registrar: it challenges REGISTERs without
// credentials with MD5 and SHA-256, accepts correct SHA-256 credentials and
// refuses others. Every request it reads is sent to got.
func registrar(password string, got chan<- *sip.Request) func(*websocket.Conn) {
	return func(conn *websocket.Conn) {
		parser := sip.NewParser()
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			m, err := parser.ParseSIP(data)
			req, ok := m.(*sip.Request)
			if err != nil || !ok {
				return
			}
			got <- req
			conn.WriteMessage(websocket.TextMessage, []byte(registrarResponse(req, password).String()))
		}
	}
}

func registrarResponse(req *sip.Request, password string) *sip.Response {
	auth := req.GetHeader("Authorization")
	if auth == nil {
		res := newResponse(req, sip.StatusUnauthorized, "", nil, nil)
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="switchboard", nonce="n1", algorithm=MD5, qop="auth"`))
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="switchboard", nonce="n1", algorithm=SHA-256, qop="auth"`))
		return res
	}
	if checkDigest(auth.Value(), string(req.Method), password, sha256Challenge) != nil {
		return newResponse(req, sip.StatusForbidden, "", nil, nil)
	}
	res := newResponse(req, sip.StatusOK, "", nil, nil)
	sip.CopyHeaders("Contact", req, res)
	return res
}

func TestRegisterAnswersDigestChallenge(t *testing.T) {
	checkNoLeaks(t)
	got := make(chan *sip.Request, 10)
	c := dialTestWS(t, wsServer(t, sipUpgrader, registrar("secret", got)))
	ua := &UA{Transport: c, User: "alice", Password: "secret", Domain: "127.0.0.1",
		InstanceID: "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>", RegID: 1}
	ctx := testCtx(t)
	for _, expires := range []int{600, 0} {
		res, err := ua.Register(ctx, expires)
		if err != nil || res.StatusCode != sip.StatusOK {
			t.Fatalf("Register(%d) = %v, %v; want 200", expires, res, err)
		}
	}
	reqs := []*sip.Request{<-got, <-got, <-got, <-got}
	checkRegisterSequence(t, reqs)
	checkRegisterContact(t, c, reqs[1])
	if err := checkDigest(reqs[1].GetHeader("Authorization").Value(), "REGISTER", "secret", md5Challenge); err == nil {
		t.Error("credentials answer the MD5 challenge, want SHA-256 picked")
	}
}

// checkRegisterSequence checks that REGISTERs share a Call-ID, increase the
// CSeq by one, and address the AOR.
func checkRegisterSequence(t *testing.T, reqs []*sip.Request) {
	t.Helper()
	for i, req := range reqs {
		if got, want := req.CSeq().SeqNo, reqs[0].CSeq().SeqNo+uint32(i); got != want {
			t.Errorf("REGISTER %d: CSeq %d, want %d", i, got, want)
		}
		if req.CallID().Value() != reqs[0].CallID().Value() {
			t.Errorf("REGISTER %d: Call-ID %s, want %s", i, req.CallID().Value(), reqs[0].CallID().Value())
		}
		if got := req.Recipient.String() + " " + req.To().Address.String(); got != "sip:127.0.0.1 sip:alice@127.0.0.1" {
			t.Errorf("REGISTER %d: Request-URI and To = %s, want sip:127.0.0.1 sip:alice@127.0.0.1", i, got)
		}
	}
	if got := headerValues(reqs[3], "Expires"); len(got) != 1 || got[0] != "0" {
		t.Errorf("unREGISTER Expires = %v, want 0", got)
	}
}

func checkRegisterContact(t *testing.T, c *WSClient, req *sip.Request) {
	t.Helper()
	want := `<sip:alice@` + c.Host() + `;transport=ws;ob>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";reg-id=1`
	if got := req.Contact().Value(); got != want {
		t.Errorf("Contact = %s, want %s", got, want)
	}
	if got := req.GetHeader("Supported").Value(); !strings.Contains(got, "outbound") || !strings.Contains(got, "path") {
		t.Errorf("Supported = %s, want outbound and path", got)
	}
}
