package sipws

import (
	"net"
	"testing"
	"time"
)

// TestWatchedConnBatch: what is written while a batch is open reaches the
// peer in one write when it ends, and writes go straight through again
// afterwards. net.Pipe has no buffer: each Read returns from one Write.
func TestWatchedConnBatch(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	defer server.Close()
	c := &watchedConn{Conn: server, watch: newFrameWatch()}
	got := make(chan string, 4)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := client.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()
	c.startBatch()
	for _, s := range []string{"one", "two", "three"} {
		if n, err := c.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("write %q in a batch: %d, %v", s, n, err)
		}
	}
	select {
	case s := <-got:
		t.Fatalf("%q written before the batch ended", s)
	case <-time.After(20 * time.Millisecond):
	}
	if err := c.endBatch(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "onetwothree" {
		t.Fatalf("got %q, want the batch in one write", s)
	}
	if _, err := c.Write([]byte("four")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "four" {
		t.Fatalf("got %q after the batch, want %q", s, "four")
	}
	c.startBatch() // an empty batch writes nothing
	if err := c.endBatch(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	server.Close()
	if s, ok := <-got; ok {
		t.Fatalf("got %q from an empty batch", s)
	}
}
