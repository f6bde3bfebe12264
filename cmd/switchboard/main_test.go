package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestDeps keeps test code out of the production binary.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "testing" || strings.Contains(dep, "/internal/testkit/") || strings.HasSuffix(dep, "/httptest") {
			t.Errorf("the binary depends on %s", dep)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "registrar:\n  auth: false\n")
	bad := write("bad.yaml", "registrar:\n  auth: false\nwebsocket:\n  max_mesage_size: 10\n")
	noCert := write("nocert.yaml", "registrar:\n  auth: false\nlisten:\n  https: 127.0.0.1:8443\ntls:\n  cert_file: "+filepath.Join(dir, "none.pem")+"\n  key_file: "+filepath.Join(dir, "none.key")+"\n")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"valid file", []string{"-config", good, "-check-config"}, 0, "configuration ok"},
		{"unknown key names file and line", []string{"-config", bad, "-check-config"}, 1, "bad.yaml:4:"},
		{"missing file", []string{"-config", filepath.Join(dir, "none.yaml"), "-check-config"}, 1, "none.yaml"},
		{"missing certificate names key and line", []string{"-config", noCert, "-check-config"}, 1, "nocert.yaml:6: tls.cert_file: open "},
		{"embedded defaults", []string{"-check-config"}, 0, "configuration ok"},
		{"version", []string{"-version"}, 0, "switchboard"},
		{"bad flag", []string{"-nope"}, 2, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if got := run(tt.args, &out); got != tt.wantCode {
				t.Errorf("exit code: got %d, want %d\n%s", got, tt.wantCode, out.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output: got %q, want it to contain %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestReadmeCommands keeps the README's commands true: the quick start is
// make run, which builds the softphone, with go run of this package as the
// variant without it, and CI runs the test command.
func TestReadmeCommands(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"make run\n", "go run ./cmd/switchboard\n", "make test\n"} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("README lacks %q", want)
		}
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nrun: build", "\nbuild: web", "\ntest: web", "npm ci", "npm run build"} {
		if !bytes.Contains(makefile, []byte(want)) {
			t.Errorf("Makefile lacks %q: make run and make test must build the softphone", want)
		}
	}
	if !bytes.Contains(ci, []byte("make test")) {
		t.Error(".ci/run does not run the README's test command, make test")
	}
}

// TestReadmeConfigs checks every YAML config the README shows with
// -check-config, so its examples stay ones that run.
func TestReadmeConfigs(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(readme), "```yaml\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("README shows no YAML config")
	}
	for i, b := range blocks {
		body, _, ok := strings.Cut(b, "```")
		if !ok {
			t.Fatalf("README's YAML block %d is not closed", i+1)
		}
		path := filepath.Join(t.TempDir(), "switchboard.yaml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if code := run([]string{"-config", path, "-check-config"}, &out); code != 0 {
			t.Errorf("README's YAML block %d: exit %d: %s", i+1, code, out.String())
		}
	}
}

// TestGCPercent: the binary's default applies only when GOGC is unset.
func TestGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	setGCPercent("50") // the runtime read GOGC=50 already: left alone
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the GC percent is %d, want it left at 100", got)
	}
	setGCPercent("")
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("with GOGC unset, the GC percent is %d, want %d", got, defaultGCPercent)
	}
}
