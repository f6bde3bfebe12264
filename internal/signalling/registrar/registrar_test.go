package registrar

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func testConfig() Config {
	return Config{
		Domain:         "example.com",
		MinExpires:     60 * time.Second,
		MaxExpires:     1800 * time.Second,
		DefaultExpires: 600 * time.Second,
		MaxContacts:    3,
	}
}

// newTestRegistrar returns a Registrar on clk's time whose unset Config
// fields hold the values a config file would give them: realm
// "switchboard", a 5m nonce TTL, SHA-256 and MD5, registrations from 60s
// to 1h, 1h when the REGISTER asks for none.
func newTestRegistrar(cfg Config, clk *fakeClock) *Registrar {
	cfg.Realm = cmp.Or(cfg.Realm, cfg.Domain, "switchboard")
	cfg.NonceTTL = cmp.Or(cfg.NonceTTL, 5*time.Minute)
	if cfg.DigestAlgorithms == nil {
		cfg.DigestAlgorithms = []string{AlgSHA256, AlgMD5}
	}
	cfg.MinExpires = cmp.Or(cfg.MinExpires, 60*time.Second)
	cfg.MaxExpires = max(cmp.Or(cfg.MaxExpires, time.Hour), cfg.MinExpires)
	cfg.DefaultExpires = min(max(cmp.Or(cfg.DefaultExpires, time.Hour), cfg.MinExpires), cfg.MaxExpires)
	return New(cfg, Deps{Now: clk.Now})
}

const (
	contactA = "Contact: <sip:alice@192.0.2.10:5060>"
	contactB = "Contact: <sip:alice@192.0.2.20:5060>"
	// JsSIP-style outbound contacts: same instance, two reconnections.
	outboundX1 = `Contact: <sip:x1@a.invalid;transport=ws;ob>;+sip.instance="<urn:uuid:6f3c>";reg-id=1`
	outboundX2 = `Contact: <sip:x2@b.invalid;transport=ws;ob>;+sip.instance="<urn:uuid:6f3c>";reg-id=1`
)

