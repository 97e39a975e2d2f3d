// Package natscluster runs a real NATS cluster for tests and benchmarks:
// nats-server processes (the version in go.mod, built once from the module
// graph), every port on 127.0.0.1, each node with its own store directory,
// that a test kills with SIGKILL and restarts. It is internal: a harness,
// not an API.
package natscluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TB is the part of testing.TB the cluster uses.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	TempDir() string
}

// Cluster is a running cluster of nats-server processes.
type Cluster struct {
	tb    TB
	bin   string
	Nodes []*Node
}

// Node is one nats-server of a cluster.
type Node struct {
	Name        string
	Port        int // client port
	ClusterPort int
	HTTPPort    int // monitoring
	dir         string
	conf        string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// URL is the node's client URL.
func (n *Node) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.Port) }

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// Binary returns the path of a nats-server binary of the version go.mod
// requires, building it on first use into the user's cache directory (so
// that later test binaries reuse it).
func Binary() (string, error) {
	buildOnce.Do(func() { buildBin, buildErr = build() })
	return buildBin, buildErr
}

func build() (string, error) {
	version := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/nats-io/nats-server/v2" {
				version = d.Version
				if d.Replace != nil {
					version = d.Replace.Version
				}
			}
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "rewind-test")
	bin := filepath.Join(dir, "nats-server-"+version)
	if version != "unknown" {
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, "github.com/nats-io/nats-server/v2")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build nats-server: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// Start runs a cluster of n nodes and waits until its JetStream has a meta
// leader. The nodes are killed when the test ends.
func Start(tb TB, n int) *Cluster {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		tb.Fatalf("natscluster: %v", err)
	}
	c := &Cluster{tb: tb, bin: bin}
	ports := freePorts(tb, 3*n)
	root := tb.TempDir()
	var routes []string
	for i := 0; i < n; i++ {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3*i+1]))
	}
	for i := 0; i < n; i++ {
		nd := &Node{Name: fmt.Sprintf("n%d", i+1), Port: ports[3*i], ClusterPort: ports[3*i+1], HTTPPort: ports[3*i+2],
			dir: filepath.Join(root, fmt.Sprintf("n%d", i+1))}
		if err := os.MkdirAll(nd.dir, 0o755); err != nil {
			tb.Fatalf("natscluster: %v", err)
		}
		nd.conf = filepath.Join(nd.dir, "nats.conf")
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
jetstream {
  store_dir: %q
  max_memory_store: 256MB
  max_file_store: 4GB
}
cluster {
  name: rewind-test
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, nd.Name, nd.Port, nd.HTTPPort, filepath.Join(nd.dir, "store"), nd.ClusterPort, strings.Join(routes, ", "))
		if err := os.WriteFile(nd.conf, []byte(conf), 0o644); err != nil {
			tb.Fatalf("natscluster: %v", err)
		}
		c.Nodes = append(c.Nodes, nd)
	}
	tb.Cleanup(c.Stop)
	for i := range c.Nodes {
		c.Restart(i)
	}
	c.WaitReady(60 * time.Second)
	return c
}

// URLs is the comma-separated list of the nodes' client URLs that
// nats.Connect (and eventstore.Connect, rewind serve --nats) takes.
func (c *Cluster) URLs() string {
	var urls []string
	for _, n := range c.Nodes {
		urls = append(urls, n.URL())
	}
	return strings.Join(urls, ",")
}

