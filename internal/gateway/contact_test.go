package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// A UDP REGISTER sent from one port for a Contact on another port of the
// same host (a phone that listens elsewhere than it sends from, or a PBX or
// test tool registering on a phone's behalf) is stored as sent, RFC 3261
// §10.3: calls go to the Contact, not to the port the REGISTER came from,
// since no NAT is in between.
func TestContactOnAnotherPortOfTheSameHost(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	registrar, ua := phone(t, g, "uas")   // sends the REGISTER
	listener, err := siptest.NewUDPPeer() // is the Contact
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })

	req := ua.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: g.domain()})
	req.RemoveHeader("Contact")
	contact := sip.Uri{Scheme: "sip", User: "uas", Host: listener.Addr().Addr().String(), Port: int(listener.Addr().Port())}
	req.AppendHeader(&sip.ContactHeader{Address: contact, Params: sip.NewParams()})
	exp := sip.ExpiresHeader(300)
	req.AppendHeader(&exp)
	req.To().Address = req.From().Address
	if res, err := ua.Do(ctx(t), req); err != nil || res.StatusCode != 200 {
		t.Fatalf("REGISTER: got %v, %v; want 200", res, err)
	}

	alice := browser(t, g, "alice")
	inv := alice.NewRequest(sip.INVITE, userURI(g, "uas"))
	inv.SetBody(siptest.WebRTCOffer("127.0.0.1", 4000))
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if _, err := alice.SendInvite(inv); err != nil {
		t.Fatal(err)
	}
	got, err := listener.RecvRequest(ctx(t), sip.INVITE)
	if err != nil {
		t.Fatalf("no INVITE at the Contact: %v", err)
	}
	if _, err := listener.Respond(got, sip.StatusBusyHere, "Busy Here", nil); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if req, err := registrar.RecvRequest(short, sip.INVITE); err == nil {
		t.Errorf("the REGISTER's source port got %s, want nothing", req.StartLine())
	}
}
