package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// registerExpires is the expiry every REGISTER asks for, in seconds.
const registerExpires = 300

// Register is a REGISTER storm: cfg.Calls WebSocket clients, client w as
// user cfg.user(w), send REGISTERs at cfg.Rate per second in all until
// cfg.Count or cfg.Duration, answering digest challenges when
// cfg.Password is set. Each client unregisters once done.
func Register(ctx context.Context, cfg Config) (*SignalReport, error) {
	cfg, err := cfg.signalDefaults()
	if err != nil {
		return nil, err
	}
	t := newTally()
	return t.run(ctx, cfg, "register", func(w int, jobs <-chan int) {
		c := &client{cfg: cfg, user: cfg.user(w)}
		defer c.close(true)
		for range jobs {
			c.register(ctx, t)
		}
	})
}

func (c *client) register(ctx context.Context, t *tally) {
	t.attempt()
	ua, err := c.connect(ctx)
	if err != nil {
		t.failure("websocket")
		return
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.SetupTimeout)
	defer cancel()
	start := time.Now()
	res, err := ua.Register(rctx, registerExpires)
	switch {
	case err != nil:
		t.failure(c.sipCause(rctx, err))
	case res.StatusCode != 200:
		t.failure(fmt.Sprintf("sip_%d", res.StatusCode))
	default:
		t.success(time.Since(start))
		t.complete()
		c.registered = true
	}
}

// client is a signalling-only caller: a WebSocket, dialled when first
// needed and again after it closed, and its UA.
type client struct {
	cfg        Config
	user       string
	ws         *siptest.WSClient
	ua         *siptest.UA
	registered bool
}

func (c *client) connect(ctx context.Context) (*siptest.UA, error) {
	if c.ws != nil {
		return c.ua, nil
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.SetupTimeout)
	defer cancel()
	ws, err := c.cfg.dialWS(dctx)
	if err != nil {
		return nil, err
	}
	c.ws = ws
	c.ua = &siptest.UA{Transport: ws, User: c.user, Password: c.cfg.Password, Domain: c.cfg.Domain}
	return c.ua, nil
}

// sipCause names a failed request, and drops a WebSocket that closed so
// the next request dials again.
func (c *client) sipCause(ctx context.Context, err error) string {
	if errors.Is(err, siptest.ErrClosed) {
		c.close(false)
	}
	return sipCause(ctx, err)
}

// close unregisters, when asked and registered, and closes the WebSocket.
func (c *client) close(unregister bool) {
	if c.ws == nil {
		return
	}
	if unregister && c.registered {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = c.ua.Register(ctx, 0)
		cancel()
	}
	c.ws.Close()
	c.ws, c.ua, c.registered = nil, nil, false
}

// signalDefaults is withDefaults for Register and Calls, which need only
// WSURL and a domain (SIPAddr's IP or else WSURL's host).
func (c Config) signalDefaults() (Config, error) {
	c, err := c.withDefaults()
	if err != nil {
		return c, err
	}
	if c.WSURL == "" {
		return c, errors.New("loadgen: WSURL is required")
	}
	if c.Domain == "" {
		u, err := url.Parse(c.WSURL)
		if err != nil {
			return c, fmt.Errorf("loadgen: WSURL: %w", err)
		}
		c.Domain = u.Hostname()
	}
	return c, nil
}
