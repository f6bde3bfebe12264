//go:build !linux

package sock

// The socket layer is epoll, recvmmsg and sendmmsg: on another system the
// build stops here, on a name that says why.
var _ = switchboardMediaNeedsLinux
