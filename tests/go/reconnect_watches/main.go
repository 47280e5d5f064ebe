// reconnect_watches drives go-zookeeper (github.com/samuel/go-zookeeper, now
// github.com/go-zookeeper/zk) through a forced reconnect and checks what a Go service
// relies on afterwards:
//
//   - the client re-sends its credentials (auth, ordinary positive xid) and they count;
//   - the client re-registers data, exist and child watches with setWatches (ordinary
//     positive xid), the server answers that request under the same xid, and the watches
//     fire when another client changes the nodes;
//   - the client logs nothing about replies it could not match ("Xid < 0 ...",
//     "Response for unknown request ...", "Failed to set previous watches ...").
//
// Usage: reconnect_watches HOST:PORT. Exit 0 on success; otherwise prints why and exits 1.
// Built and run by tests/client_go.rs (GOPATH mode against Debian's
// golang-github-samuel-go-zookeeper-dev, no network).
package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/samuel/go-zookeeper/zk"
)

const wait = 10 * time.Second

// logger keeps every line the client logs, so the run can be checked for complaints.
type logger struct {
	mu    sync.Mutex
	lines []string
}

func (l *logger) Printf(format string, args ...interface{}) {
	line := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, "go-zookeeper:", line)
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

func (l *logger) complaints() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var bad []string
	for _, line := range l.lines {
		for _, marker := range []string{"Xid < 0", "unknown request", "Failed to set previous watches"} {
			if strings.Contains(line, marker) {
				bad = append(bad, line)
			}
		}
	}
	return bad
}

// dialer remembers the client's current socket so the test can cut it.
type dialer struct {
	mu   sync.Mutex
	last net.Conn
}

func (d *dialer) dial(network, address string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout(network, address, timeout)
	if err == nil {
		d.mu.Lock()
		d.last = c
		d.mu.Unlock()
	}
	return c, err
}

func (d *dialer) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last != nil {
		d.last.Close()
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func must(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

// awaitState reads session events until `want` arrives.
func awaitState(events <-chan zk.Event, want zk.State) {
	deadline := time.After(wait)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				fail("event channel closed while waiting for %v", want)
			}
			if ev.State == want {
				return
			}
		case <-deadline:
			fail("no %v within %v", want, wait)
		}
	}
}

func awaitWatch(ch <-chan zk.Event, what string, want zk.EventType) {
	select {
	case ev := <-ch:
		if ev.Type != want {
			fail("%s watch: got %v (%v), want %v", what, ev.Type, ev.Err, want)
		}
	case <-time.After(wait):
		fail("%s watch did not fire within %v after the reconnect", what, wait)
	}
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: reconnect_watches HOST:PORT")
	}
	addr := os.Args[1]
	log := &logger{}
	d := &dialer{}
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithDialer(d.dial), zk.WithLogger(log))
	must(err, "connect")
	awaitState(events, zk.StateHasSession)
	session := c.SessionID()

	must(c.AddAuth("digest", []byte("gouser:gopw")), "addAuth")
	acl := zk.WorldACL(zk.PermAll)
	_, err = c.Create("/go-reconnect", []byte("v0"), 0, acl)
	must(err, "create /go-reconnect")
	_, err = c.Create("/go-reconnect/secret", []byte("s"), 0, zk.DigestACL(zk.PermAll, "gouser", "gopw"))
	must(err, "create /go-reconnect/secret")
	// One node per watch type: this client delivers a data change to child watches of the
	// same path too, so the paths are kept apart to tell the three registrations apart.
	for _, p := range []string{"/go-reconnect/data", "/go-reconnect/kids"} {
		_, err = c.Create(p, nil, 0, acl)
		must(err, "create "+p)
	}

	_, _, dataW, err := c.GetW("/go-reconnect/data")
	must(err, "getW")
	_, _, childW, err := c.ChildrenW("/go-reconnect/kids")
	must(err, "childrenW")
	exists, _, existW, err := c.ExistsW("/go-reconnect/new")
	must(err, "existsW")
	if exists {
		fail("/go-reconnect/new exists already")
	}

	// Cut the socket: the client reconnects to the same session, re-sends its credentials
	// and re-registers the three watches with setWatches.
	d.cut()
	awaitState(events, zk.StateDisconnected)
	awaitState(events, zk.StateHasSession)
	if c.SessionID() != session {
		fail("reconnect gave session %#x, want %#x", c.SessionID(), session)
	}
	// The credentials were re-sent: the digest-protected node is readable.
	_, _, err = c.Get("/go-reconnect/secret")
	must(err, "get digest-protected node after the reconnect")

	// Another client changes the nodes; every re-registered watch must fire.
	other, otherEvents, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(log))
	must(err, "connect second client")
	awaitState(otherEvents, zk.StateHasSession)
	_, err = other.Set("/go-reconnect/data", []byte("v1"), -1)
	must(err, "set")
	_, err = other.Create("/go-reconnect/kids/k", nil, 0, acl)
	must(err, "create /go-reconnect/kids/k")
	_, err = other.Create("/go-reconnect/new", nil, 0, acl)
	must(err, "create /go-reconnect/new")
	awaitWatch(dataW, "data", zk.EventNodeDataChanged)
	awaitWatch(childW, "child", zk.EventNodeChildrenChanged)
	awaitWatch(existW, "exist", zk.EventNodeCreated)

	// A round trip after the events: by now the setWatches answer has arrived (replies and
	// events of a session are ordered), so a dropped answer shows up in the log, and on
	// Close the client fails any setWatches still waiting for one.
	_, err = c.Sync("/go-reconnect")
	must(err, "sync")
	c.Close()
	other.Close()
	time.Sleep(300 * time.Millisecond)
	if bad := log.complaints(); len(bad) > 0 {
		fail("the client could not match replies: %q", bad)
	}
	fmt.Println("OK: watches re-registered and fired after a reconnect")
}
