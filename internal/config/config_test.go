package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// writeConfig writes content to a file named switchboard.yaml in a fresh
// directory and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkErrors fails t unless err is an Errors with exactly one error
// containing each of want, in that order.
func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("got error:\n%v\nwant none", err)
		}
		return
	}
	errs, ok := errors.AsType[Errors](err)
	if !ok {
		t.Fatalf("got error %v (%T), want Errors", err, err)
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors:\n%v\nwant %d containing %q", len(errs), err, len(want), want)
	}
	for i, w := range want {
		if got := errs[i].Error(); !strings.Contains(got, w) {
			t.Errorf("error %d: got %q, want it to contain %q", i, got, w)
		}
	}
}

func addr(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func uri(t *testing.T, s string) sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

// errAuthNoUsers is the one problem Default has: a config file must name
// its users or turn authentication off.
const errAuthNoUsers = "registrar.auth is on but registrar.users is empty (set users, or auth: false for an open registrar)"

func TestDefaultsValidate(t *testing.T) {
	withUser := Default()
	withUser.Registrar.Users = []User{{Username: "alice", Password: "pw"}}
	tests := []struct {
		name    string
		cfg     *Config
		wantErr []string
	}{
		{"Embedded", Embedded(), nil},
		{"Default with a user", withUser, nil},
		{"Default needs users", Default(), []string{errAuthNoUsers}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErrors(t, tt.cfg.Validate(), tt.wantErr)
		})
	}
}

