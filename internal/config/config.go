// Package config defines switchboard's configuration: one documented struct,
// its defaults, a strict YAML loader and a validator that reports every
// problem at once.
//
// Load decodes the file once into typed values: listen addresses are
// netip.AddrPort, IPs netip.Addr, SIP URIs sip.Uri, the RTP ports a
// PortRange. Components receive these values as they are and neither parse
// nor default them again; the only defaults are those of [Default].
//
// A duration's zero means one thing everywhere: "off" for the keys that can
// be off (websocket.ping_interval, limits.idle_timeout,
// limits.max_call_duration, media.timeout, shutdown.drain_timeout);
// for every other duration key, zero is a validation error.
//
// A config file starts from [Default] and overrides what it names; with no
// file the gateway runs [Embedded], a local-only development setup with an
// open registrar. docs/config.md is the user-facing reference for every key.
package config

import (
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The values of Config.Mode.
const (
	// ModeRegistrar makes the gateway a registrar: WebRTC clients register
	// with it, and calls are relayed to trunks chosen by Config.Routes.
	ModeRegistrar = "registrar"
	// ModeUpstream makes the gateway a front end for a PBX: REGISTERs and
	// calls are relayed to Upstream.URI, which authenticates the users.
	ModeUpstream = "upstream"
)

// Config is the whole gateway configuration. Only package gateway reads all
// of it; it hands each component the block that component needs.
type Config struct {
	// Mode is ModeRegistrar ("registrar", the default) or ModeUpstream
	// ("upstream").
	Mode string `yaml:"mode"`
	// Listen holds the addresses the gateway listens on.
	Listen Listen `yaml:"listen"`
	// Admin protects the admin listener, Listen.Admin.
	Admin Admin `yaml:"admin"`
	// TLS holds the certificate for the https and tls listeners.
	TLS TLS `yaml:"tls"`
	// SIP holds protocol settings shared by all transports.
	SIP SIP `yaml:"sip"`
	// WebSocket holds settings for SIP over WebSocket (RFC 7118).
	WebSocket WebSocket `yaml:"websocket"`
	// Limits bounds what a single peer or message may cost.
	Limits Limits `yaml:"limits"`
	// Security says which peers switchboard trusts and what it removes
	// from untrusted peers' requests before it forwards them.
	Security Security `yaml:"security"`
	// Registrar configures the built-in registrar used in ModeRegistrar.
	Registrar Registrar `yaml:"registrar"`
	// Upstream names the PBX used in ModeUpstream.
	Upstream Upstream `yaml:"upstream"`
	// Routes choose the trunk for calls from WebRTC clients; the first
	// route, in file order, whose Prefix matches wins. The default is no
	// routes.
	Routes []Route `yaml:"routes"`
	// Media configures the media bridge between WebRTC and plain RTP legs.
	Media Media `yaml:"media"`
	// Services configures the built-in services callers reach by dialling
	// their names.
	Services Services `yaml:"services"`
	// Softphone configures the demo softphone page served over HTTP.
	Softphone Softphone `yaml:"softphone"`
	// TURN configures the embedded TURN server, off by default.
	TURN TURN `yaml:"turn"`
	// Shutdown configures graceful shutdown.
	Shutdown Shutdown `yaml:"shutdown"`
	// Log configures the process logger.
	Log Log `yaml:"log"`

	// DevMode is true only for the configuration returned by Embedded, used
	// when no config file is given: the registrar is open and the gateway
	// logs a loud warning at start-up. It cannot be set from YAML.
	DevMode bool `yaml:"-"`

	// src is where Load read the config, for the messages of ReadFiles.
	src source
}

// source is the file a Config was loaded from and the line of each key
// path in it; zero for a Config built in code.
type source struct {
	file  string
	lines map[string]int
}

// Listen holds the listen addresses. In the file each is "host:port" with an
// IP address as host; an empty host, 0.0.0.0 or :: means all interfaces
// (and then SIP.AdvertiseHost is required), and "" disables that listener.
// Port 0 picks a free port.
//
// Decoded, an empty host becomes 0.0.0.0, which Go listens on exactly as on
// an empty host, and "" becomes the zero netip.AddrPort: the zero value
// means the listener is off.
type Listen struct {
	// HTTP is the address for plain HTTP and SIP over WebSocket (ws://).
	// The default is 127.0.0.1:8080.
	HTTP netip.AddrPort `yaml:"http"`
	// HTTPS is the address for HTTPS and SIP over secure WebSocket (wss://).
	// It needs TLS.CertFile and TLS.KeyFile. The default is zero (off).
	HTTPS netip.AddrPort `yaml:"https"`
	// UDP is the address for SIP over UDP. The default is 127.0.0.1:5060.
	UDP netip.AddrPort `yaml:"udp"`
	// TCP is the address for SIP over TCP. The default is 127.0.0.1:5060.
	TCP netip.AddrPort `yaml:"tcp"`
	// TLS is the address for SIP over TLS. It needs TLS.CertFile and
	// TLS.KeyFile. The default is zero (off).
	TLS netip.AddrPort `yaml:"tls"`
	// Admin is the address of the operator endpoints, plain HTTP: /metrics,
	// /calls (every anchored call, with addresses), /healthz and /readyz.
	// They are served nowhere else. Any address other than a loopback one
	// needs Admin.TokenFile. It carries no SIP, so a wildcard host needs
	// no SIP.AdvertiseHost. The default is 127.0.0.1:9060.
	Admin netip.AddrPort `yaml:"admin"`
}

// Admin protects the admin listener.
type Admin struct {
	// TokenFile is the path of a file whose content, without surrounding
	// white space, is a bearer token: every request to the admin listener
	// must then carry "Authorization: Bearer TOKEN", or it is answered
	// 401. ReadFiles reads it (-check-config and start-up); an empty file is
	// an error.
	// The default is "", no token, which only a loopback Listen.Admin
	// allows.
	TokenFile string `yaml:"token_file"`
}

// TLS names the certificate used by the HTTPS and TLS listeners.
type TLS struct {
	// CertFile is the path of a PEM certificate chain. The default is "".
	CertFile string `yaml:"cert_file"`
	// KeyFile is the path of the PEM private key for CertFile. The default
	// is "".
	KeyFile string `yaml:"key_file"`
}

// SIP holds protocol settings shared by all transports.
type SIP struct {
	// AdvertiseHost is the host (IP address or name, no port) written in
	// Via, Record-Route and Contact instead of the listen address. The
	// default is "", meaning the listen address; it is required when a
	// listen address has a wildcard host (empty, 0.0.0.0 or ::).
	AdvertiseHost string `yaml:"advertise_host"`
	// Domain is the registrar domain; REGISTERs for other domains are
	// refused. The default is "", meaning any domain is accepted.
	Domain string `yaml:"domain"`
	// T1 is the RFC 3261 §17.1.1.1 round-trip estimate from which the
	// transaction timers derive. The default is 500ms; range 100ms to 5s,
	// so zero is an error.
	T1 time.Duration `yaml:"t1"`
	// UserAgent is the value of the Server and User-Agent headers the
	// gateway writes. The default is "switchboard".
	UserAgent string `yaml:"user_agent"`
}

// WebSocket holds settings for SIP over WebSocket (RFC 7118).
type WebSocket struct {
	// Path is the HTTP path that accepts WebSocket upgrades. It must start
	// with "/". The default is "/ws".
	Path string `yaml:"path"`
	// AllowedOrigins lists the exact origins, such as
	// "https://phone.example.com", whose pages may connect; "*" allows any.
	// The default is empty, which accepts any Origin.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// HandshakeTimeout bounds the HTTP upgrade. The default is 5s; zero is
	// an error.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// MaxMessageSize is the largest WebSocket message accepted, in bytes.
	// The default is 65536; range 1024 to 16777216.
	MaxMessageSize int `yaml:"max_message_size"`
	// PingInterval is the time between WebSocket pings. The default is
	// 30s; 0 disables pings.
	PingInterval time.Duration `yaml:"ping_interval"`
	// IdleTimeout closes a connection on which nothing, not even a pong,
	// arrived for this long. It must exceed PingInterval when pings are on.
	// The default is 90s; zero is an error.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// WriteTimeout bounds a single write to a client. The default is 10s;
	// zero is an error.
	WriteTimeout time.Duration `yaml:"write_timeout"`
}

// Limits bounds what a single peer or message may cost.
type Limits struct {
	// MaxMessageSize is the largest SIP message accepted over UDP, TCP or
	// TLS, in bytes. The default is 65535; range 1024 to 1048576.
	MaxMessageSize int `yaml:"max_message_size"`
	// MaxHeaders is the most header fields a SIP message may carry. The
	// default is 128.
	MaxHeaders int `yaml:"max_headers"`
	// MaxVia is the most Via header values a SIP message may carry. The
	// default is 16.
	MaxVia int `yaml:"max_via"`
	// MaxConnections is the most TCP, TLS and WebSocket connections open at
	// once, all transports together. The default is 100000.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP is the most connections open at once from one IP
	// address. The default is 1000.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// RequestsPerSecondPerIP is the sustained rate of SIP requests allowed
	// from one IP address, per second; the burst is twice this. The default
	// is 2000; 0 disables the limit.
	RequestsPerSecondPerIP float64 `yaml:"requests_per_second_per_ip"`
	// FirstMessageTimeout closes a SIP TCP or TLS connection that has not
	// completed its TLS handshake and sent one whole SIP message this long
	// after it was accepted; CRLF keep-alives do not count. The default is
	// 5s; zero is an error. (WebSocket has websocket.handshake_timeout.)
	FirstMessageTimeout time.Duration `yaml:"first_message_timeout"`
	// IdleTimeout closes a SIP TCP or TLS connection on which nothing, not
	// even a CRLF keep-alive, arrived for this long. The default is 2h,
	// above the longest registration registrar.max_expires grants by
	// default, so that a phone registered over TCP without keep-alives stays
	// reachable until it refreshes; 0 keeps silent connections open.
	// (WebSocket has websocket.idle_timeout.)
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// CallsPerUser is the most calls one authenticated user may have at
	// once, being set up or established; the next is refused 403. Trusted
	// peers are not limited per user. The default is 10; 0 is no limit.
	CallsPerUser int `yaml:"calls_per_user"`
	// CallRatePerUser is the sustained rate of new calls one authenticated
	// user may start, per second; the burst is twice this, and calls beyond
	// it are refused 403. The default is 2; 0 disables the limit.
	CallRatePerUser float64 `yaml:"call_rate_per_user"`
	// MaxCallDuration ends a call switchboard routed with BYE to both ends
	// this long after it was answered. The default is 4h; 0 turns it off.
	// (The built-in services have services.max_duration.)
	MaxCallDuration time.Duration `yaml:"max_call_duration"`
}

// Security says which peers switchboard trusts — the PBXs and trunks whose
// requests reach users without credentials — and what it removes from the
// requests of everyone else. Untrusted peers authenticate (registrar mode
// with Registrar.Auth) or, in upstream mode, may not send requests to
// browsers at all; identity headers (P-Asserted-Identity, Remote-Party-ID,
// Diversion and the others listed in docs/security.md) are always removed
// from their requests, and StripHeaders adds the deployment's own.
type Security struct {
	// TrustedNetworks are the networks, as CIDR prefixes ("10.0.0.0/24")
	// or single addresses ("192.0.2.7"), whose SIP requests over UDP, TCP
	// or TLS are trusted. The IP-literal hosts of Upstream.URI and of every
	// Routes[].URI are trusted without being listed; a PBX or trunk named
	// by a host name must be listed here by address. WebSocket clients are
	// never trusted by address. The default is empty.
	TrustedNetworks []netip.Prefix `yaml:"trusted_networks"`
	// StripHeaders lists more headers to remove from requests of untrusted
	// peers (browsers, phones), in every spelling: a name such as
	// "X-Tenant-ID", matched without regard to case (and to its compact
	// form, if it has one), or a prefix ending in "*" such as "X-Acme-*".
	// Use it for the private headers a PBX or trunk behind switchboard
	// trusts. Headers the proxy needs (Via, From, To, Call-ID, CSeq,
	// Contact, Route, Record-Route, Max-Forwards, Content-Type,
	// Content-Length) cannot be listed, nor matched by a prefix. The
	// default is none.
	StripHeaders []string `yaml:"strip_headers"`
}

// Registrar configures the built-in registrar used in ModeRegistrar.
type Registrar struct {
	// Auth requires clients to authenticate against Users with digest
	// authentication (RFC 3261 §22). The default is true; only Embedded
	// turns it off.
	Auth bool `yaml:"auth"`
	// Realm is the digest realm sent in challenges. The default is
	// "switchboard".
	Realm string `yaml:"realm"`
	// Users are the accounts allowed to register. The default is none.
	Users []User `yaml:"users"`
	// NonceTTL is how long a digest nonce stays valid. The default is 5m;
	// zero is an error.
	NonceTTL time.Duration `yaml:"nonce_ttl"`
	// MinExpires is the shortest registration accepted; shorter requests
	// get 423 Interval Too Brief. The default is 60s; whole seconds, zero
	// is an error.
	MinExpires time.Duration `yaml:"min_expires"`
	// MaxExpires caps the registration lifetime granted. The default is 1h;
	// whole seconds, at least MinExpires.
	MaxExpires time.Duration `yaml:"max_expires"`
	// DefaultExpires is the lifetime granted when a REGISTER asks for none.
	// The default is 10m; whole seconds, from MinExpires to MaxExpires.
	DefaultExpires time.Duration `yaml:"default_expires"`
	// DigestAlgorithms lists the digest challenges offered, most preferred
	// first: SHA-256 and MD5 (RFC 8760). The default is [SHA-256, MD5].
	// JsSIP, SIP.js and sipp answer only the first challenge and only with
	// MD5: deployments with those clients put MD5 first.
	DigestAlgorithms []string `yaml:"digest_algorithms"`
	// MaxContacts is the most contacts one user may have registered at
	// once; a REGISTER that would exceed it is answered 403. The default is
	// 10; range 1 to 1000.
	MaxContacts int `yaml:"max_contacts"`
	// Lockout refuses, for a while, the users and addresses that fail
	// digest authentication too often, on REGISTER and on calls alike.
	Lockout Lockout `yaml:"lockout"`
}

// Lockout configures the refusal of users and addresses after repeated
// digest authentication failures (a wrong password or an unknown user;
// never a client's first, unauthenticated request). Each count of
// failures within Window locks its scope out for Duration, during which
// even the right password is refused with the 403 of a wrong one. A user
// or address that logged in within the last day is exempt from the user
// and address lockouts, so that an attacker cannot keep it out. A failure
// count of 0 turns that lockout off.
type Lockout struct {
	// UserIPFailures is how many failures of one user from one IP address
	// lock that user out from that address. The default is 5; 0 is off.
	UserIPFailures int `yaml:"user_ip_failures"`
	// UserFailures is how many failures of one user, from any addresses,
	// lock that user out from every address it has not logged in from
	// within the last day. The default is 30; 0 is off.
	UserFailures int `yaml:"user_failures"`
	// IPFailures is how many failures from one IP address (an IPv6
	// address's /64), whatever the users, lock that address out for every
	// user that has not logged in from it within the last day. The default
	// is 20; 0 is off.
	IPFailures int `yaml:"ip_failures"`
	// Window is how long failures are counted from the first one, after
	// which the count starts again. The default is 5m; zero is an error.
	Window time.Duration `yaml:"window"`
	// Duration is how long a lockout lasts. The default is 15m; zero is an
	// error.
	Duration time.Duration `yaml:"duration"`
}

// User is one registrar account.
type User struct {
	// Username is the SIP user name and digest username. Required.
	Username string `yaml:"username"`
	// Password is the digest password, in clear text. Required.
	Password string `yaml:"password"`
}

// Upstream names the PBX used in ModeUpstream.
type Upstream struct {
	// URI is the PBX as a sip: or sips: URI with an optional
	// ;transport=udp|tcp|tls, such as "sip:127.0.0.1:5070;transport=udp".
	// Required in ModeUpstream; the default is "", the zero sip.Uri.
	URI sip.Uri `yaml:"uri"`
	// Path adds a Path header (RFC 3327) to relayed REGISTERs so the PBX
	// routes calls for the user back through the gateway. The default is
	// false.
	Path bool `yaml:"path"`
}

// Route sends calls whose number starts with Prefix to a trunk. The number
// is the Request-URI user part of a call no registered user or service
// answers, %XX escapes decoded and visual separators ("-", ".", "(", ")")
// removed; one that is not then an optional "+" and digits is refused.
type Route struct {
	// Prefix is matched against the start of the number: an optional "+"
	// and digits; "" matches every number. The default is "".
	Prefix string `yaml:"prefix"`
	// Strip is the number of leading characters removed from the user part
	// before the call is relayed. The default is 0.
	Strip int `yaml:"strip"`
	// URI is the trunk as a sip: or sips: URI with an optional
	// ;transport=udp|tcp|tls. Required: the zero sip.Uri is an error.
	URI sip.Uri `yaml:"uri"`
	// Allow, when not empty, lists the only numbers the route takes; Deny
	// lists numbers it never takes, whatever Allow says. Each entry is a
	// number ("+15551234") or a prefix of one ending in "*" ("+1900*"),
	// compared with the number the trunk would receive: normalised, after
	// Strip. A number the route does not take goes on to the next route.
	// The default is none.
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// Shutdown configures graceful shutdown.
type Shutdown struct {
	// DrainTimeout is how long live calls may continue after the first
	// stop signal before the gateway stops anyway. The default is 10s; 0
	// stops at once.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// Media configures the media bridge: switchboard anchors the media of every
// call between a WebRTC leg (ICE-lite, DTLS-SRTP) and a plain RTP leg, and
// with AnchorAll that of every other call too.
type Media struct {
	// WebRTCListen is the one UDP address every browser leg uses; legs are
	// told apart by ICE username. It is written like a Listen address. The
	// default is 0.0.0.0:10000 (all IPv4 interfaces: a browser on this
	// machine reaches it from whichever address it picks; nothing answers
	// there without a call's ICE credentials); zero ("" in the file) turns
	// the media bridge off (SDP then passes through untouched).
	WebRTCListen netip.AddrPort `yaml:"webrtc_listen"`
	// PublicIPs are the addresses offered to browsers as ICE candidates:
	// "auto" (the default) or a list of IPs.
	PublicIPs PublicIPs `yaml:"public_ips"`
	// RTPIP is the address plain RTP legs bind and advertise. The default
	// is 127.0.0.1.
	RTPIP netip.Addr `yaml:"rtp_ip"`
	// RTPPorts bound the ports of plain legs, each an even RTP port and the
	// RTCP port above it. The default is 20000-29999.
	RTPPorts PortRange `yaml:",inline"`
	// Timeout ends a call with BYE on both legs when no RTP arrived from
	// either for this long while it was up. The default is 60s; zero turns
	// it off.
	Timeout time.Duration `yaml:"timeout"`
	// AnchorAll anchors WebRTC ⇄ WebRTC calls (a bridge per browser, back
	// to back) and plain ⇄ plain calls (an RTP relay) too, instead of
	// letting their SDP pass through. The default is false: only WebRTC ⇄
	// plain calls, which need it, are anchored.
	AnchorAll bool `yaml:"anchor_all"`
	// Workers is how many goroutines relay media packets, each reading
	// its share of the calls' sockets. The default, 0, is half the CPUs
	// Go may use, at least one.
	Workers int `yaml:"workers"`
	// MaxCalls is the most calls whose media is anchored at once; a new
	// call beyond it is refused with 503 and Retry-After before anything
	// is forwarded. The default, 0, sets no ceiling: capacity depends on
	// the machine, and RefuseOverload measures it.
	MaxCalls int `yaml:"max_calls"`
	// RefuseOverload refuses new calls with 503 and Retry-After while the
	// browser-leg queues show the media path saturated (packets dropped,
	// or a queue half full, within the last second), so that the calls up
	// keep their quality. The default is true.
	RefuseOverload bool `yaml:"refuse_overload"`
}

// PublicIPs is media.public_ips: the word "auto" or a list of IP addresses.
type PublicIPs struct {
	// Auto offers WebRTCListen's IP when it is one address, and, when it is
	// a wildcard, every address of that family on the machine's interfaces
	// that are up (loopback included, link-local left out), read when the
	// gateway starts.
	Auto bool
	// IPs are the addresses written in the file, in order, when not Auto.
	// An empty list means WebRTCListen's IP, which must then not be a
	// wildcard.
	IPs []netip.Addr
}

// String is the value as the file would write it.
func (p PublicIPs) String() string {
	if p.Auto {
		return "auto"
	}
	s := make([]string, len(p.IPs))
	for i, ip := range p.IPs {
		s[i] = ip.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// PortRange is an inclusive range of UDP ports. In the file it is two keys
// of the media block, rtp_port_min and rtp_port_max.
type PortRange struct {
	// Min is the lowest port. The default is 20000.
	Min uint16 `yaml:"rtp_port_min"`
	// Max is the highest port. The default is 29999.
	Max uint16 `yaml:"rtp_port_max"`
}

// Services configures the built-in services: "echo" answers and sends
// the caller's audio back, "tone" answers and plays a 440 Hz tone. They are
// a plain SIP phone inside the process, so a browser's call to them is
// anchored by the media bridge like a call to any phone.
type Services struct {
	// Enabled answers calls to "echo" and "tone" in both modes; such calls
	// never reach a registered user, a trunk or the upstream PBX. The
	// services need Listen.UDP. The default is true.
	Enabled bool `yaml:"enabled"`
	// MaxDuration ends a service call with BYE after this long. The
	// default is 1h; zero is an error.
	MaxDuration time.Duration `yaml:"max_duration"`
}

// Softphone configures the demo softphone: a JsSIP page embedded in the
// binary and served at "/" on the http and https listeners.
type Softphone struct {
	// Enabled serves the page at "/"; when false, "/" answers 404. The
	// default is true.
	Enabled bool `yaml:"enabled"`
}

// TURN configures the embedded TURN server (RFC 8656), for browsers that
// cannot reach media.webrtc_listen over UDP: behind a symmetric NAT, or a
// firewall that lets out only TCP or TLS. docs/turn.md describes it.
type TURN struct {
	// Enabled starts the TURN server, serves the credentials endpoint at
	// /turn/credentials on the http and https listeners (registrar mode),
	// and makes the softphone use it. The default is false.
	Enabled bool `yaml:"enabled"`
	// ListenUDP, ListenTCP and ListenTLS are the TURN listeners, written
	// like Listen addresses; "" turns one off. ListenTLS needs
	// tls.cert_file and tls.key_file, the certificate of listen.https, and
	// may be port 443 for browsers behind firewalls that let only TLS on
	// 443 out. The defaults are 127.0.0.1:3478, 127.0.0.1:3478 and "".
	ListenUDP netip.AddrPort `yaml:"listen_udp"`
	ListenTCP netip.AddrPort `yaml:"listen_tcp"`
	ListenTLS netip.AddrPort `yaml:"listen_tls"`
	// TLSHost is the host name in the turns: URLs pages get, one the
	// certificate covers: Firefox skips a turns: URL whose host is an IP
	// address. The default is "": sip.advertise_host, else the IP address
	// of turn.listen_tls (enough for Chromium; start-up warns).
	TLSHost string `yaml:"tls_host"`
	// Realm is the STUN realm of the credentials. The default is
	// "switchboard".
	Realm string `yaml:"realm"`
	// RelayIP is the address relay sockets bind. The default is
	// 127.0.0.1.
	RelayIP netip.Addr `yaml:"relay_ip"`
	// RelayPublicIP is the relay address written in responses when
	// RelayIP is behind a 1:1 NAT. The default is "", RelayIP itself.
	RelayPublicIP netip.Addr `yaml:"relay_public_ip"`
	// RelayPortMin and RelayPortMax bound the relay ports. The defaults
	// are 49152 and 65535.
	RelayPortMin uint16 `yaml:"relay_port_min"`
	RelayPortMax uint16 `yaml:"relay_port_max"`
	// SecretFile is the path of a file holding the shared secret of TURN
	// REST credentials (coturn's static-auth-secret), without surrounding
	// white space. The default is "": a random secret per process, so that
	// only the credentials endpoint hands out credentials.
	SecretFile string `yaml:"secret_file"`
	// CredentialTTL is how long the credentials the endpoint hands out
	// are valid for a new allocation. The default is 1h; zero is an error.
	CredentialTTL time.Duration `yaml:"credential_ttl"`
	// CredentialsPerSecondPerIP is the sustained rate of requests to the
	// credentials endpoint from one address (an IPv6 /64); the burst is
	// five. The default is 1; 0 disables the limit.
	CredentialsPerSecondPerIP float64 `yaml:"credentials_per_second_per_ip"`
	// AllocationLifetime is the lifetime of an allocation whose request
	// names none (RFC 8656 §7.2). The default is 10m; from 1m to 1h.
	AllocationLifetime time.Duration `yaml:"allocation_lifetime"`
	// MaxAllocations is the most allocations open at once; it also bounds
	// the connections of each TCP and TLS listener. The default is 1000;
	// 0 is no limit.
	MaxAllocations int `yaml:"max_allocations"`
	// MaxAllocationsPerUser is the most allocations one user (the USER of
	// a username "EXPIRY:USER") may have open at once; the next is refused
	// 486. A browser makes one per TURN URL it is given. The default is
	// 30; 0 is no limit.
	MaxAllocationsPerUser int `yaml:"max_allocations_per_user"`
	// AllowedPeers are networks, as CIDR prefixes or single addresses, a
	// relay may send to although they are denied by default: loopback,
	// private (RFC 1918, ULA), link-local, CGNAT, multicast, reserved, and
	// every IPv6 spelling of those (docs/turn.md). Switchboard's own
	// media.webrtc_listen (or media.public_ips) at its port is always
	// allowed. The default is none.
	AllowedPeers []netip.Prefix `yaml:"allowed_peers"`
}

// Log configures the process logger.
type Log struct {
	// Level is the lowest level logged: "debug", "info", "warn" or
	// "error". The default is "info".
	Level string `yaml:"level"`
	// Format is "text" or "json". The default is "text".
	Format string `yaml:"format"`
}

// Default returns the configuration a config file starts from. Its SIP,
// HTTP and admin listeners are on 127.0.0.1 only; the media bridge's one
// UDP port is on every IPv4 interface and offers all of their addresses,
// so that a browser on this machine pairs with it whatever address it uses
// (Firefox never pairs its own non-loopback address with a loopback
// candidate). Registrar authentication is on.
func Default() *Config {
	return &Config{
		Mode: ModeRegistrar,
		Listen: Listen{
			HTTP:  netip.MustParseAddrPort("127.0.0.1:8080"),
			UDP:   netip.MustParseAddrPort("127.0.0.1:5060"),
			TCP:   netip.MustParseAddrPort("127.0.0.1:5060"),
			Admin: netip.MustParseAddrPort("127.0.0.1:9060"),
		},
		SIP: SIP{
			T1:        500 * time.Millisecond,
			UserAgent: "switchboard",
		},
		WebSocket: WebSocket{
			Path:             "/ws",
			HandshakeTimeout: 5 * time.Second,
			MaxMessageSize:   65536,
			PingInterval:     30 * time.Second,
			IdleTimeout:      90 * time.Second,
			WriteTimeout:     10 * time.Second,
		},
		Limits: Limits{
			MaxMessageSize:         65535,
			MaxHeaders:             128,
			MaxVia:                 16,
			MaxConnections:         100000,
			MaxConnectionsPerIP:    1000,
			RequestsPerSecondPerIP: 2000,
			FirstMessageTimeout:    5 * time.Second,
			IdleTimeout:            2 * time.Hour,
			CallsPerUser:           10,
			CallRatePerUser:        2,
			MaxCallDuration:        4 * time.Hour,
		},
		Registrar: Registrar{
			Auth:             true,
			Realm:            "switchboard",
			NonceTTL:         5 * time.Minute,
			MinExpires:       60 * time.Second,
			MaxExpires:       time.Hour,
			DefaultExpires:   10 * time.Minute,
			MaxContacts:      10,
			DigestAlgorithms: []string{"SHA-256", "MD5"},
			Lockout: Lockout{
				UserIPFailures: 5, UserFailures: 30, IPFailures: 20,
				Window: 5 * time.Minute, Duration: 15 * time.Minute,
			},
		},
		Media: Media{
			WebRTCListen:   netip.MustParseAddrPort("0.0.0.0:10000"),
			PublicIPs:      PublicIPs{Auto: true},
			RTPIP:          netip.MustParseAddr("127.0.0.1"),
			RTPPorts:       PortRange{Min: 20000, Max: 29999},
			Timeout:        60 * time.Second,
			RefuseOverload: true,
		},
		Services:  Services{Enabled: true, MaxDuration: time.Hour},
		Softphone: Softphone{Enabled: true},
		TURN: TURN{
			ListenUDP:                 netip.MustParseAddrPort("127.0.0.1:3478"),
			ListenTCP:                 netip.MustParseAddrPort("127.0.0.1:3478"),
			Realm:                     "switchboard",
			RelayIP:                   netip.MustParseAddr("127.0.0.1"),
			RelayPortMin:              49152,
			RelayPortMax:              65535,
			CredentialTTL:             time.Hour,
			CredentialsPerSecondPerIP: 1,
			AllocationLifetime:        10 * time.Minute,
			MaxAllocations:            1000,
			MaxAllocationsPerUser:     30,
		},
		Shutdown: Shutdown{DrainTimeout: 10 * time.Second},
		Log:      Log{Level: "info", Format: "text"},
	}
}

// Embedded returns the configuration used when no config file is given:
// Default with an open registrar (no authentication) and DevMode set, so
// that the gateway warns loudly at start-up.
func Embedded() *Config {
	c := Default()
	c.Registrar.Auth = false
	c.DevMode = true
	return c
}

// Summary returns slog attributes for the start-up log line: the mode, the
// enabled listeners and whether registrar authentication is on. It never
// includes secrets.
func (c *Config) Summary() []any {
	var listen []any
	for _, l := range c.listeners() {
		if l.addr.IsValid() {
			listen = append(listen, slog.String(l.name, l.addr.String()))
		}
	}
	auth := "off"
	switch {
	case c.Mode == ModeUpstream:
		auth = "upstream"
	case c.Registrar.Auth:
		auth = "on"
	}
	attrs := []any{
		slog.String("mode", c.Mode),
		slog.Group("listen", listen...),
		slog.String("auth", auth),
	}
	if c.DevMode {
		attrs = append(attrs, slog.Bool("dev_mode", true))
	}
	return attrs
}

// listener is one entry of Listen, named by its YAML key.
type listener struct {
	name      string
	addr      netip.AddrPort
	needsCert bool
	admin     bool // carries no SIP: the admin listener
}

// listeners returns every entry of c.Listen, enabled or not, in YAML order.
func (c *Config) listeners() []listener {
	return []listener{
		{"http", c.Listen.HTTP, false, false},
		{"https", c.Listen.HTTPS, true, false},
		{"udp", c.Listen.UDP, false, false},
		{"tcp", c.Listen.TCP, false, false},
		{"tls", c.Listen.TLS, true, false},
		{"admin", c.Listen.Admin, false, true},
	}
}
