package config

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// Files is what the files a Config names hold, read by ReadFiles: the
// values the gateway starts with, so that nothing reads them a second time.
type Files struct {
	// Certificate is tls.cert_file with the key of tls.key_file; nil when
	// they are not set.
	Certificate *tls.Certificate
	// AdminToken is the bearer token of admin.token_file; "" when it is
	// not set.
	AdminToken string
	// TURNSecret is the secret of turn.secret_file; nil when it is not set
	// or TURN is off.
	TURNSecret []byte
}

// ReadFiles reads every file c names — the TLS certificate chain and its
// key, the admin token — and checks that each holds what its key says. It
// reports every problem at once, as an Errors whose messages name the key
// and, when c was loaded from a file, the file and the key's line:
//
//	switchboard.yaml:9: tls.key_file: /etc/switchboard/key.pem holds no PEM private key
//
// A message names a file by its path and never quotes what is in it.
// -check-config and the gateway's start-up both call it, so a config that
// checks is one the gateway can start with.
func (c *Config) ReadFiles() (Files, error) {
	var (
		f Files
		l errorList
	)
	if c.TLS.CertFile != "" && c.TLS.KeyFile != "" {
		f.Certificate = l.readKeyPair(c.TLS.CertFile, c.TLS.KeyFile)
	}
	if c.Admin.TokenFile != "" {
		f.AdminToken = l.readToken(c.Admin.TokenFile)
	}
	if c.TURN.Enabled && c.TURN.SecretFile != "" {
		f.TURNSecret = l.readSecret(c.TURN.SecretFile)
	}
	if len(l.errs) == 0 {
		return f, nil
	}
	for i := range l.errs {
		l.errs[i].File = c.src.file
		l.errs[i].Line = lineOf(c.src.lines, l.errs[i].Key)
	}
	return Files{}, l.errs
}

// readKeyPair reads a PEM certificate chain and its private key.
func (l *errorList) readKeyPair(certFile, keyFile string) *tls.Certificate {
	certPEM, certErr := os.ReadFile(certFile)
	if certErr != nil {
		l.addf("tls.cert_file", "%v", certErr)
	} else if !hasPEM(certPEM, func(t string) bool { return t == "CERTIFICATE" }) {
		l.addf("tls.cert_file", "%s holds no PEM certificate", certFile)
		certErr = errNoPEM
	}
	keyPEM, keyErr := os.ReadFile(keyFile)
	if keyErr != nil {
		l.addf("tls.key_file", "%v", keyErr)
	} else if !hasPEM(keyPEM, func(t string) bool { return t == "PRIVATE KEY" || strings.HasSuffix(t, " PRIVATE KEY") }) {
		l.addf("tls.key_file", "%s holds no PEM private key", keyFile)
		keyErr = errNoPEM
	}
	if certErr != nil || keyErr != nil {
		return nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The PEM blocks are there: the certificate does not parse, the
		// key does not, or they are not a pair.
		l.addf("tls.key_file", "%s is not a usable private key for the certificate in %s (%s)", keyFile, certFile, strings.TrimPrefix(err.Error(), "tls: "))
		return nil
	}
	return &cert
}

var errNoPEM = fmt.Errorf("no PEM")

// hasPEM reports whether data holds a PEM block whose type want accepts.
func hasPEM(data []byte, want func(string) bool) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if want(b.Type) {
			return true
		}
	}
}

// readToken reads the admin token: the file's content without surrounding
// white space, a token68 as Authorization carries it (RFC 6750 §2.1).
func (l *errorList) readToken(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		l.addf("admin.token_file", "%v", err)
		return ""
	}
	token := string(bytes.TrimSpace(b))
	switch {
	case token == "":
		l.addf("admin.token_file", "%s is empty", path)
	case strings.ContainsFunc(strings.TrimRight(token, "="), notToken68):
		l.addf("admin.token_file", "the token in %s may hold only letters, digits and - . _ ~ + / (and = at its end)", path)
	default:
		return token
	}
	return ""
}

// notToken68 reports whether r cannot be in a token68 (RFC 7235 §2.1),
// trailing "=" aside.
func notToken68(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~+/", r))
}

// readSecret reads the TURN REST secret: the file's content without
// surrounding white space, as coturn's static-auth-secret takes it.
func (l *errorList) readSecret(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		l.addf("turn.secret_file", "%v", err)
		return nil
	}
	secret := bytes.TrimSpace(b)
	if len(secret) < 16 {
		l.addf("turn.secret_file", "%s holds less than 16 bytes: use a long random secret", path)
		return nil
	}
	return secret
}
