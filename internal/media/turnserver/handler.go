package turnserver

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// Users is what the credentials endpoint needs of the registrar, in its own
// words: whether a password is a user's (the registrar's lockout counts the
// failures of src) and whether the user has a live registration.
type Users interface {
	Authenticate(user, password string, src netip.Addr) bool
	Registered(user string) bool
}

// Limiter is what the credentials endpoint needs of a rate limiter:
// whether a client (an IPv4 address, an IPv6 /64) may ask once more.
type Limiter interface {
	Allow(client netip.Addr) bool
}

// HandlerConfig configures the credentials endpoint.
type HandlerConfig struct {
	// TTL is how long the credentials it hands out are valid.
	TTL time.Duration
	// URLs are the TURN URLs the page puts in iceServers.
	URLs []string
}

// HandlerDeps are what the credentials endpoint is given.
type HandlerDeps struct {
	Users   Users
	Limiter Limiter // nil: no limit
	Metrics *Metrics
}

// credentialsRequest is the endpoint's request body.
type credentialsRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// IceServer is one entry of RTCConfiguration.iceServers (W3C WebRTC §4.2.4).
type IceServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username"`
	Credential string   `json:"credential"`
}

// credentialsResponse is the endpoint's answer.
type credentialsResponse struct {
	IceServers []IceServer `json:"iceServers"`
	TTL        int         `json:"ttl"`
}

// Handler returns the credentials endpoint: a POST of the user's SIP
// username and password, as JSON, from a user who is registered, is
// answered with TURN REST credentials for that user valid for cfg.TTL,
// as iceServers. Over plain HTTP it answers loopback clients only, since
// the password would otherwise cross the network in clear. docs/turn.md
// describes it.
func (s *Server) Handler(cfg HandlerConfig, deps HandlerDeps) http.Handler {
	return &credentialsHandler{cfg: cfg, creds: s.creds, users: deps.Users, metrics: deps.Metrics, limit: deps.Limiter}
}

type credentialsHandler struct {
	cfg     HandlerConfig
	creds   *Credentials
	users   Users
	metrics *Metrics
	limit   Limiter
}

func (h *credentialsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	src := remoteIP(r)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, http.StatusMethodNotAllowed, "bad_request", "use POST")
		return
	}
	if r.TLS == nil && !src.IsLoopback() {
		h.fail(w, http.StatusForbidden, "refused", "use https")
		return
	}
	if h.limit != nil && !h.limit.Allow(client(src)) {
		w.Header().Set("Retry-After", "1")
		h.fail(w, http.StatusTooManyRequests, "rate_limited", "too many requests")
		return
	}
	var req credentialsRequest
	body := http.MaxBytesReader(w, r.Body, 4096)
	if err := json.NewDecoder(body).Decode(&req); err != nil || req.Username == "" {
		h.fail(w, http.StatusBadRequest, "bad_request", `send {"username": ..., "password": ...}`)
		return
	}
	_, _ = io.Copy(io.Discard, body)
	if !h.users.Authenticate(req.Username, req.Password, src) {
		h.fail(w, http.StatusForbidden, "refused", "forbidden")
		return
	}
	if !h.users.Registered(req.Username) {
		h.fail(w, http.StatusForbidden, "not_registered", "register first")
		return
	}
	user, pass := h.creds.Mint(req.Username, time.Now().Add(h.cfg.TTL))
	h.metrics.credentials.WithLabelValues("issued").Inc()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(credentialsResponse{
		IceServers: []IceServer{{URLs: h.cfg.URLs, Username: user, Credential: pass}},
		TTL:        int(h.cfg.TTL / time.Second),
	})
}

// fail answers with status and a short reason that never echoes input.
func (h *credentialsHandler) fail(w http.ResponseWriter, status int, result, reason string) {
	h.metrics.credentials.WithLabelValues(result).Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, reason+"\n")
}

// client is the address rate limits count: an IPv6 address's /64, which
// one host commonly holds whole.
func client(ip netip.Addr) netip.Addr {
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

func remoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		a, _ := netip.ParseAddr(host)
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// URLs returns the TURN URLs of a server reached at host on the given
// ports (0: that listener is off), RFC 7065: UDP, then TCP, then TLS.
func URLs(host string, udp, tcp, tls uint16) []string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		host = "[" + host + "]"
	}
	var urls []string
	if udp != 0 {
		urls = append(urls, "turn:"+host+":"+strconv.Itoa(int(udp))+"?transport=udp")
	}
	if tcp != 0 {
		urls = append(urls, "turn:"+host+":"+strconv.Itoa(int(tcp))+"?transport=tcp")
	}
	if tls != 0 {
		urls = append(urls, "turns:"+host+":"+strconv.Itoa(int(tls))+"?transport=tcp")
	}
	return urls
}
