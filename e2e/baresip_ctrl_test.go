package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/netns"
)

// baresipCtrl is a client of baresip's ctrl_tcp module: JSON messages framed
// as netstrings (length in decimal, a colon, the bytes, a comma) both ways:
//
//	61:{"command":"dial","params":"sip:alice@127.0.0.1","token":"7"},
//
// baresip joins command and params with a space into a 256-byte buffer and
// runs it as a long menu command (/dial, /hangup, /accept, /reginfo,
// /listcalls, /callstat, /quit; "help" lists them). It answers
//
//	{"response":true,"ok":true,"data":"<the command's output>","token":"7"}
//
// and pushes every UA and call event, unasked, to the connection:
//
//	{"event":true,"class":"call","type":"CALL_ESTABLISHED","id":"652c…",
//	 "direction":"outgoing","peeruri":"sip:alice@127.0.0.1","param":"…"}
//
// ctrl_tcp serves one connection at a time (a new one replaces the old), so
// the client keeps a single connection for the process's life.
type baresipCtrl struct {
	conn     net.Conn
	readDone chan struct{} // closed when readLoop has returned

	wmu sync.Mutex // serialises writes to conn

	mu sync.Mutex
	// Guarded by mu:
	token    int
	pending  map[string]chan ctrlMessage
	events   []BaresipEvent
	calls    []*baresipCall // in the order of their first event
	byID     map[string]*baresipCall
	dialFrom int           // index in calls where the call Dial started will be; -1 when none
	changed  chan struct{} // closed (and replaced) when events or calls change
	readErr  error         // why readLoop ended
}

// BaresipEvent is one event ctrl_tcp pushed.
type BaresipEvent struct {
	Class     string     `json:"class"` // "call", "register", "other", …
	Type      string     `json:"type"`  // CALL_INCOMING, CALL_RINGING, CALL_ESTABLISHED, CALL_RTPESTAB, CALL_RTCP, CALL_CLOSED, REGISTER_OK, …
	Param     string     `json:"param"` // for CALL_CLOSED, the reason
	Direction string     `json:"direction"`
	PeerURI   string     `json:"peeruri"`
	ID        string     `json:"id"` // baresip's call ID; empty on events outside a call
	RTCP      *RTCPStats `json:"rtcp_stats"`
}

// RTCPStats is the rtcp_stats of a CALL_RTCP event, which baresip sends each
// time an RTCP report arrives (about every 5 s, plus one at call start).
type RTCPStats struct {
	TX  RTCPCounts `json:"tx"`  // Sent: RTP packets this phone sent; Lost, Jitter: as the peer reports
	RX  RTCPCounts `json:"rx"`  // Sent: RTP packets this phone received; Lost, Jitter: as it measures them
	RTT int        `json:"rtt"` // round-trip time, µs
}

// RTCPCounts is one direction of RTCPStats.
type RTCPCounts struct {
	Sent   int `json:"sent"`
	Lost   int `json:"lost"`
	Jitter int `json:"jit"` // µs
}

