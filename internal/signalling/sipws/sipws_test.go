package sipws

import (
	"net/http/httptest"
	"testing"
)

func TestOriginAllowed(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		origin  string
		want    bool
	}{
		{"empty list allows all", nil, "https://any.example", true},
		{"star allows all", []string{"*"}, "https://any.example", true},
		{"listed", []string{"https://phone.example"}, "https://phone.example", true},
		{"not listed", []string{"https://phone.example"}, "https://evil.example", false},
		{"missing origin with a list", []string{"https://phone.example"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{cfg: Config{AllowedOrigins: tt.allowed}}
			r := httptest.NewRequest("GET", "/ws", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if got := s.originAllowed(r); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