func TestRegister(t *testing.T) {
	type tc struct {
		name    string
		before  []*sip.Request // each must be answered 200, on flowA
		advance time.Duration  // clock step between before and req
		req     *sip.Request
		flow    Flow // default flowA

		wantCode     int
		wantReason   string // default: not checked
		wantUser     string
		wantContacts []string          // Contact values of the response; nil: not checked
		wantHeaders  map[string]string // header values joined by "|"; "" means absent
		wantBindings []string          // Lookup("alice@example.com") contact URIs afterwards; nil: not checked
		wantFlow     string            // the first binding's flow ID, if set
	}
	tests := []tc{{
		name:         "new binding takes the Expires header",
		req:          register(t, "c1", 1, contactA, "Expires: 300"),
		wantCode:     200,
		wantUser:     "alice",
		wantContacts: []string{"<sip:alice@192.0.2.10:5060>;expires=300"},
		wantBindings: []string{"sip:alice@192.0.2.10:5060"},
	}, {
		name:         "expires parameter beats the Expires header",
		req:          register(t, "c1", 1, contactA+";expires=120", "Expires: 300"),
		wantCode:     200,
		wantContacts: []string{"<sip:alice@192.0.2.10:5060>;expires=120"},
	}, {
		name:         "no expires at all takes the default",
		req:          register(t, "c1", 1, contactA),
		wantCode:     200,
		wantContacts: []string{"<sip:alice@192.0.2.10:5060>;expires=600"},
	}, {
		name:         "longer than MaxExpires is clamped",
		req:          register(t, "c1", 1, contactA+";expires=7200"),
		wantCode:     200,
		wantContacts: []string{"<sip:alice@192.0.2.10:5060>;expires=1800"},
	}, {
		name:         "malformed expires reads as 3600, then clamped",
		req:          register(t, "c1", 1, contactA+";expires=soon"),
		wantCode:     200,
		wantContacts: []string{"<sip:alice@192.0.2.10:5060>;expires=1800"},
	}, {
		name:         "shorter than MinExpires is 423 with Min-Expires",
		before:       []*sip.Request{register(t, "c1", 1, contactA)},
		req:          register(t, "c1", 2, contactB+";expires=30"),
		wantCode:     423,
		wantReason:   "Interval Too Brief",
		wantHeaders:  map[string]string{"Min-Expires": "60"},
		wantBindings: []string{"sip:alice@192.0.2.10:5060"},
	}, {
		name:         "423 leaves the request's other contacts unregistered",
		req:          register(t, "c1", 1, contactA, contactB+";expires=30"),
		wantCode:     423,
		wantBindings: []string{},
	}, {
		name:         "refresh with a higher CSeq",
		before:       []*sip.Request{register(t, "c1", 1, contactA, "Expires: 300")},
		advance:      100 * time.Second,
		req:          register(t, "c1", 2, contactA, "Expires: 300"),
		wantCode:     200,
		wantContacts: []string{"<sip:alice@192.0.2.10:5060>;expires=300"},
	}, {
		name:         "query without Contact lists the bindings",
		before:       []*sip.Request{register(t, "c1", 1, contactA, "Expires: 300")},
		advance:      100 * time.Second,
		req:          register(t, "c9", 1),
		wantCode:     200,
		wantUser:     "alice",
		wantContacts: []string{"<sip:alice@192.0.2.10:5060>;expires=200"},
	}, {
		name:         "expires=0 removes that binding only",
		before:       []*sip.Request{register(t, "c1", 1, contactA, contactB)},
		req:          register(t, "c1", 2, contactA+";expires=0"),
		wantCode:     200,
		wantContacts: []string{"<sip:alice@192.0.2.20:5060>;expires=600"},
		wantBindings: []string{"sip:alice@192.0.2.20:5060"},
	}, {
		name:         "Expires: 0 removes the listed binding",
		before:       []*sip.Request{register(t, "c1", 1, contactA, contactB)},
		req:          register(t, "c1", 2, contactB, "Expires: 0"),
		wantCode:     200,
		wantBindings: []string{"sip:alice@192.0.2.10:5060"},
	}, {
		name:         "removing an unknown binding is fine",
		req:          register(t, "c1", 1, contactA, "Expires: 0"),
		wantCode:     200,
		wantContacts: []string{},
	}, {
		name:         "star with Expires: 0 removes everything",
		before:       []*sip.Request{register(t, "c1", 1, contactA), register(t, "c2", 1, contactB)},
		req:          register(t, "c3", 1, "Contact: *", "Expires: 0"),
		wantCode:     200,
		wantContacts: []string{},
		wantBindings: []string{},
	}, {
		name:         "star spares a binding its own Call-ID made later",
		before:       []*sip.Request{register(t, "c1", 5, contactA), register(t, "c2", 1, contactB)},
		req:          register(t, "c1", 4, "Contact: *", "Expires: 0"),
		wantCode:     200,
		wantBindings: []string{"sip:alice@192.0.2.10:5060"},
	}, {
		name:       "star needs Expires: 0",
		req:        register(t, "c1", 1, "Contact: *", "Expires: 10"),
		wantCode:   400,
		wantReason: "Bad Request (Contact * needs Expires: 0 and no other Contact)",
	}, {
		name:     "star needs an Expires header",
		req:      register(t, "c1", 1, "Contact: *"),
		wantCode: 400,
	}, {
		name:         "star cannot come with another contact",
		before:       []*sip.Request{register(t, "c1", 1, contactA)},
		req:          register(t, "c1", 2, "Contact: *", contactB, "Expires: 0"),
		wantCode:     400,
		wantBindings: []string{"sip:alice@192.0.2.10:5060"},
	}, {
		name:         "same Call-ID with a lower CSeq leaves the binding alone",
		before:       []*sip.Request{register(t, "c1", 5, contactA, "Expires: 300")},
		req:          register(t, "c1", 4, contactA, "Expires: 900"),
		wantCode:     200,
		wantContacts: []string{"<sip:alice@192.0.2.10:5060>;expires=300"},
	}, {
		name:         "same Call-ID and CSeq cannot remove the binding",
		before:       []*sip.Request{register(t, "c1", 5, contactA, "Expires: 300")},
		req:          register(t, "c1", 5, contactA, "Expires: 0"),
		wantCode:     200,
		wantContacts: []string{"<sip:alice@192.0.2.10:5060>;expires=300"},
	}, {
		name:         "another Call-ID replaces the binding whatever its CSeq",
		before:       []*sip.Request{register(t, "c1", 5, contactA, "Expires: 300")},
		req:          register(t, "c2", 1, contactA, "Expires: 900"),
		flow:         flowB,
		wantCode:     200,
		wantContacts: []string{"<sip:alice@192.0.2.10:5060>;expires=900"},
		wantFlow:     flowB.ID,
	}, {
		name:         "contact URI parameters do not make a new binding",
		before:       []*sip.Request{register(t, "c1", 1, contactA)},
		req:          register(t, "c1", 2, "Contact: <sip:alice@192.0.2.10:5060;transport=tcp>"),
		wantCode:     200,
		wantBindings: []string{"sip:alice@192.0.2.10:5060;transport=tcp"},
	}, {
		name:         "same instance and reg-id replace the binding from another flow",
		before:       []*sip.Request{register(t, "c1", 1, outboundX1, "Supported: outbound")},
		req:          register(t, "c2", 1, outboundX2, "Supported: outbound"),
		flow:         flowB,
		wantCode:     200,
		wantContacts: []string{`<sip:x2@b.invalid;transport=ws;ob>;+sip.instance="<urn:uuid:6f3c>";reg-id=1;expires=600`},
		wantHeaders:  map[string]string{"Require": "outbound"},
		wantBindings: []string{"sip:x2@b.invalid;transport=ws;ob"},
		wantFlow:     flowB.ID,
	}, {
		name:         "same instance with another reg-id is a second flow",
		before:       []*sip.Request{register(t, "c1", 1, outboundX1, "Supported: outbound")},
		req:          register(t, "c1", 2, strings.Replace(outboundX2, "reg-id=1", "reg-id=2", 1), "Supported: outbound"),
		flow:         flowB,
		wantCode:     200,
		wantBindings: []string{"sip:x2@b.invalid;transport=ws;ob", "sip:x1@a.invalid;transport=ws;ob"},
	}, {
		name:        "ob in the Contact URI is enough for outbound",
		req:         register(t, "c1", 1, outboundX1),
		wantCode:    200,
		wantHeaders: map[string]string{"Require": "outbound"},
	}, {
		name:        "instance and reg-id without outbound support get no Require",
		req:         register(t, "c1", 1, `Contact: <sip:x1@a.invalid>;+sip.instance="<urn:uuid:6f3c>";reg-id=1`),
		wantCode:    200,
		wantHeaders: map[string]string{"Require": ""},
	}, {
		name:        "Path is echoed when the UA supports path",
		req:         register(t, "c1", 1, contactA, "Path: <sip:edge1.example.net;lr>", "Path: <sip:edge2.example.net;lr>", "Supported: path, outbound"),
		wantCode:    200,
		wantHeaders: map[string]string{"Path": "<sip:edge1.example.net;lr>|<sip:edge2.example.net;lr>"},
	}, {
		name:        "Path is not echoed without Supported: path",
		req:         register(t, "c1", 1, contactA, "Path: <sip:edge1.example.net;lr>"),
		wantCode:    200,
		wantHeaders: map[string]string{"Path": ""},
	}, {
		name:       "To without a user is 400",
		req:        register(t, "c1", 1, "To: <sip:example.com>", contactA),
		wantCode:   400,
		wantReason: "Bad Request (To has no user)",
	}, {
		name:       "To with a tel URI is 400",
		req:        register(t, "c1", 1, "To: <tel:+15551234>", contactA),
		wantCode:   400,
		wantReason: "Bad Request (To is not a SIP URI)",
	}, {
		name:       "a domain not served is 404",
		req:        register(t, "c1", 1, "To: <sip:alice@example.org>", contactA),
		wantCode:   404,
		wantReason: "Not Found (domain not served)",
	}, {
		name:         "the domain compares case-insensitively",
		req:          register(t, "c1", 1, "To: <sip:alice@EXAMPLE.com>", contactA),
		wantCode:     200,
		wantBindings: []string{"sip:alice@192.0.2.10:5060"},
	}, {
		name:        "an unsupported Require is 420",
		req:         register(t, "c1", 1, contactA, "Require: path, foo"),
		wantCode:    420,
		wantHeaders: map[string]string{"Unsupported": "foo"},
	}, {
		name:       "an invalid q is 400",
		req:        register(t, "c1", 1, contactA+";q=1.5"),
		wantCode:   400,
		wantReason: "Bad Request (invalid q)",
	}, {
		name:       "an invalid reg-id is 400",
		req:        register(t, "c1", 1, outboundX1[:len(outboundX1)-1]+"0"),
		wantCode:   400,
		wantReason: "Bad Request (invalid reg-id)",
	}, {
		name:       "a non-SIP contact is 400",
		req:        register(t, "c1", 1, "Contact: <mailto:alice@example.com>"),
		wantCode:   400,
		wantReason: "Bad Request (Contact is not a SIP URI)",
	}, {
		name:         "more than MaxContacts is 403 and changes nothing",
		before:       []*sip.Request{register(t, "c1", 1, contactA, contactB)},
		req:          register(t, "c2", 1, "Contact: <sip:alice@192.0.2.30>", "Contact: <sip:alice@192.0.2.40>"),
		wantCode:     403,
		wantReason:   "Forbidden (too many contacts)",
		wantBindings: []string{"sip:alice@192.0.2.20:5060", "sip:alice@192.0.2.10:5060"},
	}, {
		name:       "more than MaxContacts in one request is 403",
		req:        register(t, "c1", 1, contactA, contactB, "Contact: <sip:alice@192.0.2.30>, <sip:alice@192.0.2.40>"),
		wantCode:   403,
		wantReason: "Forbidden (too many contacts)",
	}, {
		name: "a request that is not REGISTER is 405",
		req: parseRequest(t, "OPTIONS sip:example.com SIP/2.0", "Via: SIP/2.0/WSS x.invalid;branch=z9hG4bK1",
			"From: <sip:alice@example.com>;tag=1", "To: <sip:alice@example.com>", "Call-ID: o1", "CSeq: 1 OPTIONS"),
		wantCode:    405,
		wantHeaders: map[string]string{"Allow": "REGISTER"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			r := newTestRegistrar(testConfig(), clk)
			for i, req := range tt.before {
				if res, _ := r.Register(req, flowA); res.StatusCode != 200 {
					t.Fatalf("before[%d]: got %d %s, want 200", i, res.StatusCode, res.Reason)
				}
			}
			clk.Advance(tt.advance)
			flow := tt.flow
			if flow.ID == "" {
				flow = flowA
			}
			res, user := r.Register(tt.req, flow)
			if res.StatusCode != tt.wantCode {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, tt.wantCode)
			}
			if tt.wantReason != "" && res.Reason != tt.wantReason {
				t.Errorf("got reason %q, want %q", res.Reason, tt.wantReason)
			}
			if tt.wantUser != "" && user != tt.wantUser {
				t.Errorf("got user %q, want %q", user, tt.wantUser)
			}
			if tt.wantCode != 200 && user != "" {
				t.Errorf("got user %q with a %d, want none", user, tt.wantCode)
			}
			if to := res.To(); to == nil || !to.Params.Has("tag") {
				t.Errorf("got To %v, want a To tag", to)
			}
			if tt.wantContacts != nil {
				if got := headerValues(res, "Contact"); !slices.Equal(got, tt.wantContacts) {
					t.Errorf("got Contacts %q, want %q", got, tt.wantContacts)
				}
			}
			for name, want := range tt.wantHeaders {
				if got := strings.Join(headerValues(res, name), "|"); got != want {
					t.Errorf("got %s %q, want %q", name, got, want)
				}
			}
			bindings := r.Lookup("alice@example.com")
			if tt.wantBindings != nil {
				if got := contactURIs(bindings); !slices.Equal(got, tt.wantBindings) {
					t.Errorf("got bindings %q, want %q", got, tt.wantBindings)
				}
			}
			if tt.wantFlow != "" && (len(bindings) == 0 || bindings[0].Flow.ID != tt.wantFlow) {
				t.Errorf("got bindings %+v, want the first on flow %s", bindings, tt.wantFlow)
			}
		})
	}
}

