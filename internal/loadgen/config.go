package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// Defaults applied to zero Config fields.
const (
	DefaultDuration = 10 * time.Second
	DefaultRate     = 50 // calls per second
	DefaultEchoes   = 4  // at least; see Config.Echoes
	DefaultDrain    = time.Second
	DefaultTimeout  = 15 * time.Second
	DefaultHold     = time.Second
	DefaultUser     = "sbload-%d"
)

// Config configures a run.
type Config struct {
	// WSURL is the gateway's SIP WebSocket URL, e.g. ws://127.0.0.1:8080/ws.
	// Required by Run; Baseline does not use it.
	WSURL string
	// SIPAddr is the gateway's SIP UDP address, where the echoes' phones
	// register. Required by Run.
	SIPAddr netip.AddrPort
	// Domain is the host users register and call under. Default: SIPAddr's IP.
	Domain string
	// Calls is the number of concurrent calls. Required.
	Calls int
	// Duration is the steady window: how long all calls send once the last
	// one is up. Default 10 s.
	Duration time.Duration
	// Rate is how many calls are started per second while ramping up.
	// Default 50.
	Rate float64
	// Echoes is the number of RTP echoes (and phones) calls are spread
	// over, each with a socket and a goroutine of its own. Default: one
	// per core Go may use, DefaultEchoes at least, so that the echoes are
	// never the one core the run waits for.
	Echoes int
	// Drain is how long returning packets are still counted once sending
	// stopped. Default 1 s.
	Drain time.Duration
	// SetupTimeout bounds one call's setup, INVITE to SRTP keys. Default 15 s.
	SetupTimeout time.Duration
	// GatewayPIDs are processes whose CPU time (from /proc) is reported as
	// the gateway's over the steady window; none: not reported.
	GatewayPIDs []int
	// Progress receives a line a second; nil: none.
	Progress io.Writer

	// User names caller i: a %d in it is replaced by i. Default "sbload-%d".
	User string
	// Password, when set, answers 401 and 407 challenges (digest MD5 or
	// SHA-256) for every caller and for the echoes' phones. Default: none.
	Password string
	// Insecure skips the certificate check of a wss:// WSURL.
	Insecure bool
	// Count bounds the REGISTERs (Register) or calls (Calls) attempted;
	// 0: only Duration bounds the run.
	Count int
	// Hold is how long Calls keeps each call up before BYE. Default 1 s.
	Hold time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Calls < 1 {
		return c, errors.New("loadgen: Calls must be at least 1")
	}
	if c.Domain == "" && c.SIPAddr.IsValid() {
		c.Domain = c.SIPAddr.Addr().String()
	}
	if c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	if c.Rate <= 0 {
		c.Rate = DefaultRate
	}
	if c.Echoes <= 0 {
		c.Echoes = max(DefaultEchoes, runtime.GOMAXPROCS(0))
	}
	c.Echoes = min(c.Echoes, c.Calls)
	if c.Drain <= 0 {
		c.Drain = DefaultDrain
	}
	if c.SetupTimeout <= 0 {
		c.SetupTimeout = DefaultTimeout
	}
	if c.Hold <= 0 {
		c.Hold = DefaultHold
	}
	if c.User == "" {
		c.User = DefaultUser
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c, nil
}

func (c Config) checkGateway() error {
	if c.WSURL == "" || !c.SIPAddr.IsValid() {
		return errors.New("loadgen: WSURL and SIPAddr are required")
	}
	return nil
}

// user is caller i's SIP user name.
func (c Config) user(i int) string {
	if strings.Contains(c.User, "%d") {
		return fmt.Sprintf(c.User, i)
	}
	return c.User
}

// dialWS opens a caller's WebSocket to WSURL; for wss:// with Insecure, it
// does not check the server's certificate.
func (c Config) dialWS(ctx context.Context) (*siptest.WSClient, error) {
	var opts []siptest.WSOption
	if c.Insecure {
		opts = append(opts, siptest.WithTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	}
	return siptest.DialWS(ctx, c.WSURL, opts...)
}
