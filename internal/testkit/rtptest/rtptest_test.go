package rtptest

import (
	"context"
	"net"
	"testing"
	"time"
)

func TestBrowsersTalk(t *testing.T) {
	a, err := NewBrowser()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewBrowser()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	offer, err := a.Offer()
	if err != nil {
		t.Fatal(err)
	}
	answer, err := b.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	a.Send()
	b.Send()
	for {
		_, ma := a.Received()
		_, mb := b.Received()
		if ma > 5 && mb > 5 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("payload packets: a got %d, b got %d", ma, mb)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestEcho(t *testing.T) {
	e, err := NewEcho()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, err := net.Dial("udp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write(Payload)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil || n != len(Payload) {
		t.Fatalf("echo: got %d bytes, %v", n, err)
	}
}