func TestDecodeEmpty(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"empty", ""},
		{"comments only", "# nothing here yet\n"},
		{"null document", "~\n"},
		{"document marker only", "---\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, errs := decode([]byte(tt.yaml))
			if errs != nil {
				t.Fatalf("got errors %v, want none", errs)
			}
			if want := Default(); !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestDefaultAndEmbedded(t *testing.T) {
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"Default auth", Default().Registrar.Auth, true},
		{"Default dev mode", Default().DevMode, false},
		{"Embedded auth", Embedded().Registrar.Auth, false},
		{"Embedded dev mode", Embedded().DevMode, true},
		{"Embedded listens on loopback only", Embedded().Listen, Listen{
			HTTP: addr("127.0.0.1:8080"), UDP: addr("127.0.0.1:5060"), TCP: addr("127.0.0.1:5060"),
			Admin: addr("127.0.0.1:9060"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %+v, want %+v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadFull(t *testing.T) {
	want := &Config{
		Mode: ModeRegistrar,
		Listen: Listen{
			HTTPS: addr("0.0.0.0:8443"), UDP: addr("0.0.0.0:5060"), TCP: addr("0.0.0.0:5060"), TLS: addr("0.0.0.0:5061"),
			Admin: addr("10.0.0.7:9061"),
		},
		Admin: Admin{TokenFile: "/etc/switchboard/admin.token"},
		TLS:   TLS{CertFile: "/etc/switchboard/cert.pem", KeyFile: "/etc/switchboard/key.pem"},
		SIP: SIP{
			AdvertiseHost: "sip.example.com", Domain: "example.com",
			T1: 250 * time.Millisecond, UserAgent: "switchboard-test",
		},
		WebSocket: WebSocket{
			Path:             "/sip",
			AllowedOrigins:   []string{"https://phone.example.com", "http://localhost:3000"},
			HandshakeTimeout: 3 * time.Second,
			MaxMessageSize:   131072,
			PingInterval:     20 * time.Second,
			IdleTimeout:      time.Minute,
			WriteTimeout:     5 * time.Second,
		},
		Limits: Limits{
			MaxMessageSize: 32768, MaxHeaders: 64, MaxVia: 8,
			MaxConnections: 5000, MaxConnectionsPerIP: 50, RequestsPerSecondPerIP: 100.5,
			FirstMessageTimeout: 3 * time.Second, IdleTimeout: 30 * time.Minute,
			CallsPerUser: 3, CallRatePerUser: 0.5, MaxCallDuration: 2 * time.Hour,
		},
		Security: Security{
			TrustedNetworks: []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32"),
			},
			StripHeaders: []string{"X-Tenant-ID", "X-Acme-*"},
		},
		Registrar: Registrar{
			Auth:  true,
			Realm: "example.com",
			Users: []User{
				{Username: "alice", Password: "wonderland"},
				{Username: "1001", Password: "s3cret"},
			},
			NonceTTL:         2 * time.Minute,
			MinExpires:       30 * time.Second,
			MaxExpires:       2 * time.Hour,
			DefaultExpires:   15 * time.Minute,
			MaxContacts:      4,
			DigestAlgorithms: []string{"MD5", "SHA-256"},
			Lockout:          Lockout{UserIPFailures: 3, IPFailures: 50, Window: 2 * time.Minute, Duration: time.Hour},
		},
		Upstream: Upstream{URI: uri(t, "sip:pbx.example.com:5070;transport=tcp"), Path: true},
		Routes: []Route{
			{Prefix: "00", Strip: 2, URI: uri(t, "sip:intl.trunk.example.net;transport=tls")},
			{Prefix: "9", Strip: 1, URI: uri(t, "sip:198.51.100.7:5060;transport=udp"),
				Allow: []string{"+44*", "+3531234567"}, Deny: []string{"+449*"}},
			{URI: uri(t, "sips:trunk.example.net")},
		},
		Media: Media{
			WebRTCListen: addr("0.0.0.0:10000"), PublicIPs: PublicIPs{IPs: []netip.Addr{ip("203.0.113.5")}}, RTPIP: ip("203.0.113.5"),
			RTPPorts: PortRange{30000, 30999}, Timeout: 30 * time.Second, AnchorAll: true, Workers: 2,
			MaxCalls: 800, RefuseOverload: false,
		},
		Services:  Services{Enabled: false, MaxDuration: 5 * time.Minute},
		Softphone: Softphone{Enabled: false},
		TURN: TURN{
			Enabled:   true,
			ListenUDP: netip.MustParseAddrPort("0.0.0.0:3478"), ListenTCP: netip.MustParseAddrPort("0.0.0.0:3478"),
			ListenTLS: netip.MustParseAddrPort("0.0.0.0:443"), TLSHost: "turn.example.com", Realm: "example.com",
			RelayIP: netip.MustParseAddr("10.0.0.7"), RelayPublicIP: netip.MustParseAddr("203.0.113.5"),
			RelayPortMin: 40000, RelayPortMax: 40999, SecretFile: "/etc/switchboard/turn.secret",
			CredentialTTL: 30 * time.Minute, CredentialsPerSecondPerIP: 0.5, AllocationLifetime: 5 * time.Minute,
			MaxAllocations: 200, MaxAllocationsPerUser: 6,
			AllowedPeers: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("192.0.2.9/32")},
		},
		Shutdown: Shutdown{DrainTimeout: 30 * time.Second},
		Log:      Log{Level: "debug", Format: "json"},
	}
	got, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatalf("got error:\n%v\nwant none", err)
	}
	got.src = source{} // where it came from is ReadFiles' business
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v,\nwant %+v", got, want)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		check   func(*Config) (got, want any) // run when the load succeeds
		wantErr []string                      // one substring per expected error, in order
	}{
		{
			name:    "empty file is Default, which needs users",
			yaml:    "",
			wantErr: []string{"switchboard.yaml: " + errAuthNoUsers},
		},
		{
			name: "empty file with auth off is Default otherwise",
			yaml: "registrar:\n  auth: false\n",
			check: func(c *Config) (any, any) {
				want := Default()
				want.Registrar.Auth = false
				return c, want
			},
		},
		{
			name: "auth omitted is on",
			yaml: "registrar:\n  users:\n    - {username: alice, password: pw}\n",
			check: func(c *Config) (any, any) {
				return c.Registrar.Auth, true
			},
		},
		{
			name:  "auth false is off",
			yaml:  "registrar:\n  auth: false\n",
			check: func(c *Config) (any, any) { return c.Registrar.Auth, false },
		},
		{
			name:  "dev mode stays off",
			yaml:  "registrar:\n  auth: false\n",
			check: func(c *Config) (any, any) { return c.DevMode, false },
		},
		{
			name:  "block left empty keeps defaults",
			yaml:  "registrar:\n  auth: false\nwebsocket:\n",
			check: func(c *Config) (any, any) { return c.WebSocket, Default().WebSocket },
		},
		{
			name:  "empty string disables a listener",
			yaml:  "registrar: {auth: false}\nlisten:\n  udp: \"\"\n",
			check: func(c *Config) (any, any) { return c.Listen.UDP, netip.AddrPort{} },
		},
		{
			name:  "empty host is all interfaces",
			yaml:  "registrar: {auth: false}\nsip: {advertise_host: 192.0.2.1}\nlisten:\n  tcp: \":5070\"\n",
			check: func(c *Config) (any, any) { return c.Listen.TCP, addr("0.0.0.0:5070") },
		},
		{
			name:  "ipv6 listen address",
			yaml:  "registrar: {auth: false}\nlisten:\n  udp: \"[::1]:5060\"\n",
			check: func(c *Config) (any, any) { return c.Listen.UDP, addr("[::1]:5060") },
		},
		{
			name:    "listen port out of range",
			yaml:    "registrar: {auth: false}\nlisten:\n  udp: 127.0.0.1:70000\n",
			wantErr: []string{`switchboard.yaml:3: listen.udp: port "70000" is not a number from 0 to 65535`},
		},
		{
			name:    "listen port by name",
			yaml:    "registrar: {auth: false}\nlisten:\n  udp: 127.0.0.1:sip\n",
			wantErr: []string{`switchboard.yaml:3: listen.udp: port "sip" is not a number`},
		},
		{
			name:    "listen host by name",
			yaml:    "registrar: {auth: false}\nlisten:\n  udp: localhost:5060\n",
			wantErr: []string{`switchboard.yaml:3: listen.udp: host "localhost" in "localhost:5060" is not an IP address`},
		},
		{
			name: "turn values",
			yaml: "registrar: {auth: false}\nturn:\n  enabled: true\n  listen_tls: 127.0.0.1:5349\n  allowed_peers: [10.0.0.5/8, \"0.0.0.0/0\"]\n  allocation_lifetime: 2h\n  relay_port_min: 100\n",
			wantErr: []string{
				`switchboard.yaml:4: turn.listen_tls: needs tls.cert_file and tls.key_file`,
				`switchboard.yaml:5: turn.allowed_peers[0]: "10.0.0.5/8" has bits set past its length`,
				`switchboard.yaml:5: turn.allowed_peers[1]: "0.0.0.0/0" allows every peer`,
				`switchboard.yaml:6: turn.allocation_lifetime: must be from 1m to 1h, got 2h`,
				`switchboard.yaml:7: turn.relay_port_min: the range 100-65535 must lie within 1024-65535`,
			},
		},
		{
			name:    "turn public with a loopback relay",
			yaml:    "registrar: {auth: false}\nsip: {advertise_host: turn.example.com}\nturn:\n  enabled: true\n  listen_udp: 0.0.0.0:3478\n",
			wantErr: []string{`turn.relay_ip: "127.0.0.1" is a loopback address, but TURN listens beyond this host`},
		},
		{
			name:    "turn tls_host",
			yaml:    "registrar: {auth: false}\nturn:\n  enabled: true\n  tls_host: 192.0.2.1\n",
			wantErr: []string{`switchboard.yaml:4: turn.tls_host: "192.0.2.1" is an IP address; Firefox needs a host name`},
		},
		{
			name:    "turn tls_host not a name",
			yaml:    "registrar: {auth: false}\nturn:\n  enabled: true\n  tls_host: turn.example.com:443\n",
			wantErr: []string{`switchboard.yaml:4: turn.tls_host: "turn.example.com:443" is not a host name`},
		},
		{
			name:    "turn tls_host without listen_tls",
			yaml:    "registrar: {auth: false}\nturn:\n  enabled: true\n  tls_host: turn.example.com\n",
			wantErr: []string{`switchboard.yaml:4: turn.tls_host: needs turn.listen_tls`},
		},
		{
			name:    "turn listener clash",
			yaml:    "registrar: {auth: false}\nturn:\n  enabled: true\n  listen_tcp: 127.0.0.1:5060\n  listen_udp: 127.0.0.1:10000\n",
			wantErr: []string{`switchboard.yaml:4: turn.listen_tcp: "127.0.0.1:5060" is already used by listen.tcp`, `switchboard.yaml:5: turn.listen_udp: "127.0.0.1:10000" is already used by media.webrtc_listen`},
		},
		{
			name: "media addresses",
			yaml: "registrar: {auth: false}\nmedia:\n  webrtc_listen: 127.0.0.1\n  public_ips: [203.0.113.5, nope]\n  rtp_ip: 10.0.0\n  rtp_port_max: 70000\n",
			wantErr: []string{
				`switchboard.yaml:3: media.webrtc_listen: "127.0.0.1" is not host:port`,
				`switchboard.yaml:4: media.public_ips[1]: "nope" is not an IP address`,
				`switchboard.yaml:5: media.rtp_ip: "10.0.0" is not an IP address`,
				`switchboard.yaml:6: media.rtp_port_max: cannot parse "70000" as a port number (0 to 65535)`,
			},
		},
		{
			name:  "public_ips auto",
			yaml:  "registrar: {auth: false}\nmedia:\n  webrtc_listen: 0.0.0.0:10001\n  public_ips: auto\n",
			check: func(c *Config) (any, any) { return c.Media.PublicIPs, PublicIPs{Auto: true} },
		},
		{
			name: "public_ips listed replace auto",
			yaml: "registrar: {auth: false}\nmedia:\n  public_ips: [203.0.113.5]\n",
			check: func(c *Config) (any, any) {
				return c.Media.PublicIPs, PublicIPs{IPs: []netip.Addr{ip("203.0.113.5")}}
			},
		},
		{
			name: "explicit webrtc_listen keeps its one candidate",
			yaml: "registrar: {auth: false}\nmedia:\n  webrtc_listen: 127.0.0.1:10000\n",
			check: func(c *Config) (any, any) {
				return []any{c.Media.WebRTCListen, c.Media.PublicIPs}, []any{addr("127.0.0.1:10000"), PublicIPs{Auto: true}}
			},
		},
		{
			name:    "public_ips neither auto nor a list",
			yaml:    "registrar: {auth: false}\nmedia:\n  public_ips: automatic\n",
			wantErr: []string{`switchboard.yaml:3: media.public_ips: expected "auto" or a list of IP addresses, got "automatic"`},
		},
		{
			name:    "public_ips empty on a wildcard",
			yaml:    "registrar: {auth: false}\nmedia:\n  webrtc_listen: 0.0.0.0:10000\n  public_ips: []\n",
			wantErr: []string{`switchboard.yaml:4: media.webrtc_listen listens on all interfaces`},
		},
		{
			name: "trusted networks",
			yaml: "registrar: {auth: false}\nsecurity:\n  trusted_networks: [10.0.0.0/8, \"::1\"]\n",
			check: func(c *Config) (any, any) {
				return c.Security.TrustedNetworks, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
			},
		},
		{
			name: "bad trusted networks",
			yaml: "registrar: {auth: false}\nsecurity:\n  trusted_networks:\n    - 10.0.0.5/24\n    - pbx.example.com\n    - 0.0.0.0/0\n",
			wantErr: []string{
				`switchboard.yaml:4: security.trusted_networks[0]: "10.0.0.5/24" has bits set past its length: write "10.0.0.0/24" for the network, or the address alone`,
				`switchboard.yaml:5: security.trusted_networks[1]: "pbx.example.com" is not a network like "10.0.0.0/24" or an IP address`,
				`switchboard.yaml:6: security.trusted_networks[2]: "0.0.0.0/0" trusts every address`,
			},
		},
		{
			name:  "rtp ports",
			yaml:  "registrar: {auth: false}\nmedia:\n  rtp_port_min: 40000\n  rtp_port_max: 40099\n",
			check: func(c *Config) (any, any) { return c.Media.RTPPorts, PortRange{40000, 40099} },
		},
		{
			name: "upstream uris",
			yaml: "mode: upstream\nupstream:\n  uri: \"sip:pbx;transport=sctp\"\nroutes:\n  - {prefix: \"1\", uri: \"sip:\"}\n  - uri: sip:c.example.com:70000;transport=ws\n",
			wantErr: []string{
				`switchboard.yaml:3: upstream.uri: transport "sctp" in "sip:pbx;transport=sctp" is not udp, tcp or tls`,
				`switchboard.yaml:5: routes[0].uri: "sip:" is not a sip: or sips: URI`,
				`switchboard.yaml:6: routes[1].uri: port 70000 in "sip:c.example.com:70000;transport=ws" is not from 0 to 65535`,
				`switchboard.yaml:6: routes[1].uri: transport "ws" in "sip:c.example.com:70000;transport=ws" is not udp, tcp or tls`,
			},
		},
		{
			name: "bad route numbers",
			yaml: "registrar: {auth: false}\nroutes:\n  - prefix: \"9a\"\n    uri: sip:192.0.2.1\n    allow: [\"+1*\", \"+1-900\"]\n    deny:\n      - \"*44\"\n      - \"\"\n",
			wantErr: []string{
				`switchboard.yaml:3: routes[0].prefix: "9a" is not the start of a number: an optional "+" and digits, like "+44" or "9"`,
				`switchboard.yaml:5: routes[0].allow[1]: "+1-900" is not a number like "+15551234" or a prefix like "+1900*"`,
				`switchboard.yaml:7: routes[0].deny[0]: "*44" is not a number like "+15551234" or a prefix like "+1900*"`,
				`switchboard.yaml:8: routes[0].deny[1]: "" is not a number like "+15551234" or a prefix like "+1900*"`,
			},
		},
		{
			name: "per-user limits",
			yaml: "registrar: {auth: false, max_contacts: 0}\nlimits:\n  calls_per_user: -1\n  call_rate_per_user: -0.5\n  max_call_duration: -1s\n",
			wantErr: []string{
				`switchboard.yaml:1: registrar.max_contacts: must be from 1 to 1000, got 0`,
				`switchboard.yaml:3: limits.calls_per_user: must be 0 (no limit) or a positive number, got -1`,
				`switchboard.yaml:4: limits.call_rate_per_user: must be 0 (off) or a positive number, got -0.5`,
				`switchboard.yaml:5: limits.max_call_duration: must not be negative, got -1s`,
			},
		},
		{
			name: "limits off",
			yaml: "registrar: {auth: false}\nlimits: {calls_per_user: 0, call_rate_per_user: 0, max_call_duration: 0s}\n",
			check: func(c *Config) (any, any) {
				return [3]any{c.Limits.CallsPerUser, c.Limits.CallRatePerUser, c.Limits.MaxCallDuration}, [3]any{0, 0.0, time.Duration(0)}
			},
		},
		{
			name:  "upstream uri transport in capitals",
			yaml:  "mode: upstream\nupstream:\n  uri: sips:pbx;transport=TLS\n",
			check: func(c *Config) (any, any) { return c.Upstream.URI, uri(t, "sips:pbx;transport=TLS") },
		},
		{
			name: "merge key",
			yaml: "registrar: {auth: false}\n" +
				"routes:\n" +
				"  - &t {prefix: \"9\", strip: 1, uri: \"sip:10.0.0.1\"}\n" +
				"  - <<: *t\n" +
				"    prefix: \"8\"\n",
			check: func(c *Config) (any, any) {
				return c.Routes[1], Route{Prefix: "8", Strip: 1, URI: uri(t, "sip:10.0.0.1")}
			},
		},
		{
			name:    "unknown key",
			yaml:    "registrar: {auth: false}\nwebsocket:\n  path: /ws\n  max_mesage_size: 1\n",
			wantErr: []string{`switchboard.yaml:4: unknown key "max_mesage_size" in websocket (did you mean "max_message_size"?)`},
		},
		{
			name:    "unknown key in a list element",
			yaml:    "registrar:\n  users:\n    - username: a\n      pasword: b\n",
			wantErr: []string{`switchboard.yaml:3: registrar.users[0].password: must not be empty`, `switchboard.yaml:4: unknown key "pasword" in registrar.users[0] (did you mean "password"?)`},
		},
		{
			name:    "dev mode cannot be set",
			yaml:    "dev_mode: true\nregistrar: {auth: false}\n",
			wantErr: []string{`switchboard.yaml:1: unknown key "dev_mode" at the top level`},
		},
		{
			name:    "bad duration",
			yaml:    "websocket:\n  idle_timeout: abc\nregistrar: {auth: false}\n",
			wantErr: []string{`switchboard.yaml:2: websocket.idle_timeout: cannot parse "abc" as a duration`},
		},
		{
			name:    "duration without unit",
			yaml:    "websocket:\n  ping_interval: 30\nregistrar: {auth: false}\n",
			wantErr: []string{`switchboard.yaml:2: websocket.ping_interval: cannot parse "30" as a duration (add a unit, like "30s")`},
		},
		{
			name:    "bad number",
			yaml:    "limits:\n  max_via: lots\nregistrar: {auth: false}\n",
			wantErr: []string{`switchboard.yaml:2: limits.max_via: cannot parse "lots" as a whole number`},
		},
		{
			name:    "fraction where a whole number belongs",
			yaml:    "limits:\n  max_via: 1.5\nregistrar: {auth: false}\n",
			wantErr: []string{`switchboard.yaml:2: limits.max_via: cannot parse "1.5" as a whole number`},
		},
		{
			name: "lockout counts and durations",
			yaml: "registrar:\n  auth: false\n  lockout:\n    user_ip_failures: -1\n    ip_failures: 0\n    window: 0s\n    duration: -1m\n",
			wantErr: []string{
				`switchboard.yaml:4: registrar.lockout.user_ip_failures: must be 0 (off) or a positive number, got -1`,
				`switchboard.yaml:6: registrar.lockout.window: must be positive, got 0s`,
				`switchboard.yaml:7: registrar.lockout.duration: must be positive, got -1m`,
			},
		},
		{
			name:  "lockout scope off",
			yaml:  "registrar:\n  auth: false\n  lockout: {user_failures: 0}\n",
			check: func(c *Config) (any, any) { return c.Registrar.Lockout.UserFailures, 0 },
		},
		{
			name:    "bad value is not also reported by Validate",
			yaml:    "registrar:\n  auth: maybe\n",
			wantErr: []string{`switchboard.yaml:2: registrar.auth: cannot parse "maybe" as true or false`},
		},
		{
			name:    "list where a block belongs",
			yaml:    "listen: [a, b]\nregistrar: {auth: false}\n",
			wantErr: []string{`switchboard.yaml:1: listen: expected keys and values, got a list`},
		},
		{
			name:    "block where a string belongs",
			yaml:    "mode: {a: b}\nregistrar: {auth: false}\n",
			wantErr: []string{`switchboard.yaml:1: mode: expected a string, got keys and values`},
		},
		{
			name:    "key without value",
			yaml:    "listen:\n  http:\nregistrar: {auth: false}\n",
			wantErr: []string{`switchboard.yaml:2: listen.http: has no value (write "" for an empty value, or remove the key to keep the default)`},
		},
		{
			name:    "key set twice",
			yaml:    "log:\n  level: debug\n  level: warn\nregistrar: {auth: false}\n",
			wantErr: []string{`switchboard.yaml:3: log.level: set twice (first on line 2)`},
		},
		{
			name:    "syntax error",
			yaml:    "log:\n  level: debug\n   format: json\n",
			wantErr: []string{`switchboard.yaml:3: mapping values are not allowed`},
		},
		{
			name:    "two documents",
			yaml:    "registrar: {auth: false}\n---\nmode: upstream\n",
			wantErr: []string{`switchboard.yaml:2: a second YAML document`},
		},
		{
			name:    "auth on without users, nothing about it in the file",
			yaml:    "log:\n  level: debug\n",
			wantErr: []string{"switchboard.yaml: " + errAuthNoUsers},
		},
		{
			name:    "auth on without users points at the registrar block",
			yaml:    "registrar:\n  realm: x\n",
			wantErr: []string{"switchboard.yaml:1: " + errAuthNoUsers},
		},
		{
			name: "every problem at once, in file order",
			yaml: `mode: proxy
listen:
  http: "8080"
websocket:
  path: ws
  ping_interval: 1m
  idle_timeout: 30s
  max_mesage_size: 5
registrar:
  auth: false
routes:
  - prefix: "9"
    uri: "sip:10.0.0.1"
  - uri: "http://example.com"
log:
  level: loud
`,
			wantErr: []string{
				`switchboard.yaml:1: mode: "proxy" is not one of registrar, upstream`,
				`switchboard.yaml:3: listen.http: "8080" is not host:port`,
				`switchboard.yaml:5: websocket.path: "ws" must start with "/"`,
				`switchboard.yaml:7: websocket.idle_timeout: must be longer than websocket.ping_interval (1m), got 30s`,
				`switchboard.yaml:8: unknown key "max_mesage_size" in websocket`,
				`switchboard.yaml:14: routes[1].uri: "http://example.com" is not a sip: or sips: URI`,
				`switchboard.yaml:16: log.level: "loud" is not one of debug, info, warn, error`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, tt.yaml))
			checkErrors(t, err, tt.wantErr)
			if err != nil {
				if c != nil {
					t.Errorf("got config %+v with the error, want nil", c)
				}
				return
			}
			c.src = source{}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr []string
	}{
		{"upstream mode needs a uri", func(c *Config) { c.Mode = ModeUpstream },
			[]string{"upstream.uri: is required in upstream mode"}},
		{"upstream mode needs no users", func(c *Config) {
			c.Mode = ModeUpstream
			c.Upstream.URI = uri(t, "sip:127.0.0.1:5070;transport=udp")
		}, nil},
		{"negative media workers", func(c *Config) { c.Media.Workers = -1 },
			[]string{"media.workers: -1 is not between 0 (automatic) and 256"}},
		{"negative media max_calls", func(c *Config) { c.Media.MaxCalls = -1 },
			[]string{"media.max_calls: -1 is negative (0 sets no ceiling)"}},
		{"listen port 0 is fine", func(c *Config) { c.Listen.HTTP = addr("127.0.0.1:0"); c.Listen.TCP = addr("127.0.0.1:0") }, nil},
		{"listen ipv6", func(c *Config) { c.Listen.UDP = addr("[::1]:5060") }, nil},
		{"https without certificate", func(c *Config) { c.Listen.HTTPS = addr("127.0.0.1:8443") },
			[]string{"listen.https: needs tls.cert_file and tls.key_file"}},
		{"tls without key", func(c *Config) { c.Listen.TLS = addr("127.0.0.1:5061"); c.TLS.CertFile = "c.pem" },
			[]string{"listen.tls: needs tls.cert_file and tls.key_file", "tls.key_file: is required when tls.cert_file is set"}},
		{"every listener off", func(c *Config) { c.Listen = Listen{} },
			[]string{"listen: every listener is disabled"}},
		{"only the admin listener", func(c *Config) { c.Listen = Listen{Admin: addr("127.0.0.1:9060")} },
			[]string{"listen: every listener is disabled"}},
		{"admin off", func(c *Config) { c.Listen.Admin = netip.AddrPort{} }, nil},
		{"admin on loopback without token", func(c *Config) { c.Listen.Admin = addr("[::1]:9060") }, nil},
		{"admin on all interfaces without token", func(c *Config) { c.Listen.Admin = addr("0.0.0.0:9060") },
			[]string{`listen.admin: "0.0.0.0:9060" is reachable from other hosts, and serves every call's addresses: set admin.token_file, or listen on a loopback address`}},
		{"admin on a private address without token", func(c *Config) { c.Listen.Admin = addr("10.0.0.7:9060") },
			[]string{`listen.admin: "10.0.0.7:9060" is reachable from other hosts`}},
		{"admin on all interfaces with token", func(c *Config) {
			c.Listen.Admin = addr("0.0.0.0:9060")
			c.Admin.TokenFile = "/etc/switchboard/admin.token"
		}, nil},
		{"admin on the http address", func(c *Config) { c.Listen.Admin = c.Listen.HTTP },
			[]string{`listen.admin: "127.0.0.1:8080" is already used by listen.http`}},
		{"two TCP listeners on one address", func(c *Config) { c.Listen.HTTP = c.Listen.TCP },
			[]string{`listen.tcp: "127.0.0.1:5060" is already used by listen.http`}},
		{"wildcard hosts need advertise_host", func(c *Config) {
			c.Listen.HTTP = addr("0.0.0.0:8080")
			c.Listen.UDP = addr("0.0.0.0:5060")
			c.Listen.TCP = addr("[::]:5060")
		}, []string{
			`listen.http: "0.0.0.0:8080" listens on all interfaces, so sip.advertise_host must name the address peers use`,
			`listen.udp: "0.0.0.0:5060" listens on all interfaces`,
			`listen.tcp: "[::]:5060" listens on all interfaces`,
		}},
		{"wildcard with advertise_host", func(c *Config) {
			c.Listen.UDP = addr("0.0.0.0:5060")
			c.SIP.AdvertiseHost = "203.0.113.9"
		}, nil},
		{"advertise_host with port", func(c *Config) { c.SIP.AdvertiseHost = "sip.example.com:5060" },
			[]string{`sip.advertise_host: "sip.example.com:5060" is not an IP address or host name`}},
		{"advertise_host wildcard", func(c *Config) { c.SIP.AdvertiseHost = "0.0.0.0" },
			[]string{`sip.advertise_host: "0.0.0.0" is not an address peers can reach`}},
		{"t1 too short", func(c *Config) { c.SIP.T1 = 50 * time.Millisecond },
			[]string{"sip.t1: must be from 100ms to 5s, got 50ms"}},
		{"user agent with newline", func(c *Config) { c.SIP.UserAgent = "x\r\nVia: evil" },
			[]string{"sip.user_agent: must not contain control characters"}},
		{"websocket message size", func(c *Config) { c.WebSocket.MaxMessageSize = 100 },
			[]string{"websocket.max_message_size: must be from 1024 to 16777216, got 100"}},
		{"idle equal to ping", func(c *Config) { c.WebSocket.IdleTimeout = c.WebSocket.PingInterval },
			[]string{"websocket.idle_timeout: must be longer than websocket.ping_interval (30s), got 30s"}},
		{"idle shorter than ping, pings off", func(c *Config) {
			c.WebSocket.PingInterval = 0
			c.WebSocket.IdleTimeout = time.Second
		}, nil},
		{"origins", func(c *Config) {
			c.WebSocket.AllowedOrigins = []string{"*", "https://phone.example.com", "https://phone.example.com/", "https://Phone.example.com:443", "phone.example.com", "https://x.com/app"}
		}, []string{
			`websocket.allowed_origins[2]: "https://phone.example.com/" never matches; write it as browsers send it: "https://phone.example.com"`,
			`websocket.allowed_origins[3]: "https://Phone.example.com:443" never matches; write it as browsers send it: "https://phone.example.com"`,
			`websocket.allowed_origins[4]: "phone.example.com" is not an origin`,
			`websocket.allowed_origins[5]: "https://x.com/app" is not an origin`,
		}},
		{"limits", func(c *Config) {
			c.Limits.MaxMessageSize = 2 << 20
			c.Limits.MaxHeaders = 0
			c.Limits.RequestsPerSecondPerIP = -1
		}, []string{
			"limits.max_message_size: must be from 1024 to 1048576, got 2097152",
			"limits.max_headers: must be at least 1, got 0",
			"limits.requests_per_second_per_ip: must be 0 (off) or a positive number, got -1",
		}},
		{"rate limit off", func(c *Config) { c.Limits.RequestsPerSecondPerIP = 0 }, nil},
		{"strip headers", func(c *Config) {
			c.Security.StripHeaders = []string{"X-Tenant-ID", "x-acme-*", "P-Charging-*", "", "*", "X Tenant", "X-*-Y*", "Via", "c*", "CSEQ", "Record-*", "m"}
		}, []string{
			`security.strip_headers[3]: "" is not a header name like "X-Tenant-ID" or a prefix like "X-Acme-*"`,
			`security.strip_headers[4]: "*" is not a header name like "X-Tenant-ID" or a prefix like "X-Acme-*"`,
			`security.strip_headers[5]: "X Tenant" is not a header name like "X-Tenant-ID" or a prefix like "X-Acme-*"`,
			`security.strip_headers[6]: "X-*-Y*" is not a header name like "X-Tenant-ID" or a prefix like "X-Acme-*"`,
			`security.strip_headers[7]: "Via" would remove via, which switchboard needs`,
			`security.strip_headers[8]: "c*" would remove call-id, which switchboard needs`,
			`security.strip_headers[9]: "CSEQ" would remove cseq, which switchboard needs`,
			`security.strip_headers[10]: "Record-*" would remove record-route, which switchboard needs`,
			`security.strip_headers[11]: "m" would remove m, which switchboard needs`,
		}},
		{"users", func(c *Config) {
			c.Registrar.Users = []User{
				{Username: "alice", Password: "a"},
				{Username: "", Password: "b"},
				{Username: "alice", Password: ""},
				{Username: "bob@example.com", Password: "c"},
			}
		}, []string{
			"registrar.users[1].username: must not be empty",
			`registrar.users[2].username: "alice" is already used by registrar.users[0]`,
			"registrar.users[2].password: must not be empty",
			`registrar.users[3].username: "bob@example.com" must not contain`,
		}},
		{"realm with a quote", func(c *Config) { c.Registrar.Realm = `a"b` },
			[]string{`registrar.realm: must not contain '"' or '\'`}},
		{"expires order", func(c *Config) { c.Registrar.DefaultExpires = 2 * time.Hour },
			[]string{"registrar.default_expires: must be from registrar.min_expires (1m) to registrar.max_expires (1h), got 2h"}},
		{"min above max", func(c *Config) { c.Registrar.MinExpires = 2 * time.Hour },
			[]string{"registrar.min_expires: must not exceed registrar.max_expires (1h), got 2h"}},
		{"expires in fractions", func(c *Config) { c.Registrar.MinExpires = 1500 * time.Millisecond },
			[]string{"registrar.min_expires: must be a whole number of seconds, got 1.5s"}},
		{"routes", func(c *Config) {
			c.Routes = []Route{
				{Prefix: "9", Strip: -1, URI: uri(t, "sip:a.example.com")},
				{Prefix: "91", URI: uri(t, "sip:b.example.com")},
				{Prefix: "8"},
			}
		}, []string{
			"routes[0].strip: must not be negative, got -1",
			`routes[1].prefix: "91" is never used: routes[0] (prefix "9") comes first and matches it`,
			"routes[2].uri: is required",
		}},
		{"a route with allow or deny shadows nothing", func(c *Config) {
			c.Routes = []Route{
				{Prefix: "9", Allow: []string{"91*"}, URI: uri(t, "sip:a.example.com")},
				{Prefix: "9", Deny: []string{"+1900*"}, URI: uri(t, "sip:b.example.com")},
				{Prefix: "+", URI: uri(t, "sip:c.example.com")},
			}
		}, nil},
		{"media", func(c *Config) {
			c.Media.WebRTCListen = addr("0.0.0.0:10000")
			c.Media.PublicIPs = PublicIPs{}
			c.Media.RTPIP = netip.Addr{}
			c.Media.RTPPorts = PortRange{1000, 1002}
		}, []string{
			`media.rtp_ip: "" is not a usable IP address`,
			"media.webrtc_listen listens on all interfaces",
			"media.rtp_port_min: the range 1000-1002 must lie within 1024-65535",
		}},
		{"media off", func(c *Config) {
			c.Media.WebRTCListen = netip.AddrPort{}
			c.Media.RTPIP = netip.Addr{}
			c.Services.Enabled = false
		}, nil},
		{"services use rtp_ip", func(c *Config) {
			c.Media.WebRTCListen = netip.AddrPort{}
			c.Media.RTPIP = ip("0.0.0.0")
		}, []string{`media.rtp_ip: "0.0.0.0" is not a usable IP address`}},
		{"log", func(c *Config) { c.Log = Log{Level: "INFO", Format: "xml"} }, []string{
			`log.level: "INFO" is not one of debug, info, warn, error`,
			`log.format: "xml" is not one of text, json`,
		}},
		{"services max duration zero", func(c *Config) { c.Services.MaxDuration = 0 },
			[]string{"services.max_duration: must be positive, got 0s"}},
		{"negative drain", func(c *Config) { c.Shutdown.DrainTimeout = -time.Second },
			[]string{"shutdown.drain_timeout: must not be negative, got -1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Embedded()
			tt.edit(c)
			checkErrors(t, c.Validate(), tt.wantErr)
		})
	}
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  FieldError
		want string
	}{
		{"file and line", FieldError{File: "s.yaml", Line: 4, Key: "k", Msg: "k: bad"}, "s.yaml:4: k: bad"},
		{"file only", FieldError{File: "s.yaml", Key: "k", Msg: "k: bad"}, "s.yaml: k: bad"},
		{"no file", FieldError{Key: "k", Msg: "k: bad"}, "k: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	upstream := Default()
	upstream.Mode = ModeUpstream
	tests := []struct {
		name string
		cfg  *Config
		want string
	}{
		{"default", Default(), "mode=registrar listen.http=127.0.0.1:8080 listen.udp=127.0.0.1:5060 listen.tcp=127.0.0.1:5060 listen.admin=127.0.0.1:9060 auth=on"},
		{"embedded", Embedded(), "mode=registrar listen.http=127.0.0.1:8080 listen.udp=127.0.0.1:5060 listen.tcp=127.0.0.1:5060 listen.admin=127.0.0.1:9060 auth=off dev_mode=true"},
		{"upstream", upstream, "mode=upstream listen.http=127.0.0.1:8080 listen.udp=127.0.0.1:5060 listen.tcp=127.0.0.1:5060 listen.admin=127.0.0.1:9060 auth=upstream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			h := slog.NewTextHandler(&b, &slog.HandlerOptions{
				ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
					if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
						return slog.Attr{}
					}
					return a
				},
			})
			slog.New(h).Info("", tt.cfg.Summary()...)
			if got := strings.TrimSpace(b.String()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// docKey is one YAML key of Config, for the documentation tests.
type docKey struct {
	path string
	// def is the key's default, invalid for keys inside list elements,
	// which have no default of their own.
	def reflect.Value
}

// configKeys returns every YAML key of Config: leaves and lists, not the
// blocks that group them. Keys of list elements are written "routes[].uri".
func configKeys() []docKey {
	var keys []docKey
	var walk func(v reflect.Value, t reflect.Type, prefix string)
	walk = func(v reflect.Value, t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := f.Tag.Get("yaml")
			if name == "-" || !f.IsExported() {
				continue
			}
			path := prefix + name
			var fv reflect.Value
			if v.IsValid() {
				fv = v.Field(i)
			}
			_, typed := valueTypes[f.Type]
			switch {
			case name == ",inline":
				walk(fv, f.Type, prefix)
				continue
			case f.Type.Kind() == reflect.Struct && !typed && f.Type != publicIPsType:
				walk(fv, f.Type, path+".")
				continue
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct && valueTypes[f.Type.Elem()].parse == nil:
				walk(reflect.Value{}, f.Type.Elem(), path+"[].")
			}
			keys = append(keys, docKey{path: path, def: fv})
		}
	}
	walk(reflect.ValueOf(Default()).Elem(), reflect.TypeFor[Config](), "")
	return keys
}

