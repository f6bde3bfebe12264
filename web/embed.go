// Package web holds the demo softphone page, built by `make web` into dist/
// and embedded in the binary. A binary built before the page serves a short
// page saying how to build it.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// buildHint is served at "/" when dist/ holds no index.html.
const buildHint = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>switchboard</title></head>
<body><h1>switchboard</h1>
<p>The softphone page is not built into this binary: run <code>make web</code>
to build the softphone (it needs Node.js and npm), then rebuild switchboard
(<code>make run</code> does both).</p></body></html>
`

// Built reports whether the softphone was built into this binary.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// Handler serves the softphone: index.html at "/", the other built files
// by name, with content types from their extensions and no directory
// listings. Before the page is built it serves the build hint at "/".
func Handler() http.Handler {
	root, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path; Sub cannot fail on it
	}
	files := http.FileServerFS(root)
	built := Built()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w, r.Host)
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		switch {
		case name == "" && !built:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(buildHint))
		case name == "" || name == "index.html":
			// Serve the index itself: FileServer redirects /index.html to /.
			serveIndex(w, r, root)
		case strings.HasPrefix(name, ".") || !isFile(root, name):
			http.NotFound(w, r)
		default:
			files.ServeHTTP(w, r)
		}
	})
}

// setSecurityHeaders restricts the page to its own origin: scripts, styles
// and fetches from it, and WebSockets back to the same host.
func setSecurityHeaders(w http.ResponseWriter, host string) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
		"img-src 'self' data:; media-src 'self' blob: mediastream:; "+
		"connect-src 'self' ws://"+host+" wss://"+host+"; "+
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// serveIndex writes index.html, uncached so a new binary's page is seen at
// once.
func serveIndex(w http.ResponseWriter, r *http.Request, root fs.FS) {
	b, err := fs.ReadFile(root, "index.html")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// isFile reports whether name is a regular file in root, so that
// directories are never listed.
func isFile(root fs.FS, name string) bool {
	st, err := fs.Stat(root, name)
	return err == nil && st.Mode().IsRegular()
}
