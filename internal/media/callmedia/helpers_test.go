package callmedia

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

// newTestManager runs a Manager on an engine on 127.0.0.1 with pairs free
// RTP port pairs, both closed when the test ends.
func newTestManager(t *testing.T, pairs int, cfg Config, met *Metrics) (*Manager, *media.Engine) {
	t.Helper()
	e, err := media.New(media.Config{
		WebRTCAddr:   netip.MustParseAddrPort("127.0.0.1:0"),
		RTPAddr:      netip.MustParseAddr("127.0.0.1"),
		RTPPorts:     freePortRange(t, pairs),
		MediaTimeout: 60 * time.Second,
	}, media.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	m := New(cfg, Deps{Engine: e, Logger: slog.New(slog.DiscardHandler), Metrics: met})
	t.Cleanup(func() {
		m.Close()
		e.Close()
	})
	return m, e
}

// freePortRange finds pairs consecutive even/odd port pairs nobody holds.
func freePortRange(t *testing.T, pairs int) [2]int {
	t.Helper()
	for range 50 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		lo := c.LocalAddr().(*net.UDPAddr).Port &^ 1
		c.Close()
		if lo+2*pairs > 65535 {
			continue
		}
		free := true
		for p := lo; p < lo+2*pairs && free; p++ {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if free = err == nil; free {
				c.Close()
			}
		}
		if free {
			return [2]int{lo, lo + 2*pairs - 1}
		}
	}
	t.Fatal("no free port range")
	return [2]int{}
}

// sdpFile reads a case's input from sdprewrite's golden files: real SDP as
// browsers and PBXs send it.
func sdpFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "sdprewrite", "testdata", name, "in.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Messages as the proxy hands them over. Requests come from the caller
// (tag "a"), responses from the callee ("b"), unless said otherwise.
func browserToPlain(status int, sender string, body []byte) sipmsg.SDPMessage {
	return sipmsg.SDPMessage{CallID: "call", Status: status, Sender: sender, FromWebRTC: true, Body: body}
}

func plainToBrowser(status int, sender string, body []byte) sipmsg.SDPMessage {
	return sipmsg.SDPMessage{CallID: "call", Status: status, Sender: sender, ToWebRTC: true, Body: body}
}

func browserToBrowser(status int, sender string, body []byte) sipmsg.SDPMessage {
	return sipmsg.SDPMessage{CallID: "call", Status: status, Sender: sender, FromWebRTC: true, ToWebRTC: true, Body: body}
}

func plainToPlain(status int, sender string, body []byte) sipmsg.SDPMessage {
	return sipmsg.SDPMessage{CallID: "call", Status: status, Sender: sender, Body: body}
}

// kind sorts a translated SDP: a WebRTC offer (switchboard offers actpass),
// a WebRTC answer, or plain.
func kind(sdp []byte) string {
	switch {
	case !sdprewrite.IsWebRTC(sdp):
		return "plain"
	case bytes.Contains(sdp, []byte("a=setup:actpass")):
		return "webrtc offer"
	}
	return "webrtc answer"
}

// attr returns the value of the first a=key line of sdp.
func attr(sdp []byte, key string) string {
	for _, l := range strings.Split(string(sdp), "\r\n") {
		if v, ok := strings.CutPrefix(l, "a="+key+":"); ok {
			return v
		}
	}
	return ""
}

// sipStatus returns the SIP status err maps to, 0 for none.
func sipStatus(err error) int {
	if se, ok := err.(interface{ SIPStatus() (int, string) }); ok {
		code, _ := se.SIPStatus()
		return code
	}
	if err != nil {
		return -1
	}
	return 0
}

func describe(st []CallState) string { return fmt.Sprintf("%+v", st) }
