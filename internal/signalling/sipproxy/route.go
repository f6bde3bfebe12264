package sipproxy

import (
	"errors"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// route decides what becomes of a request and starts it on its way, RFC
// 3261 §16.3 to §16.6. The request the transaction holds stays as received:
// everything here works on a clone.
func (p *Proxy) route(tx *siptx.ServerTx) error {
	req := tx.Request
	loop, err := p.validate(req)
	if err != nil {
		return err
	}
	if req.Method == sip.REGISTER && p.cfg.Mode == ModeRegistrar && !sipmsg.HasToTag(req) {
		if p.draining.Load() {
			return errDraining
		}
		return p.register(tx) // the registrar only reads the request: no clone
	}
	if loop == "" {
		loop = loopHash(req) // for the branches: validate had no need of it
	}
	out := req.Clone()
	hops := p.popRoutes(out)
	inDialog := sipmsg.HasToTag(req)
	if inDialog {
		if err := hops.check(); err != nil {
			p.metrics.inDialogRefused(err)
			return err
		}
		t, err := p.dialogTarget(out, hops)
		if err != nil {
			return err
		}
		if err := p.forward(tx, out, []target{t}, forwardOpts{loop: loop}); err != nil {
			return err
		}
		p.dialogs.sawRequest(req)
		if req.Method == sip.BYE {
			p.dialogs.take(req.CallID().Value())
			p.endMedia(req.CallID().Value(), "bye")
		}
		return nil
	}
	p.dropPreloadedRoutes(out, tx.Conn)
	if p.draining.Load() {
		return errDraining
	}
	switch {
	case req.Method == sip.REGISTER && p.cfg.Mode == ModeUpstream:
		return p.relayRegister(tx, out, loop)
	case req.Method == sip.OPTIONS && req.Recipient.User == "" && p.net.IsLocal(req.Recipient.Host, req.Recipient.Port):
		return p.options(tx)
	case req.Recipient.User == "" && !knownMethod(req.Method) && p.net.IsLocal(req.Recipient.Host, req.Recipient.Port):
		return errNotImplemented // RFC 3261 §21.5.2: for switchboard itself, a method it does not know (RFC 4475 §3.1.1.5)
	}
	user, err := p.admit(tx)
	if err != nil {
		return err
	}
	lease, err := p.limitCall(tx)
	if err != nil {
		return err
	}
	targets, err := p.targets(tx, out)
	if err == nil {
		err = p.forward(tx, out, targets, forwardOpts{recordRoute: createsDialog(req.Method), loop: loop, lease: lease, user: user})
	}
	if err != nil {
		lease.release()
	}
	return err
}

// targets finds where an out-of-dialog request goes, RFC 3261 §16.5.
func (p *Proxy) targets(tx *siptx.ServerTx, out *sip.Request) ([]target, error) {
	if t, ok := p.serviceTarget(out); ok {
		return []target{t}, nil
	}
	if p.cfg.Mode == ModeUpstream {
		return p.upstreamTargets(tx, out)
	}
	if ts := p.bindingTargets(out); len(ts) > 0 {
		return ts, nil
	}
	switch t, ok, err := p.trunk(out); {
	case err != nil:
		return nil, err
	case ok:
		return []target{t}, nil
	}
	if p.net.IsLocal(out.Recipient.Host, out.Recipient.Port) {
		return nil, errNotRegistered
	}
	return nil, errNoRoute
}

// serviceTarget sends a request for a built-in service to the services'
// UDP address: a phone like any other, so the request is record-routed and
// its media anchored as usual.
func (p *Proxy) serviceTarget(out *sip.Request) (target, bool) {
	addr, ok := p.cfg.Services[out.Recipient.User]
	if !ok || out.Recipient.User == "" {
		return target{}, false
	}
	return target{uri: *out.Recipient.Clone(), transport: siptransport.UDP,
		host: addr.Addr().String(), port: int(addr.Port())}, true
}

// bindingTargets are the registered contacts of the Request-URI's user,
// each reached over the flow it registered on (RFC 5626 §5.3).
func (p *Proxy) bindingTargets(out *sip.Request) []target {
	if out.Recipient.User == "" {
		return nil
	}
	var ts []target
	for _, b := range p.loc.Contacts(out.Recipient.User) {
		t := target{uri: *b.URI.Clone(), path: parsePath(b.Path), outbound: b.Outbound}
		if c, ok := p.net.Lookup(b.FlowID); ok {
			t.conn = c
		} else if resolved, err := p.resolve(out, t.uri); err == nil {
			t = resolved // a TCP phone whose connection closed: dial its Contact
			t.path = parsePath(b.Path)
		} else {
			continue
		}
		ts = append(ts, t)
	}
	return ts
}

// register hands a REGISTER to the registrar, RFC 3261 §10.3.
func (p *Proxy) register(tx *siptx.ServerTx) error {
	c := tx.Conn
	flow := Flow{ID: c.FlowID(), Transport: c.Transport(), Remote: c.RemoteAddr()}
	res, user := p.regs.Register(tx.Request, flow)
	p.registered(flow, res.StatusCode, user)
	return tx.Respond(res)
}

// registered notes the answer to a REGISTER that came on flow, user the
// user it registered.
func (p *Proxy) registered(flow Flow, code int, user string) {
	if code/100 == 2 && user != "" && p.cfg.Auth && flow.Transport != "UDP" {
		// A connection can't be spoofed; a UDP source can. A refresh
		// finds its user there already and stores nothing.
		if known, ok := p.authFlows.Load(flow.ID); !ok || known != user {
			p.authFlows.Store(flow.ID, user)
		}
	}
	p.metrics.registered(code)
}

// HandleRawRequest answers a REGISTER for switchboard's registrar from its
// bytes when the registrar can (RawRegistrations) and the connection can
// send bytes (siptransport.BufferSender): in registrar mode, not draining. It is route and register for such a REGISTER, with
// nothing parsed into a sip.Request; anything else is left to them.
func (p *Proxy) HandleRawRequest(data []byte, from siptransport.Conn) (sip.RequestMethod, int, bool) {
	raw, ok := p.regs.(RawRegistrations)
	sender, canSend := from.(siptransport.BufferSender)
	if !ok || !canSend || p.cfg.Mode != ModeRegistrar || p.draining.Load() {
		return "", 0, false
	}
	buf := siptransport.NewBuffer()
	flow := Flow{ID: from.FlowID(), Transport: from.Transport(), Remote: from.RemoteAddr()}
	out, user, ok := raw.RegisterRaw(data, flow, buf.AvailableBuffer())
	if !ok {
		siptransport.ReleaseBuffer(buf)
		return "", 0, false
	}
	buf.Write(out)
	p.metrics.request(sip.REGISTER)
	p.registered(flow, sip.StatusOK, user)
	_ = sender.SendBuffer(buf)
	return sip.REGISTER, sip.StatusOK, true
}

// options answers an OPTIONS addressed to switchboard itself, RFC 3261 §11.2.
func (p *Proxy) options(tx *siptx.ServerTx) error {
	res := p.response(tx.Request, sip.StatusOK, "OK")
	res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, PRACK, INFO, REFER, NOTIFY, MESSAGE, SUBSCRIBE"))
	res.AppendHeader(sip.NewHeader("Supported", "path, outbound"))
	return tx.Respond(res)
}

// createsDialog reports whether a request of method may create a dialog, so
// that it is record-routed (RFC 3261 §16.6 step 4).
func createsDialog(m sip.RequestMethod) bool {
	return m == sip.INVITE || m == sip.SUBSCRIBE || m == sip.REFER || m == sip.NOTIFY
}

// parsePath turns stored Path values into Route URIs.
func parsePath(values []string) []sip.Uri {
	var out []sip.Uri
	for _, v := range values {
		var u sip.Uri
		var params sip.HeaderParams
		if _, err := sip.ParseAddressValue(v, &u, &params); err == nil {
			out = append(out, u)
		}
	}
	return out
}

// isChallenge reports whether err asks for credentials.
func isChallenge(err error) (*challenge, bool) {
	var c *challenge
	return c, errors.As(err, &c)
}

// knownMethod reports whether m is a method of RFC 3261 or of the
// extensions a proxy commonly carries. A request with any other method is
// forwarded like any other, unless it is for switchboard itself.
func knownMethod(m sip.RequestMethod) bool {
	switch m {
	case sip.INVITE, sip.ACK, sip.CANCEL, sip.BYE, sip.REGISTER, sip.OPTIONS, sip.SUBSCRIBE, sip.NOTIFY,
		sip.REFER, sip.INFO, sip.MESSAGE, sip.PRACK, sip.UPDATE, sip.PUBLISH:
		return true
	}
	return false
}
