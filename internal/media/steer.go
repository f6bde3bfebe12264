package media

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// Sharding the browser port: with media.workers above one, the browser-leg
// port is a group of sockets, one per poller (sock.ListenGroup), and the
// kernel hands each datagram to the socket steerProgram picks. RTP goes by
// its SSRC (RFC 3550 §5.1, bytes 8-11) and RTCP by its first packet's
// sender SSRC (§6.4.1, bytes 4-7), to socket SSRC mod workers; anything
// else (STUN, DTLS) to whichever socket the kernel's hash of the 4-tuple
// picks. So a browser's media lands on one poller, the same one however
// its address changes (a NAT rebinding, an ICE restart), and each poller
// relays its share of the calls.

// steerProgram is the classic BPF program that steers browser packets
// among n sockets. It sees the UDP payload at offset 0; a load past the
// end makes it return 0.
func steerProgram(n int) []bpf.RawInstruction {
	prog, err := bpf.Assemble([]bpf.Instruction{
		// RTP or RTCP: first byte 128-191 (RFC 7983 §7).
		bpf.LoadAbsolute{Off: 0, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpLessThan, Val: 128, SkipTrue: 9},
		bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: 191, SkipTrue: 8},
		// RTCP: packet type 192-223 (RFC 5761 §4).
		bpf.LoadAbsolute{Off: 1, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpLessThan, Val: 192, SkipTrue: 3},
		bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: 223, SkipTrue: 2},
		bpf.LoadAbsolute{Off: 4, Size: 4}, // RTCP sender SSRC
		bpf.Jump{Skip: 1},
		bpf.LoadAbsolute{Off: 8, Size: 4}, // RTP SSRC
		bpf.ALUOpConstant{Op: bpf.ALUOpMod, Val: uint32(n)},
		bpf.RetA{},
		// Anything else: an index past the group, the kernel's hash.
		bpf.RetConstant{Val: uint32(n)},
	})
	if err != nil {
		panic(fmt.Sprintf("media: steering program: %v", err))
	}
	return prog
}

// ownerOf is the poller steerProgram sends a browser's RTP with ssrc to.
func ownerOf(ssrc uint32, n int) int { return int(ssrc % uint32(n)) }