func TestRegisterOpenReturnsToUser(t *testing.T) {
	r := newTestRegistrar(Config{}, newClock())
	res, user := r.Register(register(t, "c1", 1, "To: <sip:Bob@Anywhere.example>", contactA), flowA)
	if res.StatusCode != 200 {
		t.Fatalf("got %d %s, want 200", res.StatusCode, res.Reason)
	}
	if user != "Bob" {
		t.Errorf("got user %q, want %q", user, "Bob")
	}
	if got := contactURIs(r.Lookup("Bob@anywhere.example")); len(got) != 1 {
		t.Errorf("got bindings %q, want one for Bob@anywhere.example", got)
	}
}

func TestRegisterMissingHeaders(t *testing.T) {
	to := func(req *sip.Request) *sip.Request {
		req.AppendHeader(sip.NewHeader("To", "<sip:alice@example.com>"))
		return req
	}
	callID := sip.CallIDHeader("c1")
	tests := []struct {
		name       string
		req        *sip.Request
		wantReason string
	}{{
		name:       "no Call-ID",
		req:        to(sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "example.com"})),
		wantReason: "Bad Request (missing Call-ID)",
	}, {
		name: "no CSeq",
		req: func() *sip.Request {
			req := to(sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "example.com"}))
			req.AppendHeader(&callID)
			return req
		}(),
		wantReason: "Bad Request (missing CSeq)",
	}, {
		name: "no To",
		req: func() *sip.Request {
			req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "example.com"})
			req.AppendHeader(&callID)
			req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.REGISTER})
			return req
		}(),
		wantReason: "Bad Request (missing or malformed To)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistrar(Config{}, newClock())
			res, _ := r.Register(tt.req, flowA)
			if res.StatusCode != 400 || res.Reason != tt.wantReason {
				t.Errorf("got %d %s, want 400 %s", res.StatusCode, res.Reason, tt.wantReason)
			}
		})
	}
}

