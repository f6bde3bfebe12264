package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path over Default and validates the result.
// Decoding is strict: an unknown key, a duplicate key, a key without a value
// or a value of the wrong type is an error. An empty file decodes to
// Default, which Validate rejects until the file lists registrar.users or
// sets registrar.auth: false. Every problem is reported at once, as an
// Errors whose messages name the file and, when the key is in the file, its
// line:
//
//	switchboard.yaml:7: unknown key "max_mesage_size" in websocket (did you mean "max_message_size"?)
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(path, data)
}

// parse is Load for data already read from file.
func parse(file string, data []byte) (*Config, error) {
	c, lines, errs := decode(data)
	if c != nil {
		verrs, _ := errors.AsType[Errors](c.Validate())
		for _, e := range verrs {
			// A key that failed to decode kept its default; what
			// Validate thinks of that default is noise.
			if slices.ContainsFunc(errs, func(d FieldError) bool { return related(d.Key, e.Key) }) {
				continue
			}
			e.Line = lineOf(lines, e.Key)
			errs = append(errs, e)
		}
	}
	if len(errs) == 0 {
		c.src = source{file: file, lines: lines}
		return c, nil
	}
	for i := range errs {
		errs[i].File = file
	}
	// Top to bottom through the file, then the problems with defaults.
	slices.SortStableFunc(errs, func(a, b FieldError) int {
		return cmp.Compare(lineOrder(a.Line), lineOrder(b.Line))
	})
	return nil, errs
}

// decode decodes data over Default without validating the result. It
// returns the line of every key path in data, and the decoding problems.
// The Config is nil only when data is not YAML.
func decode(data []byte) (*Config, map[string]int, Errors) {
	root, err := parseNode(data)
	if err != nil {
		return nil, nil, Errors{yamlError(err)}
	}
	c := Default()
	w := walker{lines: map[string]int{}}
	if root != nil {
		w.value(root, reflect.ValueOf(c).Elem(), "")
	}
	return c, w.lines, w.errs
}

// lineOrder sorts line 0 (not in the file) last.
func lineOrder(line int) int {
	if line == 0 {
		return math.MaxInt
	}
	return line
}

