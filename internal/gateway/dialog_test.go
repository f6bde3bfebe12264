package gateway

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// TestInDialogRequestsBothWays sends every in-dialog method from each side
// of a browser ⇄ phone call and checks it reaches the other side and its
// 200 comes back.
func TestInDialogRequestsBothWays(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	register(t, alice)
	p, _ := phone(t, g, "bob")

	answered := make(chan *siptest.Dialog, 1)
	go func() {
		d, _ := alice.AnswerNext(ctx(t), siptest.WebRTCAnswer("127.0.0.1", 4000))
		answered <- d
	}()
	phoneSide, err := p.Call(ctx(t), g.Addrs().UDP, userURI(g, "alice"), siptest.AudioSDP("127.0.0.1", 5000))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	browserSide := <-answered
	if browserSide == nil {
		t.FailNow()
	}
	methods := []sip.RequestMethod{sip.OPTIONS, sip.INFO, sip.UPDATE, sip.PRACK, sip.MESSAGE, sip.NOTIFY, sip.REFER, sip.INVITE}
	sides := []struct {
		name     string
		from, to *siptest.Dialog
	}{
		{"browser to phone", browserSide, phoneSide},
		{"phone to browser", phoneSide, browserSide},
	}
	for _, side := range sides {
		for _, m := range methods {
			t.Run(side.name+"/"+string(m), func(t *testing.T) {
				got := make(chan error, 1)
				go func() {
					_, err := side.to.Await(ctx(t), m)
					got <- err
				}()
				res, err := side.from.Request(ctx(t), m, nil)
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("got %v, %v; want 200", res, err)
				}
				if err := <-got; err != nil {
					t.Fatalf("far side never saw it: %v", err)
				}
			})
		}
	}
	go func() { _, _ = browserSide.Await(ctx(t), sip.BYE) }()
	if res, err := phoneSide.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: %v %v", res, err)
	}
}
