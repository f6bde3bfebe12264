// Package sock is the media path's socket layer: non-blocking UDP sockets
// read and written with raw system calls, and pollers that read many of
// them from one goroutine each.
//
// A UDP socket sends with sendto and the address on the stack; a Poller
// keeps its sockets in an epoll set that parks in Go's netpoller as one
// descriptor, and hands every datagram it reads to the Handler its socket
// was added with, along with the poller's worker state. A socket shared by
// many peers is drained with recvmmsg, and an Outbox gathers what a
// round sends for one sendmmsg, reporting each datagram's fate to a Tally.
// Such a socket can be a group of SO_REUSEPORT sockets, one per poller,
// among which a classic BPF program the caller writes steers datagrams
// (ListenGroup); a poller hands a socket to another between two rounds
// (Poller.Move), and counts what it reads (Poller.Stats).
// The package knows sockets, datagrams, source addresses and handlers, and
// nothing of what the datagrams carry.
//
// It uses epoll, eventfd, recvmmsg, sendmmsg and SO_REUSEPORT, and so
// builds on Linux only.
package sock
