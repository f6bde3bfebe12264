package gateway

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"

	"github.com/switchboard-gw/switchboard/internal/testkit/certtest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	c := certtest.New(t)
	certFile, keyFile = c.WriteFiles(t, dir, "switchboard")
	return certFile, keyFile, c.Pool()
}

func TestSecureWebSocketAndSIPOverTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	g := startGateway(t, func(c *config.Config) {
		c.Listen.HTTPS = loopback0
		c.Listen.TLS = loopback0
		c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
	})
	clientTLS := &tls.Config{RootCAs: pool}

	ws, err := siptest.DialWS(ctx(t), "wss://"+g.Addrs().HTTPS.String()+"/ws", siptest.WithTLSConfig(clientTLS))
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	defer ws.Close()
	alice := &siptest.UA{Transport: ws, User: "alice", Domain: g.domain()}
	register(t, alice)
	if b := g.Registrar().LookupUser("alice"); len(b) != 1 || b[0].Flow.Transport != "WSS" {
		t.Errorf("binding: got %+v, want one on a WSS flow", b)
	}

	conn, err := tls.Dial("tcp", g.Addrs().TLS.String(), clientTLS)
	if err != nil {
		t.Fatalf("SIP over TLS: %v", err)
	}
	defer conn.Close()
	options := "OPTIONS sip:" + g.Addrs().TLS.String() + ";transport=tls SIP/2.0\r\n" +
		"Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKtls1\r\nMax-Forwards: 70\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:" + g.Addrs().TLS.String() + ">\r\n" +
		"Call-ID: tls-probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(options)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TLS: got %q, %v; want 200", status, err)
	}
}
