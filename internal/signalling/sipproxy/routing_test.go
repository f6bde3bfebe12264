package sipproxy

import (
	"hash/fnv"
	"net/netip"
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestTransportOf(t *testing.T) {
	tests := []struct {
		uri  string
		want string
	}{
		{"sip:a@192.0.2.1", "UDP"},
		{"sip:a@192.0.2.1;transport=tcp", "TCP"},
		{"sip:a@192.0.2.1;transport=TLS", "TLS"},
		{"sips:a@192.0.2.1", "TLS"},
		{"sip:a@x.invalid;transport=ws", "WS"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			var u sip.Uri
			if err := sip.ParseUri(tt.uri, &u); err != nil {
				t.Fatal(err)
			}
			if got := transportOf(&u); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBestResponse(t *testing.T) {
	tests := []struct {
		name  string
		codes []int
		want  int
	}{
		{"lowest class wins", []int{503, 486, 302}, 302},
		{"6xx beats all", []int{486, 603, 302}, 603},
		{"first of equals kept", []int{486, 480}, 486},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &call{}
			for _, code := range tt.codes {
				c.keepBestLocked(sip.NewResponse(code, ""))
			}
			if c.best.StatusCode != tt.want {
				t.Errorf("got %d, want %d", c.best.StatusCode, tt.want)
			}
		})
	}
}

func TestLoopHashIgnoresViaButNotRequestURI(t *testing.T) {
	parse := func(ruri, via string) *sip.Request {
		raw := "INVITE " + ruri + " SIP/2.0\r\nVia: " + via + "\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n" +
			"Call-ID: loop\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n"
		m, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return m.(*sip.Request)
	}
	a := loopHash(parse("sip:b@192.0.2.1", "SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1"))
	b := loopHash(parse("sip:b@192.0.2.1", "SIP/2.0/UDP 192.0.2.8;branch=z9hG4bK2"))
	c := loopHash(parse("sip:b@192.0.2.2", "SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1"))
	if a != b {
		t.Errorf("same request from another hop: hashes %s and %s differ (a loop would go unseen)", a, b)
	}
	if a == c {
		t.Errorf("retargeted request: hash %s unchanged (a spiral would look like a loop)", a)
	}
}

// The loop hash is FNV-1a over the rendered Request-URI, Call-ID, tags and
// CSeq number; computing it without rendering must not change it.
func TestLoopHashIsFNVOfFields(t *testing.T) {
	raw := "INVITE sip:bob@192.0.2.1:5070;transport=tcp;lr SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
		"From: <sip:a@x>;tag=ft\r\nTo: <sip:b@x>;tag=tt\r\nCall-ID: abc@host\r\nCSeq: 2147483647 INVITE\r\nContent-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	h := fnv.New32a()
	h.Write([]byte(req.Recipient.String() + "abc@host" + "ft|tt|2147483647"))
	if got, want := loopHash(req), strconv.FormatUint(uint64(h.Sum32()), 36); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestFlowTokenRejectsForgery(t *testing.T) {
	tokens := newFlowTokens()
	tok := tokens.encode("ws-1", "call-1")
	if id, ok := tokens.decode(tok, "call-1"); !ok || id != "ws-1" {
		t.Fatalf("decode(encode(ws-1)): got %q, %v", id, ok)
	}
	tests := []struct {
		name, token, callID string
	}{
		{name: "another key", token: newFlowTokens().encode("ws-1", "call-1"), callID: "call-1"},
		{name: "another dialog's Call-ID", token: tok, callID: "call-2"},
		{name: "no Call-ID", token: tok, callID: ""},
		{name: "a Path token", token: tokens.encodePath("ws-1"), callID: "call-1"},
		{name: "a Path token, no Call-ID", token: tokens.encodePath("ws-1"), callID: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if id, ok := tokens.decode(tt.token, tt.callID); ok {
				t.Errorf("decode: got %q, true; want false", id)
			}
		})
	}
}

func TestServiceTarget(t *testing.T) {
	p := &Proxy{cfg: Config{Services: map[string]netip.AddrPort{"echo": netip.MustParseAddrPort("127.0.0.1:40000")}}}
	tests := []struct {
		uri  string
		want bool
	}{
		{"sip:echo@example.com", true},
		{"sip:echo@127.0.0.1:5060;transport=tcp", true},
		{"sip:bob@example.com", false},
		{"sip:example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			var u sip.Uri
			if err := sip.ParseUri(tt.uri, &u); err != nil {
				t.Fatal(err)
			}
			got, ok := p.serviceTarget(sip.NewRequest(sip.INVITE, u))
			if ok != tt.want {
				t.Fatalf("got %v, want %v", ok, tt.want)
			}
			if ok && (got.transport != "UDP" || got.host != "127.0.0.1" || got.port != 40000 || got.uri.String() != u.String()) {
				t.Errorf("got %+v, want UDP to 127.0.0.1:40000 with the Request-URI kept", got)
			}
		})
	}
}
