package gateway

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// BenchmarkCallPipelineParallel runs whole calls through everything the
// gateway does with SIP after a WebSocket frame is read, as
// BenchmarkRegisterPipeline does for REGISTER, on every core: each of
// GOMAXPROCS goroutines is a browser connection calling a phone
// registered over a connection of its own. One op is INVITE (100, 200
// from the phone), ACK, BYE (200 from the phone), through Inbound, the
// transaction layer, the proxy (routing by the registrar, Record-Route,
// dialog tracking) with no media anchored: SDP passes through. The
// phone's answers and the browser's ACK and BYE are built in the loop
// from what the proxy sent, so the figure includes that test-side work.
//
//	go test -run '^$' -bench CallPipelineParallel -benchmem -cpu 1,2 ./internal/gateway/
func BenchmarkCallPipelineParallel(b *testing.B) {
	runPipelineParallel(b, func(in *siptransport.Inbound, registry *siptransport.Registry, n int) func() error {
		return newBenchCall(b, in, registry, n).call
	})
}

// benchCall is one browser and the phone it calls.
type benchCall struct {
	in             *siptransport.Inbound
	browser, phone *recordingConn
	callee         string // the phone's user
	n, seq         int
}

func newBenchCall(b *testing.B, in *siptransport.Inbound, registry *siptransport.Registry, n int) *benchCall {
	c := &benchCall{in: in, n: n,
		browser: &recordingConn{discardConn: newDiscardConn(fmt.Sprintf("ws-b%d", n), 41000+n)},
		phone:   &recordingConn{discardConn: newDiscardConn(fmt.Sprintf("ws-f%d", n), 42000+n)}}
	registry.Add(c.browser)
	registry.Add(c.phone)
	reg := newRegisterMsg(n*1000 + 999)
	c.callee = fmt.Sprintf("c%d", n*1000+999)
	c.deliver(c.phone, reg.next())
	if res := c.phone.response(); res == nil || res.StatusCode != 200 {
		b.Fatalf("phone's REGISTER answered %v", res)
	}
	return c
}

// deliver hands data to Inbound as the connection's read loop does. Both
// connections' queues are held, so that what the proxy sends to the other
// one is written here too, rather than by a goroutine that a single core
// might not run before the queue fills.
func (c *benchCall) deliver(from *recordingConn, data []byte) {
	c.browser.queue.Hold()
	c.phone.queue.Hold()
	c.in.Message(data, from)
	c.browser.queue.Flush()
	c.phone.queue.Flush()
}

const benchSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

func (c *benchCall) call() error {
	c.seq++
	callID := fmt.Sprintf("b%d-%d", c.n, c.seq)
	from := fmt.Sprintf("<sip:a%d@127.0.0.1>;tag=f%d", c.n, c.seq)
	to := "<sip:" + c.callee + "@127.0.0.1>"
	via := fmt.Sprintf("Via: SIP/2.0/WS b%d.invalid;branch=z9hG4bK%s", c.n, callID)
	c.deliver(c.browser, []byte("INVITE sip:"+c.callee+"@127.0.0.1 SIP/2.0\r\n"+via+"i\r\n"+
		"Max-Forwards: 70\r\nFrom: "+from+"\r\nTo: "+to+"\r\nCall-ID: "+callID+"\r\nCSeq: 1 INVITE\r\n"+
		fmt.Sprintf("Contact: <sip:a%d@b%d.invalid;transport=ws;ob>\r\n", c.n, c.n)+
		"Content-Type: application/sdp\r\n"+fmt.Sprintf("Content-Length: %d\r\n\r\n", len(benchSDP))+benchSDP))
	invite := c.phone.request(sip.INVITE)
	if invite == nil {
		return fmt.Errorf("call %s: the phone got no INVITE; the browser got %v", callID, c.browser.response())
	}
	c.answer(invite, benchSDP)
	ok := c.browser.final()
	if ok == nil || ok.StatusCode != 200 {
		return fmt.Errorf("call %s: INVITE answered %v", callID, ok)
	}
	contact := ok.Contact()
	if contact == nil {
		return fmt.Errorf("call %s: 200 without Contact", callID)
	}
	var route strings.Builder
	for _, rr := range slices.Backward(ok.GetHeaders("Record-Route")) {
		route.WriteString("Route: " + rr.Value() + "\r\n")
	}
	dialog := " " + contact.Address.String() + " SIP/2.0\r\n" + route.String() +
		"Max-Forwards: 70\r\nFrom: " + from + "\r\nTo: " + ok.To().Value() + "\r\nCall-ID: " + callID + "\r\n"
	c.deliver(c.browser, []byte("ACK"+dialog+via+"a\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"))
	if c.phone.request(sip.ACK) == nil {
		return fmt.Errorf("call %s: the phone got no ACK", callID)
	}
	c.deliver(c.browser, []byte("BYE"+dialog+via+"b\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"))
	bye := c.phone.request(sip.BYE)
	if bye == nil {
		return fmt.Errorf("call %s: the phone got no BYE; the browser got %v", callID, c.browser.response())
	}
	c.answer(bye, "")
	if res := c.browser.final(); res == nil || res.StatusCode != 200 {
		return fmt.Errorf("call %s: BYE answered %v", callID, res)
	}
	return nil
}

// answer sends the phone's 200 to req, with a Contact and, for an
// INVITE, the SDP.
func (c *benchCall) answer(req *sip.Request, sdp string) {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if to := res.To(); to != nil && !to.Params.Has("tag") {
		to.Params.Add("tag", "phone")
	}
	res.AppendHeader(sip.NewHeader("Contact", "<sip:"+c.callee+"@127.0.0.1:5070>"))
	if sdp != "" {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.SetBody([]byte(sdp))
	}
	c.deliver(c.phone, siptransport.Marshal(res))
}

// recordingConn is a discardConn that keeps what was sent to it since it
// was last read.
type recordingConn struct {
	*discardConn
	got []sip.Message
}

func (c *recordingConn) Send(msg sip.Message) error {
	c.got = append(c.got, msg)
	return c.discardConn.Send(msg)
}

// SendBuffer records a response rendered by hand as the message it renders.
func (c *recordingConn) SendBuffer(buf *bytes.Buffer) error {
	msg, err := sip.NewParser().ParseSIP(bytes.Clone(buf.Bytes()))
	if err != nil {
		return err
	}
	c.got = append(c.got, msg)
	return c.discardConn.SendBuffer(buf)
}

// request returns the last request of method received, and forgets
// everything received.
func (c *recordingConn) request(method sip.RequestMethod) *sip.Request {
	var found *sip.Request
	for _, m := range c.got {
		if r, ok := m.(*sip.Request); ok && r.Method == method {
			found = r
		}
	}
	c.got = c.got[:0]
	return found
}

// response returns the last response received, and forgets everything
// received.
func (c *recordingConn) response() *sip.Response {
	var found *sip.Response
	for _, m := range c.got {
		if r, ok := m.(*sip.Response); ok {
			found = r
		}
	}
	c.got = c.got[:0]
	return found
}

// final is response, nil unless it is a final response.
func (c *recordingConn) final() *sip.Response {
	if res := c.response(); res != nil && res.StatusCode >= 200 {
		return res
	}
	return nil
}
