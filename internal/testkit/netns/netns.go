// Package netns builds the network conditions a test needs out of Linux
// network namespaces it creates and removes: hosts joined by veth pairs,
// a router that masquerades, and firewall rules per scenario (everything
// out; no UDP but to one port; only TCP to 443). Addresses are the ones
// the test assigns inside its own namespaces; nothing leaves the machine.
//
// It needs root and iproute2 and iptables (Debian's iproute2 and iptables
// packages); New skips the test without them.
package netns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Lab is the namespaces of one test; t.Cleanup removes them.
type Lab struct {
	t      testing.TB
	prefix string
	spaces []*NS
}

// NS is one network namespace of a Lab: a host or a router.
type NS struct {
	lab  *Lab
	Name string // as `ip netns` knows it
}

// New starts a lab, or skips t where namespaces cannot be made.
func New(t testing.TB) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netns: needs root to create network namespaces")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("netns: %s not installed (scripts/test-deps.sh installs it)", tool)
		}
	}
	var b [3]byte
	rand.Read(b[:])
	l := &Lab{t: t, prefix: "sb" + hex.EncodeToString(b[:])}
	t.Cleanup(l.close)
	return l
}

// Host adds a namespace with its loopback up.
func (l *Lab) Host(name string) *NS {
	l.t.Helper()
	n := &NS{lab: l, Name: l.prefix + "-" + name}
	l.run("ip", "netns", "add", n.Name)
	l.spaces = append(l.spaces, n)
	n.Must("ip", "link", "set", "lo", "up")
	return n
}

// Link joins a and b with a veth pair, aIf in a with address aAddr and bIf
// in b with bAddr (CIDR prefixes, such as "10.0.0.1/24"), both up.
func (l *Lab) Link(a *NS, aIf, aAddr string, b *NS, bIf, bAddr string) {
	l.t.Helper()
	tmpA, tmpB := l.prefix+"a"+fmt.Sprint(len(l.spaces)), l.prefix+"b"+fmt.Sprint(len(l.spaces))
	l.run("ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB)
	l.run("ip", "link", "set", tmpA, "netns", a.Name)
	l.run("ip", "link", "set", tmpB, "netns", b.Name)
	for _, end := range []struct {
		ns        *NS
		tmp, name string
		addr      string
	}{{a, tmpA, aIf, aAddr}, {b, tmpB, bIf, bAddr}} {
		end.ns.Must("ip", "link", "set", end.tmp, "name", end.name)
		end.ns.Must("ip", "addr", "add", end.addr, "dev", end.name)
		end.ns.Must("ip", "link", "set", end.name, "up")
	}
}

// Must runs a command inside n and fails the test if it fails.
func (n *NS) Must(args ...string) {
	n.lab.t.Helper()
	if out, err := n.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		n.lab.t.Fatalf("netns %s: %s: %v\n%s", n.Name, strings.Join(args, " "), err, out)
	}
}

// Command is a command to run inside n (ip netns exec).
func (n *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Wrap returns argv run inside n: for harnesses that start programs
// themselves.
func (n *NS) Wrap(argv ...string) []string {
	return append([]string{"ip", "netns", "exec", n.Name}, argv...)
}

// Do runs f on an OS thread that is inside n: the sockets f opens live in
// n for good, whichever goroutine uses them later. Only sockets: what f
// starts in other goroutines runs outside.
func (n *NS) Do(f func() error) error {
	target, err := unix.Open("/var/run/netns/"+n.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns %s: %w", n.Name, err)
	}
	defer unix.Close(target)
	runtime.LockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(self)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %s: setns: %w", n.Name, err)
	}
	ferr := f()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		// The thread stays locked and dies with this goroutine rather
		// than serve others from the wrong namespace.
		return fmt.Errorf("netns %s: back from setns: %w", n.Name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Hosts gives the programs run in n (ip netns exec, Command, Wrap) an
// /etc/hosts of their own with these lines, "ADDRESS NAME", and a DNS
// server of their own that answers for the same names (see resolver): ip
// netns exec mounts /etc/netns/NAME/hosts over /etc/hosts and
// /etc/netns/NAME/resolv.conf over /etc/resolv.conf. The lab removes the
// files and stops the server. Sockets opened in Do see neither.
func (n *NS) Hosts(lines ...string) {
	n.lab.t.Helper()
	records := map[string]netip.Addr{}
	for _, line := range lines {
		f := strings.Fields(line)
		addr, err := netip.ParseAddr(f[0])
		if len(f) < 2 || err != nil {
			n.lab.t.Fatalf("netns %s: hosts line %q: want ADDRESS NAME...", n.Name, line)
		}
		for _, name := range f[1:] {
			records[strings.ToLower(name)+"."] = addr
		}
	}
	dir := n.etcDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		n.lab.t.Fatalf("netns %s: %v", n.Name, err)
	}
	hosts := "127.0.0.1 localhost\n" + strings.Join(lines, "\n") + "\n"
	resolvConf := "nameserver " + strings.TrimSuffix(resolverAddr, ":53") + "\n"
	for name, content := range map[string]string{"hosts": hosts, "resolv.conf": resolvConf} {
		if err := os.WriteFile(dir+"/"+name, []byte(content), 0o644); err != nil {
			n.lab.t.Fatalf("netns %s: %v", n.Name, err)
		}
	}
	r, err := n.startResolver(records)
	if err != nil {
		n.lab.t.Fatalf("netns %s: DNS server: %v", n.Name, err)
	}
	n.lab.t.Cleanup(r.close)
}

// etcDir is where ip netns exec finds n's own /etc files.
func (n *NS) etcDir() string { return "/etc/netns/" + n.Name }

// Addr is the first address of ifName in n.
func (n *NS) Addr(ifName string) netip.Addr {
	n.lab.t.Helper()
	out, err := n.Command("ip", "-o", "-4", "addr", "show", "dev", ifName).Output()
	if err != nil {
		n.lab.t.Fatalf("netns %s: addresses of %s: %v", n.Name, ifName, err)
	}
	for _, f := range strings.Fields(string(out)) {
		if p, err := netip.ParsePrefix(f); err == nil {
			return p.Addr()
		}
	}
	n.lab.t.Fatalf("netns %s: no IPv4 address on %s", n.Name, ifName)
	return netip.Addr{}
}

func (l *Lab) run(args ...string) {
	l.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		l.t.Fatalf("netns: %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// close deletes the namespaces (their veth ends go with them). Processes
// still inside keep a namespace alive until they exit: tests stop theirs
// in earlier cleanups.
func (l *Lab) close() {
	for i := len(l.spaces) - 1; i >= 0; i-- {
		if err := os.RemoveAll(l.spaces[i].etcDir()); err != nil {
			l.t.Errorf("netns: %v", err)
		}
		if out, err := exec.Command("ip", "netns", "del", l.spaces[i].Name).CombinedOutput(); err != nil {
			l.t.Errorf("netns: removing %s: %v\n%s", l.spaces[i].Name, err, out)
		}
	}
}
