package gateway

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// The torture corpus (testdata/torture) holds one file per test message of
// RFC 4475 §3 and RFC 5118 §4, written for switchboard rather than copied:
// the RFCs' archives cannot be fetched here, and each message need only have
// the property its RFC case is about. A file is a header block, a line
// "--", and the message:
//
//	rfc: 4475 §3.1.1.1
//	name: wsinv
//	title: A Short Tortuous INVITE
//	expect: 407
//	expect.stream: 401 407
//	why: why that answer, for a proxy and registrar
//	--
//	INVITE sip:alice@{{.Domain}} SIP/2.0
//	...
//
// The message's lines end in CRLF on the wire, the last one too; a
// template action writes anything else: {{.Domain}} the gateway's domain,
// {{.Via}} the sender's own address, {{.T}} its Via transport (UDP, TCP,
// TLS, WS), {{.ID}} a token unique to the case and transport (Call-IDs,
// branches, tags), {{repeat "x" 500}} a long run, and Go string escapes
// for the bytes no line may hold ({{"\x00"}}, {{"\n"}}). {{.Len}} is the
// length of what follows the first blank line.
//
// expect lists the final answers in order (1xx are not counted), "none"
// for silence, and "close" when the stream must then be closed (TCP, TLS)
// or the WebSocket closed with 1002. expect.udp, expect.stream (TCP and
// TLS) and expect.ws override it for one kind of transport.
type tortureCase struct {
	file, rfc, name, title, why string
	expect                      map[string]expectation // "", "udp", "stream", "ws"
	message                     *template.Template
}

// expectation is what the gateway must answer a case with.
type expectation struct {
	codes []int
	close bool
}

func (e expectation) String() string {
	var parts []string
	for _, c := range e.codes {
		parts = append(parts, strconv.Itoa(c))
	}
	if len(parts) == 0 {
		parts = append(parts, "none")
	}
	if e.close {
		parts = append(parts, "close")
	}
	return strings.Join(parts, " ")
}

// tortureVars are the values a case's template reads.
type tortureVars struct {
	Domain, Via, T, ID string
	Len                string // a placeholder, replaced once the message is rendered
}

const lenPlaceholder = "\x00LEN\x00"

// loadTorture reads every case of dir.
func loadTorture(dir string) ([]*tortureCase, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sip"))
	if err != nil {
		return nil, err
	}
	var cases []*tortureCase
	for _, f := range files {
		c, err := parseTorture(f)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	slices.SortFunc(cases, func(a, b *tortureCase) int { return strings.Compare(a.file, b.file) })
	return cases, nil
}

func parseTorture(file string) (*tortureCase, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	head, msg, ok := strings.Cut(string(data), "\n--\n")
	if !ok {
		return nil, fmt.Errorf("%s: no \"--\" line", file)
	}
	c := &tortureCase{file: filepath.Base(file), expect: map[string]expectation{}}
	for i, line := range strings.Split(head, "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want key: value", file, i+1)
		}
		value = strings.TrimSpace(value)
		switch key {
		case "rfc":
			c.rfc = value
		case "name":
			c.name = value
		case "title":
			c.title = value
		case "why":
			c.why = value
		case "expect", "expect.udp", "expect.stream", "expect.ws":
			e, err := parseExpectation(value)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, i+1, err)
			}
			c.expect[strings.TrimPrefix(strings.TrimPrefix(key, "expect"), ".")] = e
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q", file, i+1, key)
		}
	}
	if c.rfc == "" || c.name == "" || c.why == "" {
		return nil, fmt.Errorf("%s: rfc, name and why are required", file)
	}
	if _, ok := c.expect[""]; !ok {
		return nil, fmt.Errorf("%s: no expect", file)
	}
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	c.message, err = template.New(c.file).Funcs(template.FuncMap{"repeat": strings.Repeat}).Parse(msg)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return c, nil
}

func parseExpectation(s string) (expectation, error) {
	var e expectation
	for _, f := range strings.Fields(s) {
		switch f {
		case "none":
		case "close":
			e.close = true
		default:
			code, err := strconv.Atoi(f)
			if err != nil || code < 100 || code > 699 {
				return e, fmt.Errorf("bad expectation %q", f)
			}
			e.codes = append(e.codes, code)
		}
	}
	return e, nil
}

// expectFor returns what the case expects over transport.
func (c *tortureCase) expectFor(transport string) expectation {
	kind := map[string]string{"UDP": "udp", "TCP": "stream", "TLS": "stream", "WS": "ws"}[transport]
	if e, ok := c.expect[kind]; ok {
		return e
	}
	return c.expect[""]
}

// render writes the case's message for a sender.
func (c *tortureCase) render(v tortureVars) ([]byte, error) {
	v.Len = lenPlaceholder
	var b bytes.Buffer
	if err := c.message.Execute(&b, v); err != nil {
		return nil, err
	}
	out := b.Bytes()
	if _, body, ok := bytes.Cut(out, []byte("\r\n\r\n")); ok {
		n := len(body) - bytes.Count(body, []byte(lenPlaceholder))*len(lenPlaceholder)
		out = bytes.ReplaceAll(out, []byte(lenPlaceholder), []byte(strconv.Itoa(n)))
	}
	return out, nil
}
