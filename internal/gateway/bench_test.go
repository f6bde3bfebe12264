package gateway

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// BenchmarkRegisterOverWebSocket measures REGISTER transactions per second
// from 32 WebSocket clients through the gateway's registrar (open mode).
// Client and gateway share the machine: the figure is a floor.
func BenchmarkRegisterOverWebSocket(b *testing.B) {
	g := startGateway(b, nil)
	const clients = 32
	uas := make([]*siptest.UA, clients)
	for i := range uas {
		uas[i] = browser(b, g, fmt.Sprintf("user%d", i))
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ua := uas[next.Add(1)%clients]
		for pb.Next() {
			res, err := ua.Register(context.Background(), 300)
			if err != nil || res.StatusCode != 200 {
				b.Errorf("register: %v %v", res, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registers/s")
}

// BenchmarkCallWebSocketToUDP measures complete calls per second: a
// WebSocket browser calls a UDP phone that answers at once (INVITE, 100,
// 180, 200, ACK), then hangs up (BYE, 200). 32 browsers call in parallel.
func BenchmarkCallWebSocketToUDP(b *testing.B) {
	g := startGateway(b, nil)
	_, bob := phone(b, g, "bob", siptest.WithAutoAnswer(nil))
	register(b, bob)
	const clients = 32
	uas := make([]*siptest.UA, clients)
	for i := range uas {
		uas[i] = browser(b, g, fmt.Sprintf("caller%d", i))
	}
	sdp := siptest.AudioSDP("127.0.0.1", 4000)
	target := userURI(g, "bob")
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ua := uas[next.Add(1)%clients]
		for pb.Next() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			d, err := ua.Invite(ctx, target, sdp)
			if err == nil {
				_, err = d.Bye(ctx)
			}
			cancel()
			if err != nil {
				b.Errorf("call: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