// docDefaultOK reports whether cell, a Default column of docs/config.md,
// states the default def.
func docDefaultOK(cell string, def reflect.Value) bool {
	if !def.IsValid() {
		return cell == "—"
	}
	s, ok1 := strings.CutPrefix(cell, "`")
	s, ok2 := strings.CutSuffix(s, "`")
	if !ok1 || !ok2 {
		return false
	}
	_, typed := valueTypes[def.Type()]
	switch {
	case def.Type() == publicIPsType:
		return s == strconv.Quote(def.Interface().(PublicIPs).String())
	case def.Type() == durationType:
		d, err := time.ParseDuration(s)
		return err == nil && d == time.Duration(def.Int())
	case typed && def.IsZero():
		return s == `""`
	case typed:
		return s == strconv.Quote(fmt.Sprint(def.Interface()))
	case def.Kind() == reflect.String:
		return s == strconv.Quote(def.String())
	case def.Kind() == reflect.Slice && def.Len() == 0:
		return s == "[]"
	case def.Kind() == reflect.Slice:
		return s == fmt.Sprint(def.Interface()) // e.g. [SHA-256 MD5]
	}
	return s == fmt.Sprint(def.Interface())
}

// docRow matches a row of a key table in docs/config.md: key and default.
var docRow = regexp.MustCompile("(?m)^\\| `([a-z0-9_.\\[\\]]+)` \\| ([^|]*) \\|")

