package siptest

import (
	"context"
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

// stubTransport names itself like a JsSIP client and carries nothing.
type stubTransport struct{}

func (stubTransport) Send(sip.Message) error { return nil }
func (stubTransport) Next(ctx context.Context, _ func(sip.Message) bool) (sip.Message, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (stubTransport) Via() *sip.ViaHeader {
	return &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "WSS", Host: "df7jal23ls0d.invalid", Params: sip.NewParams()}
}
func (stubTransport) Contact(user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: "df7jal23ls0d.invalid", UriParams: params("transport", "ws")}
}

// A dialog through two record-routing proxies, as switchboard and a PBX
// would build it.
const (
	routedInvite = `INVITE sip:bob@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-p2
Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK-ua
Record-Route: <sip:p2.example.com;lr>
Record-Route: <sip:p1.example.com;lr>
From: <sip:alice@127.0.0.1>;tag=atag
To: <sip:bob@127.0.0.1>
Call-ID: call-1
CSeq: 7 INVITE
Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws;ob>
Content-Length: 0

`
	routedOK = `SIP/2.0 200 OK
Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK-ua
Record-Route: <sip:p2.example.com;lr>
Record-Route: <sip:p1.example.com;lr>
From: <sip:alice@127.0.0.1>;tag=atag
To: <sip:bob@127.0.0.1>;tag=btag
Call-ID: call-1
CSeq: 7 INVITE
Contact: <sip:bob@192.0.2.7:5060>
Content-Length: 0

`
)

func TestDialogRouting(t *testing.T) {
	invite := mustParse(t, routedInvite).(*sip.Request)
	ok := mustParse(t, routedOK).(*sip.Response)
	ua := &UA{Transport: stubTransport{}, User: "alice", Domain: "127.0.0.1"}
	tests := []struct {
		name       string
		dialog     *Dialog
		wantTarget string
		wantRoute  []string
		wantFromTo string
		wantCSeq   uint32
	}{
		{
			name: "caller reverses Record-Route", dialog: newUACDialog(ua, invite, ok),
			wantTarget: "sip:bob@192.0.2.7:5060", wantRoute: []string{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"},
			wantFromTo: "atag btag", wantCSeq: 8,
		},
		{
			name: "callee keeps Record-Route order", dialog: newUASDialog(ua, invite, ok),
			wantTarget: "sip:alice@df7jal23ls0d.invalid;transport=ws;ob", wantRoute: []string{"<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"},
			wantFromTo: "btag atag", wantCSeq: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bye := tt.dialog.NewRequest(sip.BYE)
			if got := bye.Recipient.String(); got != tt.wantTarget {
				t.Errorf("Request-URI = %s, want %s", got, tt.wantTarget)
			}
			if got := headerValues(bye, "Route"); !slices.Equal(got, tt.wantRoute) {
				t.Errorf("Route = %v, want %v", got, tt.wantRoute)
			}
			if got := sipmsg.FromTag(bye) + " " + sipmsg.ToTag(bye); got != tt.wantFromTo {
				t.Errorf("From and To tags = %s, want %s", got, tt.wantFromTo)
			}
			if got := bye.CSeq().SeqNo; got != tt.wantCSeq {
				t.Errorf("CSeq = %d, want %d", got, tt.wantCSeq)
			}
		})
	}
}
