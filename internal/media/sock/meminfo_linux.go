package sock

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// soMeminfo is SO_MEMINFO (include/uapi/asm-generic/socket.h), which
// golang.org/x/sys does not name.
const soMeminfo = 55

// RecvQueue is a reading of a socket's receive queue, from SO_MEMINFO.
type RecvQueue struct {
	// Used is the memory its queued datagrams take, Limit the most it may
	// take (SO_RCVBUF, doubled by the kernel), in bytes.
	Used, Limit int
	// Drops counts the datagrams the kernel dropped on it since it was
	// opened, mostly because the queue was full.
	Drops uint64
}

// RecvQueue reads the socket's receive queue: one getsockopt, which takes
// no lock that a packet path shares.
func (s *UDP) RecvQueue() (RecvQueue, error) {
	var info [unix.SK_MEMINFO_VARS]uint32
	size := uint32(unsafe.Sizeof(info))
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return RecvQueue{}, net.ErrClosed
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(s.fd), unix.SOL_SOCKET, soMeminfo,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return RecvQueue{}, errno
	}
	return RecvQueue{Used: int(info[unix.SK_MEMINFO_RMEM_ALLOC]), Limit: int(info[unix.SK_MEMINFO_RCVBUF]),
		Drops: uint64(info[unix.SK_MEMINFO_DROPS])}, nil
}
