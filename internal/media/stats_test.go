package media

import "testing"

// TestLegSentTallies checks what an outbox's report of a packet does to
// the leg it was sent on.
func TestLegSentTallies(t *testing.T) {
	var leg legCounters
	(*rtpSent)(&leg).Sent(172, 1)
	(*rtcpSent)(&leg).Sent(80, 2)
	(*rtpSent)(&leg).Dropped(3)
	(*rtcpSent)(&leg).Dropped(4)
	got := leg.snapshot()
	if want := (Counter{Packets: 1, Bytes: 172}); got.RTPOut != want {
		t.Errorf("RTPOut = %+v, want %+v", got.RTPOut, want)
	}
	if want := (Counter{Packets: 1, Bytes: 80}); got.RTCPOut != want {
		t.Errorf("RTCPOut = %+v, want %+v", got.RTCPOut, want)
	}
	if got := leg.lastOut.Load(); got != 2 {
		t.Errorf("lastOut = %d, want 2, the last packet sent", got)
	}
	if got := leg.dropped.Load(); got != 2 {
		t.Errorf("dropped = %d, want 2", got)
	}
}
