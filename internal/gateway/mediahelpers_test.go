package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
)

// newBrowser is a pion WebRTC browser closed when the test ends.
func newBrowser(t *testing.T) *rtptest.Browser {
	t.Helper()
	br, err := rtptest.NewBrowser()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	return br
}

// newEcho is a plain RTP echo closed when the test ends.
func newEcho(t *testing.T) *rtptest.Echo {
	t.Helper()
	echo, err := rtptest.NewEcho()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Close() })
	return echo
}

// hearEcho waits for the browser's ICE and DTLS with switchboard, starts
// its audio and waits until n packets of it came back, within 10 s.
func hearEcho(t *testing.T, g *testGateway, br *rtptest.Browser, n int64) {
	t.Helper()
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := br.WaitConnected(wait); err != nil {
		t.Fatalf("ICE/DTLS with switchboard: %v", err)
	}
	br.Send()
	for {
		if _, matching := br.Received(); matching >= n {
			return
		}
		select {
		case <-wait.Done():
			all, matching := br.Received()
			t.Fatalf("echoed audio: got %d packets (%d with the payload), want %d\n%+v", all, matching, n, g.calls.Snapshot())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
