package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// footprint is what a gateway process holds: from its /metrics, and the
// same read from /proc as a cross-check.
type footprint struct {
	Goroutines int   // go_goroutines
	FDs        int   // process_open_fds
	RSS        int64 // process_resident_memory_bytes
	HeapInuse  int64 // go_memstats_heap_inuse_bytes
	HeapAlloc  int64 // go_memstats_heap_alloc_bytes
	WebSockets int   // switchboard_websocket_connections

	ProcFDs int   // entries of /proc/PID/fd
	ProcRSS int64 // VmRSS of /proc/PID/status
}

func (f footprint) String() string {
	return fmt.Sprintf("goroutines %d, fds %d (/proc %d), RSS %.1f MiB (/proc %.1f), heap in use %.1f MiB (live objects %.1f), websockets %d",
		f.Goroutines, f.FDs, f.ProcFDs, mib(f.RSS), mib(f.ProcRSS), mib(f.HeapInuse), mib(f.HeapAlloc), f.WebSockets)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// scrapeClient opens a connection per scrape, so that no idle keep-alive
// connection of ours sits in the gateway between scrapes, and asks for no
// gzip, whose writer (some 1.8 MiB) would sit in the heap measured.
var scrapeClient = &http.Client{Timeout: 5 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}

// readFootprint scrapes g's /metrics and reads /proc/PID.
func readFootprint(t testing.TB, g *Gateway) footprint {
	t.Helper()
	m, err := scrapeMetrics(g)
	if err != nil {
		t.Fatal(err)
	}
	f := footprint{Goroutines: int(m["go_goroutines"]), FDs: int(m["process_open_fds"]),
		RSS: int64(m["process_resident_memory_bytes"]), HeapInuse: int64(m["go_memstats_heap_inuse_bytes"]),
		HeapAlloc:  int64(m["go_memstats_heap_alloc_bytes"]),
		WebSockets: int(m["switchboard_websocket_connections"])}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", g.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	f.ProcFDs = len(fds)
	if f.ProcRSS, err = procRSS(g.Pid()); err != nil {
		t.Fatal(err)
	}
	return f
}

// settledFootprint leaves g idle for idle, has it collect its garbage,
// then takes samples 250 ms apart and keeps the least of each figure: the
// footprint without what a scrape or a last timer holds for a moment.
func settledFootprint(t testing.TB, g *Gateway, idle time.Duration, samples int) footprint {
	t.Helper()
	time.Sleep(idle)
	collectGarbage(t, g)
	low := readFootprint(t, g)
	for range samples - 1 {
		time.Sleep(250 * time.Millisecond)
		f := readFootprint(t, g)
		low.Goroutines = min(low.Goroutines, f.Goroutines)
		low.FDs, low.ProcFDs = min(low.FDs, f.FDs), min(low.ProcFDs, f.ProcFDs)
		low.RSS, low.ProcRSS = min(low.RSS, f.RSS), min(low.ProcRSS, f.ProcRSS)
		low.HeapInuse, low.HeapAlloc = min(low.HeapInuse, f.HeapInuse), min(low.HeapAlloc, f.HeapAlloc)
		low.WebSockets = min(low.WebSockets, f.WebSockets)
	}
	return low
}

// collectGarbage has the idle gateway run two garbage collections, so
// that its heap in use is what is live, not what was freed since the last
// one: an idle Go process collects only every two minutes. Each scrape of
// /metrics allocates, so it scrapes until go_gc_duration_seconds_count has
// grown by two (the second sweeps what the first freed), for at most 20 s.
func collectGarbage(t testing.TB, g *Gateway) {
	t.Helper()
	const count = "go_gc_duration_seconds_count"
	first, err := scrapeMetrics(g)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		m, err := scrapeMetrics(g)
		if err != nil {
			t.Fatal(err)
		}
		if m[count] >= first[count]+2 {
			return
		}
	}
	t.Fatalf("the gateway ran no two garbage collections within 20 s of scrapes")
}

// scrapeMetrics returns the unlabelled samples of g's /metrics, and each
// labelled one under its full name ("name{label=...}").
func scrapeMetrics(g *Gateway) (map[string]float64, error) {
	res, err := scrapeClient.Get("http://" + g.Admin.String() + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", res.Status)
	}
	return parseMetrics(res.Body)
}

func parseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			return nil, fmt.Errorf("metrics line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sumMetric adds up every sample of the metric name, whatever its labels.
func sumMetric(m map[string]float64, name string) float64 {
	var sum float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			sum += v
		}
	}
	return sum
}

// procRSS reads VmRSS from /proc/PID/status, in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// establishedTo counts the TCP connections in state ESTABLISHED whose
// local end is port, from /proc/net/tcp: the gateway's side of its
// accepted connections on a listener.
func establishedTo(t testing.TB, port uint16) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(":%04X", port)
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "01" {
			n++
		}
	}
	return n
}