// parseNode parses data as a single YAML document and returns its top
// node, or nil when the document is empty.
func parseNode(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("yaml: line %d: a second YAML document; a config file holds one", next.Line)
	case err != io.EOF:
		return nil, err
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

// yamlLine matches yaml.v3's "line N: message" error texts.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns a yaml.v3 error into a FieldError, moving its line
// number out of the message.
func yamlError(err error) FieldError {
	return withLine(FieldError{}, err.Error())
}

func withLine(e FieldError, msg string) FieldError {
	e.Msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	return e
}

// related reports whether key paths a and b are equal or one encloses the
// other.
func related(a, b string) bool {
	encloses := func(outer, inner string) bool {
		rest, ok := strings.CutPrefix(inner, outer)
		return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
	}
	return a != "" && b != "" && (encloses(a, b) || encloses(b, a))
}

// lineOf returns the line of key in the file, or of its nearest enclosing
// key, or 0.
func lineOf(lines map[string]int, key string) int {
	for key != "" {
		if line, ok := lines[key]; ok {
			return line
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

var durationType = reflect.TypeFor[time.Duration]()

// walker decodes a YAML node tree into a Config, strictly: it reports
// every unknown or repeated key and every value of the wrong type with its
// key path, leaves such keys at their defaults, and records the line of
// every key path it meets. Typed values (addresses, URIs) are parsed here,
// once.
type walker struct {
	lines map[string]int // key path → line
	errs  Errors
}

func (w *walker) failf(n *yaml.Node, key, format string, args ...any) {
	w.errs = append(w.errs, FieldError{Line: n.Line, Key: key, Msg: key + ": " + fmt.Sprintf(format, args...)})
}

// value decodes n, the value of key, into v.
func (w *walker) value(n *yaml.Node, v reflect.Value, key string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if vt, ok := valueTypes[v.Type()]; ok {
		w.typed(n, v, key, vt.parse)
		return
	}
	if v.Type() == publicIPsType {
		w.publicIPs(n, v.Addr().Interface().(*PublicIPs), key)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		w.mapping(n, v, key)
	case reflect.Slice:
		w.sequence(n, v, key)
	default:
		w.scalar(n, v, key)
	}
}

// mapping decodes a block of keys over the values v already holds. Keys
// merged in ("<<: *defaults") come first, so the block's own keys win, as
// in yaml.v3.
func (w *walker) mapping(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		return // "websocket:" alone keeps the defaults
	}
	if n.Kind != yaml.MappingNode {
		w.failf(n, displayKey(key), "expected keys and values, got %s", describe(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Tag == "!!merge" {
			w.merge(n.Content[i+1], v, key)
		}
	}
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			continue
		}
		path := joinKey(key, k.Value)
		if line, dup := seen[k.Value]; dup {
			w.failf(k, path, "set twice (first on line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		f, ok := fields[k.Value]
		if !ok {
			w.unknown(k, key, fields)
			continue
		}
		w.lines[path] = k.Line
		w.value(val, v.FieldByIndex(f.Index), path)
	}
}

// merge decodes the value of a YAML merge key; of several merged blocks
// the first wins.
func (w *walker) merge(n *yaml.Node, v reflect.Value, key string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.SequenceNode {
		w.mapping(n, v, key)
		return
	}
	for _, m := range slices.Backward(n.Content) {
		w.merge(m, v, key)
	}
}

func (w *walker) unknown(k *yaml.Node, key string, fields map[string]reflect.StructField) {
	where := "at the top level"
	if key != "" {
		where = "in " + key
	}
	msg := fmt.Sprintf("unknown key %q %s", k.Value, where)
	if s := suggest(k.Value, fields); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	w.errs = append(w.errs, FieldError{Line: k.Line, Key: joinKey(key, k.Value), Msg: msg})
}

// sequence decodes a list into v, replacing the default list.
func (w *walker) sequence(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		v.Set(reflect.Zero(v.Type())) // "users:" alone is an empty list
		return
	}
	if n.Kind != yaml.SequenceNode {
		w.failf(n, key, "expected a list, got %s", describe(n))
		return
	}
	list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		path := fmt.Sprintf("%s[%d]", key, i)
		w.lines[path] = e.Line
		w.value(e, list.Index(i), path)
	}
	v.Set(list)
}

var publicIPsType = reflect.TypeFor[PublicIPs]()

// publicIPs decodes media.public_ips: "auto", or a list of IPs.
func (w *walker) publicIPs(n *yaml.Node, p *PublicIPs, key string) {
	if n.Kind == yaml.ScalarNode && n.Value == "auto" {
		*p = PublicIPs{Auto: true}
		return
	}
	if n.Kind != yaml.SequenceNode && !isNull(n) {
		w.failf(n, key, `expected "auto" or a list of IP addresses, got %s`, describe(n))
		return
	}
	p.Auto = false
	w.sequence(n, reflect.ValueOf(&p.IPs).Elem(), key)
}

// scalar decodes a string, number, bool or duration into v.
func (w *walker) scalar(n *yaml.Node, v reflect.Value, key string) {
	t := v.Type()
	if !w.isScalar(n, t, key) {
		return
	}
	p := reflect.New(t)
	err := n.Decode(p.Interface())
	switch {
	case err == nil && isInteger(t) && n.ShortTag() == "!!float":
		// yaml.v3 would silently drop the fraction.
		w.failf(n, key, "cannot parse %q as %s", n.Value, typeName(t))
	case err == nil:
		v.Set(p.Elem())
	case t == durationType && isDigits(n.Value):
		w.failf(n, key, "cannot parse %q as a duration (add a unit, like \"%ss\")", n.Value, n.Value)
	default:
		w.failf(n, key, "cannot parse %q as %s", n.Value, typeName(t))
	}
}

// typed decodes a value written as a string, such as an address or a URI,
// with parse.
func (w *walker) typed(n *yaml.Node, v reflect.Value, key string, parse valueParser) {
	if !w.isScalar(n, v.Type(), key) {
		return
	}
	got, err := parse(n.Value)
	if err != nil {
		for msg := range strings.SplitSeq(err.Error(), "\n") {
			w.failf(n, key, "%s", msg)
		}
		return
	}
	v.Set(got)
}

// isScalar reports whether n is a scalar with a value, else reports why
// not.
func (w *walker) isScalar(n *yaml.Node, t reflect.Type, key string) bool {
	if n.Kind != yaml.ScalarNode {
		w.failf(n, key, "expected %s, got %s", typeName(t), describe(n))
		return false
	}
	if isNull(n) {
		hint := ""
		if _, typed := valueTypes[t]; typed || t.Kind() == reflect.String {
			hint = `write "" for an empty value, or `
		}
		w.failf(n, key, "has no value (%sremove the key to keep the default)", hint)
		return false
	}
	return true
}

func isInteger(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Uint16:
		return true
	}
	return false
}

// yamlFields returns the fields of struct type t by YAML key, with those
// of inlined structs (`yaml:",inline"`) as if they were t's own; Index
// reaches them from t.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case name == "" && opts == "inline":
			for k, inner := range yamlFields(f.Type) {
				inner.Index = append([]int{f.Index[0]}, inner.Index...)
				fields[k] = inner
			}
		case name != "":
			fields[name] = f
		}
	}
	return fields
}

// suggest returns the key in fields closest to a misspelt key, or "".
func suggest(key string, fields map[string]reflect.StructField) string {
	best, bestDist := "", len(key)/3+1
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if d := editDistance(key, name); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance returns the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func joinKey(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func displayKey(key string) string {
	if key == "" {
		return "the file"
	}
	return key
}

// describe names the kind of YAML value n is, for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "keys and values"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// typeName names a Go type as the config file reader sees it.
func typeName(t reflect.Type) string {
	if vt, ok := valueTypes[t]; ok {
		return vt.name
	}
	switch {
	case t == durationType:
		return `a duration (like "30s")`
	case t.Kind() == reflect.Int:
		return "a whole number"
	case t.Kind() == reflect.Uint16:
		return "a port number (0 to 65535)"
	case t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.String:
		return "a string"
	}
	return t.String()
}
