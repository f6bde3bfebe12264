package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// farEnd is the far side of every call: RTP echoes and, through a gateway,
// one registered phone per echo that answers every INVITE with SDP
// pointing at its echo.
type farEnd struct {
	echoes []*rtptest.Echo
	phones []*siptest.UDPPeer
	uas    []*siptest.UA
}

// newFarEnd starts cfg.Echoes echoes, and registers a phone for each with
// the gateway when withPhones is set.
func newFarEnd(ctx context.Context, cfg Config, withPhones bool) (*farEnd, error) {
	f := &farEnd{}
	for i := range cfg.Echoes {
		if err := f.add(ctx, cfg, i, withPhones); err != nil {
			f.close()
			return nil, err
		}
	}
	return f, nil
}

func (f *farEnd) add(ctx context.Context, cfg Config, i int, withPhone bool) error {
	e, err := rtptest.NewEcho()
	if err != nil {
		return fmt.Errorf("loadgen: echo: %w", err)
	}
	f.echoes = append(f.echoes, e)
	if !withPhone {
		return nil
	}
	a := e.Addr()
	phone, err := siptest.NewUDPPeer(siptest.WithAutoAnswer(siptest.AudioSDP(a.Addr().String(), int(a.Port()))))
	if err != nil {
		return fmt.Errorf("loadgen: phone: %w", err)
	}
	f.phones = append(f.phones, phone)
	ua := phone.UA(echoUser(i), cfg.SIPAddr)
	ua.Domain, ua.Password = cfg.Domain, cfg.Password
	res, err := ua.Register(ctx, 3600)
	if err == nil && res.StatusCode != 200 {
		err = fmt.Errorf("answered %d %s", res.StatusCode, res.Reason)
	}
	if err != nil {
		return fmt.Errorf("loadgen: registering %s: %w", ua.User, err)
	}
	f.uas = append(f.uas, ua)
	return nil
}

func echoUser(i int) string { return fmt.Sprintf("sbload-echo-%d", i) }

// echoed counts the packets every echo has returned.
func (f *farEnd) echoed() int64 {
	var n int64
	for _, e := range f.echoes {
		n += e.Received()
	}
	return n
}

// close unregisters the phones and stops everything.
func (f *farEnd) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, ua := range f.uas {
		_, _ = ua.Register(ctx, 0)
	}
	for _, p := range f.phones {
		p.Close()
	}
	for _, e := range f.echoes {
		e.Close()
	}
}