// ctrlMessage is any message from ctrl_tcp: a response or an event.
type ctrlMessage struct {
	Response bool   `json:"response"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
	Token    string `json:"token"`
	Event    bool   `json:"event"`
	BaresipEvent
}

// baresipCall is what the events told about one call.
type baresipCall struct {
	id          string
	state       string // INCOMING, OUTGOING, RINGING, PROGRESS, ESTABLISHED or CLOSED
	established bool   // it reached ESTABLISHED, even if it has closed since
	rtp         bool   // CALL_RTPESTAB: RTP has arrived
	rtcp        RTCPStats
	closeReason string
}

// dialBaresipCtrl connects to ctrl_tcp on 127.0.0.1:port, inside ns if
// it is set.
func dialBaresipCtrl(port int, ns *netns.NS) (*baresipCtrl, error) {
	var conn net.Conn
	dial := func() (err error) {
		conn, err = net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		return err
	}
	var err error
	if ns != nil {
		err = ns.Do(dial)
	} else {
		err = dial()
	}
	if err != nil {
		return nil, fmt.Errorf("ctrl_tcp: %w", err)
	}
	c := &baresipCtrl{
		conn:     conn,
		readDone: make(chan struct{}),
		pending:  make(map[string]chan ctrlMessage),
		byID:     make(map[string]*baresipCall),
		dialFrom: -1,
		changed:  make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

// Command runs a baresip command with params ("" for none) and returns its
// output, or an error if baresip reported one or did not answer within 5 s.
func (c *baresipCtrl) Command(command, params string) (string, error) {
	return c.CommandTimeout(command, params, 5*time.Second)
}

// CommandTimeout is Command with a timeout.
func (c *baresipCtrl) CommandTimeout(command, params string, timeout time.Duration) (string, error) {
	c.mu.Lock()
	c.token++
	token := strconv.Itoa(c.token)
	reply := make(chan ctrlMessage, 1)
	c.pending[token] = reply
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, token)
		c.mu.Unlock()
	}()

	msg := map[string]string{"command": command, "token": token}
	if params != "" {
		msg["params"] = params
	}
	body, _ := json.Marshal(msg)
	c.wmu.Lock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := fmt.Fprintf(c.conn, "%d:%s,", len(body), body)
	c.wmu.Unlock()
	if err != nil {
		return "", fmt.Errorf("ctrl_tcp %s: %w", command, err)
	}
	select {
	case m := <-reply:
		if !m.OK {
			return m.Data, fmt.Errorf("ctrl_tcp %s %s: %s", command, params, strings.TrimSpace(m.Data))
		}
		return m.Data, nil
	case <-c.readDone:
		return "", fmt.Errorf("ctrl_tcp %s: connection closed: %v", command, c.readErr)
	case <-time.After(timeout):
		return "", fmt.Errorf("ctrl_tcp %s: no response within %v", command, timeout)
	}
}

// readLoop reads netstrings until the connection ends, handing responses to
// their commands and recording events.
func (c *baresipCtrl) readLoop() {
	defer close(c.readDone)
	r := bufio.NewReader(c.conn)
	for {
		body, err := readNetstring(r)
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		var m ctrlMessage
		if err := json.Unmarshal(body, &m); err != nil {
			continue // not ours to judge; baresip wrote something odd
		}
		switch {
		case m.Response:
			c.mu.Lock()
			reply := c.pending[m.Token]
			c.mu.Unlock()
			if reply != nil {
				reply <- m
			}
		case m.Event:
			c.record(m.BaresipEvent)
		}
	}
}

// readNetstring reads one "len:bytes," netstring.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	prefix, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(prefix, ":"))
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("bad netstring length %q", prefix)
	}
	body := make([]byte, n+1)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	if body[n] != ',' {
		return nil, fmt.Errorf("netstring of %d bytes not ended by a comma", n)
	}
	return body[:n], nil
}

// record adds ev to the log and to its call's record.
func (c *baresipCtrl) record(ev BaresipEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, ev)
	if ev.ID != "" {
		call := c.byID[ev.ID]
		if call == nil {
			call = &baresipCall{id: ev.ID, state: strings.ToUpper(ev.Direction)}
			c.byID[ev.ID] = call
			c.calls = append(c.calls, call)
		}
		call.update(ev)
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

func (call *baresipCall) update(ev BaresipEvent) {
	if call.state == "CLOSED" {
		return
	}
	switch ev.Type {
	case "CALL_INCOMING", "CALL_RINGING", "CALL_PROGRESS", "CALL_ESTABLISHED", "CALL_CLOSED":
		call.state = strings.TrimPrefix(ev.Type, "CALL_")
	case "CALL_RTPESTAB":
		call.rtp = true
	case "CALL_RTCP":
		if ev.RTCP != nil {
			call.rtcp = *ev.RTCP
		}
	}
	call.established = call.established || call.state == "ESTABLISHED"
	if call.state == "CLOSED" {
		call.closeReason = ev.Param
	}
}

// markDial notes that the next call is the one Dial is about to start, for
// WaitEstablished.
func (c *baresipCtrl) markDial() {
	c.mu.Lock()
	c.dialFrom = len(c.calls)
	c.mu.Unlock()
}

// CallState is the state of the phone's latest call: "" before any call,
// then INCOMING or OUTGOING, RINGING, PROGRESS, ESTABLISHED, CLOSED.
func (c *baresipCtrl) CallState() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if call := c.latestLocked(); call != nil {
		return call.state
	}
	return ""
}

// WaitEstablished waits until the call Dial started or, on a phone that did
// not dial, the next call that was not already over when the wait began, is
// established. It fails as soon as those calls have all closed without.
func (c *baresipCtrl) WaitEstablished(timeout time.Duration) error {
	c.mu.Lock()
	from := c.dialFrom
	c.dialFrom = -1
	if from < 0 {
		from = len(c.calls)
		for i, call := range c.calls {
			if call.state != "CLOSED" {
				from = i
				break
			}
		}
	}
	c.mu.Unlock()
	return c.waitFor("an established call", timeout, func() (bool, error) {
		calls := c.calls[from:]
		closed := 0
		for _, call := range calls {
			if call.established {
				return true, nil
			}
			if call.state == "CLOSED" {
				closed++
			}
		}
		if closed > 0 && closed == len(calls) {
			return false, fmt.Errorf("call closed before it was established: %s", calls[len(calls)-1].closeReason)
		}
		return false, nil
	})
}

// WaitRTP waits until RTP has arrived in the latest call (CALL_RTPESTAB).
func (c *baresipCtrl) WaitRTP(timeout time.Duration) error {
	return c.waitFor("RTP", timeout, func() (bool, error) {
		call := c.latestLocked()
		return call != nil && call.rtp, nil
	})
}

// WaitClosed waits until the latest call has closed and returns the reason
// baresip gave.
func (c *baresipCtrl) WaitClosed(timeout time.Duration) (string, error) {
	var reason string
	err := c.waitFor("the call to close", timeout, func() (bool, error) {
		call := c.latestLocked()
		if call == nil || call.state != "CLOSED" {
			return false, nil
		}
		reason = call.closeReason
		return true, nil
	})
	return reason, err
}

// RTCP returns the latest call's last RTCP statistics (zero before the first
// report).
func (c *baresipCtrl) RTCP() RTCPStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if call := c.latestLocked(); call != nil {
		return call.rtcp
	}
	return RTCPStats{}
}

// Events returns a copy of the events received so far.
func (c *baresipCtrl) Events() []BaresipEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]BaresipEvent(nil), c.events...)
}

// eventTypes lists the types of the events so far, for failure messages.
func (c *baresipCtrl) eventTypes() string {
	if c == nil {
		return "(no ctrl_tcp connection)"
	}
	var types []string
	for _, ev := range c.Events() {
		types = append(types, ev.Type)
	}
	return strings.Join(types, " ")
}

// waitFor calls done, with mu held, after each change until it returns true
// or an error, or until timeout.
func (c *baresipCtrl) waitFor(what string, timeout time.Duration, done func() (bool, error)) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		ok, err := done()
		changed := c.changed
		c.mu.Unlock()
		if ok || err != nil {
			return err
		}
		select {
		case <-changed:
		case <-c.readDone:
			return fmt.Errorf("waiting for %s: ctrl_tcp connection closed: %v", what, c.readErr)
		case <-timer.C:
			return fmt.Errorf("no %s within %v (events: %s)", what, timeout, c.eventTypes())
		}
	}
}

// latestLocked returns the latest call, nil before any.
func (c *baresipCtrl) latestLocked() *baresipCall {
	if len(c.calls) == 0 {
		return nil
	}
	return c.calls[len(c.calls)-1]
}

// close closes the connection and waits for readLoop.
func (c *baresipCtrl) close() {
	c.conn.Close()
	<-c.readDone
}
