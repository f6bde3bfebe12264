package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// module is this repository's module path; rules and go list are read
// relative to it.
const module = "github.com/switchboard-gw/switchboard/"

// TestImportGraph holds the import graph to the rules drawn in
// docs/architecture.md ("Import rules"): every package of the module must
// have a rule, every rule must name a package that exists, and every
// import of one package of the module by another (test files aside) must be
// one its rule allows, and every arrow the rules draw to a named package
// must exist. A new arrow therefore needs a new line in the drawing, and a
// dropped one its removal.
func TestImportGraph(t *testing.T) {
	rules := readImportRules(t, "../../docs/architecture.md")
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	used := map[string]bool{} // "pkg dep" for every arrow that exists
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var pkg struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&pkg); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		name := strings.TrimPrefix(pkg.ImportPath, module)
		seen[name] = true
		allowed, ok := rules[name]
		if !ok {
			t.Errorf("%s has no line in docs/architecture.md's import rules", name)
			continue
		}
		for _, imp := range pkg.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			used[name+" "+dep] = true
			if !allows(allowed, dep) {
				t.Errorf("%s imports %s, which docs/architecture.md's import rules do not allow", name, dep)
			}
		}
	}
	// An arrow drawn to one named package must exist, so the drawing
	// shows no dependency the code has dropped; "dir/..." rules are
	// allowances and need not all be used.
	for name, allowed := range rules {
		for _, dep := range allowed {
			if !strings.HasSuffix(dep, "/...") && seen[name] && !used[name+" "+dep] {
				t.Errorf("docs/architecture.md's import rules draw %s → %s, which the code does not import", name, dep)
			}
		}
	}
	for name := range rules {
		if !seen[name] {
			t.Errorf("docs/architecture.md has an import rule for %s, which is not a package", name)
		}
	}
}

// allows reports whether dep matches one of the patterns: a package path,
// or a path ending in "/..." for that folder and everything below it.
func allows(patterns []string, dep string) bool {
	for _, p := range patterns {
		if dir, ok := strings.CutSuffix(p, "/..."); ok {
			if dep == dir || strings.HasPrefix(dep, dir+"/") {
				return true
			}
		} else if dep == p {
			return true
		}
	}
	return false
}

// readImportRules reads the "imports" code block of the architecture doc:
// one line a package, "pkg: dep dep ..." (no deps: a leaf), # comments.
func readImportRules(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules := map[string][]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "```imports":
			in = true
			continue
		case in && line == "```":
			in = false
			continue
		case !in:
			continue
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		name, deps, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s: import rule %q has no colon", path, line)
		}
		name = strings.TrimSpace(name)
		if _, dup := rules[name]; dup {
			t.Fatalf("%s: two import rules for %s", path, name)
		}
		rules[name] = strings.Fields(deps)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		t.Fatalf("%s has no ```imports block", path)
	}
	return rules
}

func TestAllows(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		dep      string
		want     bool
	}{
		{"exact", []string{"internal/media"}, "internal/media", true},
		{"exact is not a folder", []string{"internal/media"}, "internal/media/sock", false},
		{"folder itself", []string{"internal/media/..."}, "internal/media", true},
		{"below folder", []string{"internal/media/..."}, "internal/media/sock", true},
		{"prefix is not a folder", []string{"internal/media/..."}, "internal/mediaextra", false},
		{"none", nil, "internal/config", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allows(tt.patterns, tt.dep); got != tt.want {
				t.Errorf("allows(%v, %q): got %v, want %v", tt.patterns, tt.dep, got, tt.want)
			}
		})
	}
}