// Restart starts node i (again), on its ports and store directory.
func (c *Cluster) Restart(i int) {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		c.tb.Fatalf("natscluster: %s is running", n.Name)
	}
	logf, err := os.OpenFile(filepath.Join(n.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.tb.Fatalf("natscluster: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(c.bin, "-c", n.conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.tb.Fatalf("natscluster: start %s: %v", n.Name, err)
	}
	n.cmd = cmd
}

// Kill kills node i with SIGKILL and waits for it to be gone.
func (c *Cluster) Kill(i int) {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	_ = n.cmd.Wait()
	n.cmd = nil
}

// Pid returns the process id of node i, or 0 when it does not run.
func (c *Cluster) Pid(i int) int {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Running reports whether node i runs.
func (c *Cluster) Running(i int) bool {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}

// Stop kills every node.
func (c *Cluster) Stop() {
	for i := range c.Nodes {
		c.Kill(i)
	}
}

// jsz is the part of a node's /jsz the cluster reads.
type jsz struct {
	Meta *struct {
		Leader  string `json:"leader"`
		Replica []struct {
			Name    string `json:"name"`
			Current bool   `json:"current"`
			Offline bool   `json:"offline"`
		} `json:"replicas"`
	} `json:"meta_cluster"`
	AccountDetails []struct {
		Streams []struct {
			Name    string `json:"name"`
			Cluster *struct {
				Leader string `json:"leader"`
			} `json:"cluster"`
			Config *struct {
				Replicas int `json:"num_replicas"`
			} `json:"config"`
		} `json:"stream_detail"`
	} `json:"account_details"`
}

func (c *Cluster) jsz(i int, query string) (*jsz, error) {
	var j jsz
	if err := c.monitor(i, "jsz?"+query, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// monitor reads node i's monitoring endpoint path (with its query) into v.
func (c *Cluster) monitor(i int, path string, v any) error {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/%s", c.Nodes[i].HTTPPort, path))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// ClientNodes returns the index of the node each client connection named
// name is connected to (from every running node's /connz), in no order.
func (c *Cluster) ClientNodes(name string) []int {
	var at []int
	for i := range c.Nodes {
		if !c.Running(i) {
			continue
		}
		var z struct {
			Conns []struct {
				Name string `json:"name"`
			} `json:"connections"`
		}
		if c.monitor(i, "connz?limit=1024", &z) != nil {
			continue
		}
		for _, conn := range z.Conns {
			if conn.Name == name {
				at = append(at, i)
			}
		}
	}
	return at
}

// MetaLeader returns the index of the node that leads the JetStream meta
// layer, or -1 when no running node knows one.
func (c *Cluster) MetaLeader() int {
	for i := range c.Nodes {
		if !c.Running(i) {
			continue
		}
		if j, err := c.jsz(i, ""); err == nil && j.Meta != nil && j.Meta.Leader != "" {
			return c.index(j.Meta.Leader)
		}
	}
	return -1
}

// StreamLeader returns the index of the node that leads the JetStream
// stream name, or -1 when no running node knows one.
func (c *Cluster) StreamLeader(name string) int {
	for i := range c.Nodes {
		if !c.Running(i) {
			continue
		}
		j, err := c.jsz(i, "streams=true&config=true")
		if err != nil {
			continue
		}
		for _, a := range j.AccountDetails {
			for _, s := range a.Streams {
				if s.Name == name && s.Cluster != nil && s.Cluster.Leader != "" {
					return c.index(s.Cluster.Leader)
				}
			}
		}
	}
	return -1
}

func (c *Cluster) index(name string) int {
	for i, n := range c.Nodes {
		if n.Name == name {
			return i
		}
	}
	return -1
}

// WaitReady waits until every running node answers and the meta layer has
// a leader that every running node knows.
func (c *Cluster) WaitReady(timeout time.Duration) {
	c.tb.Helper()
	if err := c.waitReady(timeout); err != nil {
		c.tb.Fatalf("natscluster: %v", err)
	}
}

func (c *Cluster) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		ready := true
		for i := range c.Nodes {
			if !c.Running(i) {
				continue
			}
			j, err := c.jsz(i, "")
			if err != nil || j.Meta == nil || j.Meta.Leader == "" {
				ready = false
				break
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("the cluster has no JetStream meta leader")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(tb TB, n int) []int {
	var ports []int
	var lns []net.Listener
	for len(ports) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("natscluster: %v", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}
