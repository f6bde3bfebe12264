package media

import (
	"net/netip"
	"sync"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// portPool hands out plain-leg port pairs: an even RTP port and RTCP on the
// next one (RFC 3550 §11). It rotates through the range rather than reusing
// the pair just freed, so late packets of an ended call seldom reach the
// next one.
type portPool struct {
	addr   netip.Addr
	lo, hi int // lo even; a pair is (p, p+1) with p+1 <= hi

	mu   sync.Mutex
	used map[int]bool // RTP ports handed out; guarded by mu
	next int          // where the next search starts; guarded by mu
}

func newPortPool(addr netip.Addr, r [2]int) *portPool {
	lo := r[0] + r[0]%2
	return &portPool{addr: addr, lo: lo, hi: r[1], used: map[int]bool{}, next: lo}
}

// pairs is how many port pairs the range holds.
func (p *portPool) pairs() int {
	if p.hi < p.lo+1 {
		return 0
	}
	return (p.hi - p.lo + 1) / 2
}

// bind binds the next free pair. Pairs that another process holds are
// skipped; ErrNoPorts when none is left.
func (p *portPool) bind() (rtp, rtcp *sock.UDP, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.pairs()
	for i := 0; i < n; i++ {
		port := p.next
		p.next += 2
		if p.next+1 > p.hi {
			p.next = p.lo
		}
		if p.used[port] {
			continue
		}
		rtp, rtcp, err = p.listenPair(port)
		if err != nil {
			continue
		}
		p.used[port] = true
		return rtp, rtcp, nil
	}
	return nil, nil, ErrNoPorts
}

func (p *portPool) listenPair(port int) (rtp, rtcp *sock.UDP, err error) {
	rtp, err = sock.Listen(netip.AddrPortFrom(p.addr, uint16(port)))
	if err != nil {
		return nil, nil, err
	}
	rtcp, err = sock.Listen(netip.AddrPortFrom(p.addr, uint16(port+1)))
	if err != nil {
		rtp.Close()
		return nil, nil, err
	}
	return rtp, rtcp, nil
}

// release returns the pair whose RTP port is port; its sockets must be
// closed already.
func (p *portPool) release(port int) {
	p.mu.Lock()
	delete(p.used, port)
	p.mu.Unlock()
}