func TestRegisterJsSIP(t *testing.T) {
	raw, err := os.ReadFile("testdata/jssip-register.sip")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	req := parseRequest(t, lines...)
	r := newTestRegistrar(Config{Domain: "example.com"}, newClock())
	res, user := r.Register(req, flowA)
	if res.StatusCode != 200 || user != "alice" {
		t.Fatalf("got %d %s user %q, want 200 user alice", res.StatusCode, res.Reason, user)
	}
	if got := strings.Join(headerValues(res, "Require"), ","); got != "outbound" {
		t.Errorf("got Require %q, want outbound", got)
	}
	b := r.Lookup("alice@example.com")
	if len(b) != 1 {
		t.Fatalf("got %d bindings, want 1", len(b))
	}
	want := Binding{InstanceID: "urn:uuid:0f7a8b7d-1b86-4a0c-9a6e-8f2f0a8a0b2c", RegID: 1, Outbound: true, Q: 1, Flow: flowA}
	got := Binding{InstanceID: b[0].InstanceID, RegID: b[0].RegID, Outbound: b[0].Outbound, Q: b[0].Q, Flow: b[0].Flow}
	if got.InstanceID != want.InstanceID || got.RegID != want.RegID || got.Outbound != want.Outbound || got.Q != want.Q || got.Flow != want.Flow {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, want := b[0].Expires.Sub(newClock().Now()), 600*time.Second; got != want {
		t.Errorf("got expires in %v, want %v", got, want)
	}
}

func TestLookupOrder(t *testing.T) {
	clk := newClock()
	r := newTestRegistrar(Config{}, clk)
	steps := []struct {
		to, contact string
	}{
		{"sip:alice@a.example", "<sip:alice@192.0.2.1>;q=0.5"},
		{"sip:alice@a.example", "<sip:alice@192.0.2.2>"},
		{"sip:alice@a.example", "<sip:alice@192.0.2.3>"},
		{"sip:alice@b.example", "<sip:alice@192.0.2.4>;q=0.7"},
		{"sip:bob@a.example", "<sip:bob@192.0.2.5>"},
	}
	for i, s := range steps {
		req := register(t, "c"+s.contact, 1, "To: <"+s.to+">", "Contact: "+s.contact)
		if res, _ := r.Register(req, flowA); res.StatusCode != 200 {
			t.Fatalf("step %d: got %d %s, want 200", i, res.StatusCode, res.Reason)
		}
		clk.Advance(time.Second)
	}
	tests := []struct {
		name   string
		lookup func() []Binding
		want   []string
	}{{
		name:   "Lookup: best q, then most recent",
		lookup: func() []Binding { return r.Lookup("alice@A.example") },
		want:   []string{"sip:alice@192.0.2.3", "sip:alice@192.0.2.2", "sip:alice@192.0.2.1"},
	}, {
		name:   "LookupUser spans domains",
		lookup: func() []Binding { return r.LookupUser("alice") },
		want:   []string{"sip:alice@192.0.2.3", "sip:alice@192.0.2.2", "sip:alice@192.0.2.4", "sip:alice@192.0.2.1"},
	}, {
		name:   "unknown AOR",
		lookup: func() []Binding { return r.Lookup("carol@a.example") },
		want:   nil,
	}, {
		name:   "not an AOR",
		lookup: func() []Binding { return r.Lookup("alice") },
		want:   nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := contactURIs(tt.lookup()); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLookupReturnsCopies(t *testing.T) {
	r := newTestRegistrar(Config{}, newClock())
	r.Register(register(t, "c1", 1, contactA, "Path: <sip:edge.example.net;lr>"), flowA)
	b := r.Lookup("alice@example.com")
	b[0].Contact.Host = "203.0.113.9"
	b[0].Path[0] = "changed"
	again := r.Lookup("alice@example.com")
	if again[0].Contact.Host != "192.0.2.10" || again[0].Path[0] != "<sip:edge.example.net;lr>" {
		t.Errorf("got %v %q after mutating a copy, want the stored binding unchanged", again[0].Contact, again[0].Path)
	}
}

func TestDropFlow(t *testing.T) {
	r := newTestRegistrar(Config{}, newClock())
	r.Register(register(t, "c1", 1, contactA, contactB), flowA)
	r.Register(register(t, "c2", 1, "To: <sip:bob@example.com>", "Contact: <sip:bob@192.0.2.30>"), flowB)

	got := contactURIs(r.DropFlow(flowA.ID))
	if want := []string{"sip:alice@192.0.2.10:5060", "sip:alice@192.0.2.20:5060"}; !slices.Equal(got, want) {
		t.Errorf("got dropped %q, want %q", got, want)
	}
	if got := r.Count(); got != 1 {
		t.Errorf("got Count %d, want 1", got)
	}
	if got := r.DropFlow(flowA.ID); len(got) != 0 {
		t.Errorf("got %d dropped the second time, want 0", len(got))
	}
	if got := contactURIs(r.Lookup("bob@example.com")); len(got) != 1 {
		t.Errorf("got bob's bindings %q, want one", got)
	}
}

func TestSweep(t *testing.T) {
	clk := newClock()
	r := newTestRegistrar(Config{MinExpires: time.Second}, clk)
	r.Register(register(t, "c1", 1, contactA+";expires=60", contactB+";expires=300"), flowA)

	steps := []struct {
		advance    time.Duration
		wantSwept  []string
		wantCount  int
		wantLookup []string
	}{
		{advance: 59 * time.Second, wantSwept: nil, wantCount: 2, wantLookup: []string{"sip:alice@192.0.2.20:5060", "sip:alice@192.0.2.10:5060"}},
		{advance: time.Second, wantSwept: []string{"sip:alice@192.0.2.10:5060"}, wantCount: 1, wantLookup: []string{"sip:alice@192.0.2.20:5060"}},
		{advance: time.Second, wantSwept: nil, wantCount: 1, wantLookup: []string{"sip:alice@192.0.2.20:5060"}},
		{advance: 240 * time.Second, wantSwept: []string{"sip:alice@192.0.2.20:5060"}, wantCount: 0, wantLookup: nil},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if got := r.Count(); got != s.wantCount {
			t.Errorf("step %d: got Count %d, want %d", i, got, s.wantCount)
		}
		if got := contactURIs(r.Lookup("alice@example.com")); !slices.Equal(got, s.wantLookup) {
			t.Errorf("step %d: got Lookup %q, want %q", i, got, s.wantLookup)
		}
		if got := contactURIs(r.Sweep()); !slices.Equal(got, s.wantSwept) {
			t.Errorf("step %d: got swept %q, want %q", i, got, s.wantSwept)
		}
	}
}

func TestParseExpires(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{" 600 ", 600 * time.Second},
		{"4294967296", 4294967295 * time.Second},
		{"99999999999999999999999", 4294967295 * time.Second},
		{"-1", time.Hour},
		{"1.5", time.Hour},
		{"Thu, 01 Dec 1994 16:00:00 GMT", time.Hour},
		{"", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := parseExpires(tt.in); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"<sip:a@b>, <sip:c@d>", []string{"<sip:a@b>", "<sip:c@d>"}},
		{`"Doe, John" <sip:j@d;x=a,b>;p="1,2" , sip:k@e`, []string{`"Doe, John" <sip:j@d;x=a,b>;p="1,2"`, "sip:k@e"}},
		{`"a\",b" <sip:x@y>`, []string{`"a\",b" <sip:x@y>`}},
		{" , ,", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := splitList(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	clk := newClock()
	cfg := testConfig()
	cfg.MaxContacts = 100
	r := newTestRegistrar(cfg, clk)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				contact := fmt.Sprintf("Contact: <sip:alice@192.0.2.%d:%d>", i+1, 5060+j)
				r.Register(register(t, fmt.Sprintf("c%d", i), j+1, contact), Flow{ID: fmt.Sprintf("ws-%d", i)})
				r.Lookup("alice@example.com")
				r.Count()
				if j%10 == 9 {
					r.DropFlow(fmt.Sprintf("ws-%d", i))
					r.Sweep()
				}
			}
		})
	}
	wg.Wait()
	if got := r.Count(); got != 0 {
		t.Errorf("got %d bindings after every flow dropped, want 0", got)
	}
}

// TestManyUsersConcurrently registers users from several goroutines at once
// (their bindings spread over the registrar's shards) and checks that
// Count, Lookup and DropFlow see every one, DropFlow in AOR order.
func TestManyUsersConcurrently(t *testing.T) {
	r := newTestRegistrar(Config{}, newClock())
	const users, workers = 200, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for u := w; u < users; u += workers {
				to := fmt.Sprintf("To: <sip:u%03d@example.com>", u)
				contact := fmt.Sprintf("Contact: <sip:u%03d@192.0.2.10:%d>", u, 10000+u)
				if res, _ := r.Register(register(t, fmt.Sprintf("c%d", u), 1, to, contact), flowA); res.StatusCode != 200 {
					t.Errorf("user %d: got %d, want 200", u, res.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	if got := r.Count(); got != users {
		t.Errorf("got Count %d, want %d", got, users)
	}
	for u := range users {
		if got := r.Lookup(fmt.Sprintf("u%03d@example.com", u)); len(got) != 1 {
			t.Errorf("user %d: got %d bindings, want 1", u, len(got))
		}
	}
	dropped := r.DropFlow(flowA.ID)
	if len(dropped) != users {
		t.Fatalf("got %d dropped, want %d", len(dropped), users)
	}
	for i, b := range dropped {
		if want := fmt.Sprintf("u%03d@example.com", i); b.AOR != want {
			t.Errorf("dropped[%d] is %s, want %s", i, b.AOR, want)
		}
	}
	if got := r.Count(); got != 0 {
		t.Errorf("got Count %d after DropFlow, want 0", got)
	}
}
