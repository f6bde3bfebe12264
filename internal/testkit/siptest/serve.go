package siptest

import (
	"context"
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// servedMethods are the requests Serve answers 200 OK.
var servedMethods = []sip.RequestMethod{sip.BYE, sip.OPTIONS, sip.INFO, sip.MESSAGE, sip.NOTIFY}

// Serve answers every BYE, OPTIONS, INFO, MESSAGE and NOTIFY with 200 OK
// until ctx is done, then returns nil, or until the transport fails. Served
// counts them. Other messages stay queued for the UA's other methods; do not
// also Await BYE on a dialog while Serve runs.
func (ua *UA) Serve(ctx context.Context) error {
	for {
		m, err := ua.Transport.Next(ctx, isRequest(servedMethods...))
		if err != nil && ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		req := m.(*sip.Request)
		if err := ua.Transport.Send(newResponse(req, sip.StatusOK, "OK", nil, nil)); err != nil {
			return fmt.Errorf("siptest: answer %s: %w", req.Method, err)
		}
		ua.count(req.Method)
	}
}

func (ua *UA) count(method sip.RequestMethod) {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if ua.served == nil {
		ua.served = map[sip.RequestMethod]int{}
	}
	ua.served[method]++
}

// Served reports how many requests with method Serve has answered.
func (ua *UA) Served(method sip.RequestMethod) int {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return ua.served[method]
}

// Await waits for the next request with method in this dialog and answers it
// 200 OK: with this side's SDP for a re-INVITE, whose ACK it then waits for.
func (d *Dialog) Await(ctx context.Context, method sip.RequestMethod) (*sip.Request, error) {
	m, err := d.ua.Transport.Next(ctx, isInDialog(d.CallID, method))
	if err != nil {
		return nil, fmt.Errorf("siptest: waiting for %s: %w", method, err)
	}
	req := m.(*sip.Request)
	var body []byte
	if method == sip.INVITE {
		body = d.localSDP
	}
	contact := d.ua.Transport.Contact(d.ua.User)
	res := newResponse(req, sip.StatusOK, "OK", body, &contact)
	if err := d.ua.Transport.Send(res); err != nil {
		return nil, err
	}
	if refreshesTarget(method) {
		d.refreshTarget(req)
	}
	return req, d.awaitAck(ctx, req)
}

func (d *Dialog) awaitAck(ctx context.Context, req *sip.Request) error {
	if req.Method != sip.INVITE {
		return nil
	}
	if _, err := d.ua.Transport.Next(ctx, isInTransaction(req, sip.ACK)); err != nil {
		return fmt.Errorf("siptest: waiting for ACK: %w", err)
	}
	return nil
}