// readDoc reads docs/config.md and returns it with the Default column of
// every key table row, by key.
func readDoc(t *testing.T) (doc string, rows map[string]string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	rows = map[string]string{}
	for _, m := range docRow.FindAllStringSubmatch(string(b), -1) {
		rows[m[1]] = strings.TrimSpace(m[2])
	}
	return string(b), rows
}

func TestDocsCoverEveryKey(t *testing.T) {
	_, rows := readDoc(t)
	known := map[string]bool{}
	for _, k := range configKeys() {
		known[k.path] = true
		t.Run(k.path, func(t *testing.T) {
			got, ok := rows[k.path]
			if !ok {
				t.Fatalf("docs/config.md has no table row for %q", k.path)
			}
			if !docDefaultOK(got, k.def) {
				want := "—"
				if k.def.IsValid() {
					want = fmt.Sprintf("`%v`", k.def.Interface())
				}
				t.Errorf("Default column: got %s, want %s", got, want)
			}
		})
	}
	for key := range rows {
		if !known[key] {
			t.Errorf("docs/config.md documents %q, which is not a key of Config", key)
		}
	}
}

func TestDocsExamplesLoad(t *testing.T) {
	doc, _ := readDoc(t)
	_, examples, ok := strings.Cut(doc, "## Complete example")
	if !ok {
		t.Fatal(`docs/config.md has no "## Complete example" section`)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(examples, -1)
	if len(blocks) == 0 {
		t.Fatal("docs/config.md has no yaml example")
	}
	for i, b := range blocks {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if _, err := Load(writeConfig(t, b[1])); err != nil {
				t.Errorf("got error:\n%v\nwant none", err)
			}
		})
	}
}
