package sock

import (
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ListenGroup binds n sockets to one address, so that n pollers can each
// read a share of what many peers send to it. With n of 1 it is Listen.
//
// Otherwise the sockets share the port with SO_REUSEPORT, bound in order,
// so that the kernel's reuseport group holds socket i at index i, and
// steer, when given, becomes the group's classic BPF steering program
// (SO_ATTACH_REUSEPORT_CBPF): it runs on each datagram with the UDP
// payload at offset 0 and returns the index of the socket that receives
// it; an index of n or more leaves the choice to the kernel's hash of the
// 4-tuple, as without a program. Port 0 picks a free port for the group.
// Any socket of the group sends from the group's address.
//
// A port some socket holds already is refused, as Listen refuses it, even
// when that socket would let the group in (another gateway's group, of the
// same user): a second gateway started on the port by mistake fails instead
// of taking a share of the first one's packets.
func ListenGroup(addr netip.AddrPort, n int, steer []bpf.RawInstruction) ([]*UDP, error) {
	if n <= 1 {
		s, err := Listen(addr)
		if err != nil {
			return nil, err
		}
		return []*UDP{s}, nil
	}
	if addr.Port() != 0 {
		probe, err := Listen(addr) // without SO_REUSEPORT: fails if anyone holds the port
		if err != nil {
			return nil, err
		}
		probe.Close()
	}
	group := make([]*UDP, 0, n)
	fail := func(err error) ([]*UDP, error) {
		for _, s := range group {
			s.Close()
		}
		return nil, err
	}
	for range n {
		s, err := listenUDP(addr, true)
		if err != nil {
			return fail(err)
		}
		group = append(group, s)
		addr = s.LocalAddr() // the port the first one got
	}
	if len(steer) > 0 {
		if err := group[0].attachSteering(steer); err != nil {
			return fail(err)
		}
	}
	return group, nil
}

// attachSteering attaches prog to the socket's reuseport group.
func (s *UDP) attachSteering(prog []bpf.RawInstruction) error {
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := unix.SetsockoptSockFprog(s.fd, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fprog); err != nil {
		return fmt.Errorf("SO_ATTACH_REUSEPORT_CBPF: %w", err)
	}
	return nil
}
