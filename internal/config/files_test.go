package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/testkit/certtest"
)

// keyPair writes a self-signed certificate and its key as PEM files.
func keyPair(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	return certtest.New(t, name).WriteFiles(t, dir, name)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReadFiles loads configs naming certificate, key and token files, good
// and bad, and checks that every problem names the key and its line, and
// never what a file holds.
func TestReadFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key := keyPair(t, dir, "a")
	otherCert, otherKey := keyPair(t, dir, "b")
	_ = otherCert
	notPEM := filepath.Join(dir, "secret.txt")
	writeFile(t, notPEM, "hunter2-not-pem")
	token := filepath.Join(dir, "token")
	writeFile(t, token, "  s3cret-Token_1~  \n")
	badToken := filepath.Join(dir, "badtoken")
	writeFile(t, badToken, "has space")
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, "\n")
	missing := filepath.Join(dir, "missing.pem")

	// The listeners that need them are off: ReadFiles reads what is named.
	tests := []struct {
		name      string
		cert, key string
		token     string
		wantErrs  []string // each "line: text"; none means success
		wantToken string
	}{
		{name: "good", cert: cert, key: key, token: token, wantToken: "s3cret-Token_1~"},
		{name: "missing certificate", cert: missing, key: key, wantErrs: []string{"3: tls.cert_file: open " + missing + ": no such file or directory"}},
		{name: "missing key", cert: cert, key: missing, wantErrs: []string{"4: tls.key_file: open " + missing}},
		{name: "certificate not PEM", cert: notPEM, key: key, wantErrs: []string{"3: tls.cert_file: " + notPEM + " holds no PEM certificate"}},
		{name: "key not PEM", cert: cert, key: notPEM, wantErrs: []string{"4: tls.key_file: " + notPEM + " holds no PEM private key"}},
		{name: "key of another certificate", cert: cert, key: otherKey, wantErrs: []string{"4: tls.key_file: " + otherKey + " is not a usable private key for the certificate in " + cert}},
		{name: "certificate as key", cert: cert, key: cert, wantErrs: []string{"4: tls.key_file: " + cert + " holds no PEM private key"}},
		{name: "both missing", cert: missing, key: missing, wantErrs: []string{"3: tls.cert_file", "4: tls.key_file"}},
		{name: "empty token", token: empty, wantErrs: []string{"6: admin.token_file: " + empty + " is empty"}},
		{name: "token with a space", token: badToken, wantErrs: []string{"6: admin.token_file: the token in " + badToken + " may hold only"}},
		{name: "missing token", token: missing, wantErrs: []string{"6: admin.token_file: open " + missing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "registrar: {auth: false}\ntls:\n  cert_file: \"" + tt.cert + "\"\n  key_file: \"" + tt.key + "\"\nadmin:\n  token_file: \"" + tt.token + "\"\n"
			path := writeConfig(t, yaml)
			c, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			files, err := c.ReadFiles()
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if tt.cert != "" && files.Certificate == nil {
					t.Error("got no certificate, want one")
				}
				if files.AdminToken != tt.wantToken {
					t.Errorf("token: got %q, want %q", files.AdminToken, tt.wantToken)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want %q", tt.wantErrs)
			}
			msg := err.Error()
			for _, want := range tt.wantErrs {
				if !strings.Contains(msg, path+":"+want) {
					t.Errorf("got %q, want it to contain %q", msg, path+":"+want)
				}
			}
			if strings.Contains(msg, "hunter2") || strings.Contains(msg, "has space") {
				t.Errorf("got %q, which quotes a file's content", msg)
			}
			if files.Certificate != nil || files.AdminToken != "" {
				t.Error("got files with the error, want none")
			}
		})
	}
}

// A Config built in code has no file: its problems name the key alone.
func TestReadFilesWithoutSource(t *testing.T) {
	c := Default()
	c.TLS.CertFile, c.TLS.KeyFile = "/nonexistent/c.pem", "/nonexistent/k.pem"
	_, err := c.ReadFiles()
	if err == nil || !strings.HasPrefix(err.Error(), "tls.cert_file: open /nonexistent/c.pem") {
		t.Errorf("got %v, want a tls.cert_file error without a file position", err)
	}
}
