package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	type want struct {
		code        int
		contentType string
	}
	tests := []struct {
		name  string
		path  string
		built want // when `make web` has run
		clean want // in a clean checkout
	}{
		{"index", "/", want{200, "text/html"}, want{200, "text/html"}},
		{"index by name", "/index.html", want{200, "text/html"}, want{404, ""}},
		{"script", "/app.js", want{200, "text/javascript"}, want{404, ""}},
		{"style", "/style.css", want{200, "text/css"}, want{404, ""}},
		{"placeholder hidden", "/.gitkeep", want{404, ""}, want{404, ""}},
		{"unknown", "/nope.js", want{404, ""}, want{404, ""}},
		{"no listing", "/./", want{200, "text/html"}, want{200, "text/html"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.clean
			if Built() {
				w = tt.built
			}
			rec := httptest.NewRecorder()
			Handler().ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != w.code {
				t.Errorf("GET %s: got status %d, want %d", tt.path, rec.Code, w.code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, w.contentType) {
				t.Errorf("GET %s: got Content-Type %q, want %q", tt.path, ct, w.contentType)
			}
			if strings.Contains(rec.Body.String(), ".gitkeep") {
				t.Errorf("GET %s: body lists the directory", tt.path)
			}
		})
	}
}
