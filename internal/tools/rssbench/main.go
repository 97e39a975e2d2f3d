// Command rssbench measures the resident memory of a real `rewind serve`
// process under two loads that once grew it without bound (issue 22):
// 100 SSE clients that open an 8 MiB stream and never read, and 16 clients
// that post 15 MiB bodies at once. It starts the binary it is given on a
// free loopback port with a fresh data directory, reads VmRSS from
// /proc/<pid>/status every 50 ms, and prints the RSS before the load (after
// the stream is written), its peak, and, for the SSE load, how long the
// server takes to exit on SIGTERM while the clients are still connected.
//
//	go build -o /tmp/rewind ./cmd/rewind
//	go run ./internal/tools/rssbench -bin /tmp/rewind -load sse
//	go run ./internal/tools/rssbench -bin /tmp/rewind -load post
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "", "the rewind binary to run")
	load := flag.String("load", "sse", "sse: 100 SSE clients that never read an 8 MiB stream; post: 16 parallel 15 MiB POSTs")
	hold := flag.Duration("hold", 20*time.Second, "how long the SSE clients stay connected before SIGTERM")
	flag.Parse()
	if *bin == "" {
		log.Fatal("give -bin")
	}
	addr := freeAddr()
	dir, err := os.MkdirTemp("", "rssbench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(*bin, "serve", "--addr", addr, "--data", dir)
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer cmd.Process.Kill()
	base := "http://" + addr
	waitReady(base)
	pid := cmd.Process.Pid
	name := "bench/" + *load
	do("PUT", base+"/v1/stream/"+name, nil, 201)
	if *load == "sse" {
		msg := bytes.Repeat([]byte("m"), 1<<20)
		for range 8 {
			do("POST", base+"/v1/stream/"+name, msg, 204)
		}
	}
	time.Sleep(2 * time.Second)
	idle := rss(pid)
	var mu sync.Mutex
	peak := idle
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if r := rss(pid); r > 0 {
					mu.Lock()
					peak = max(peak, r)
					mu.Unlock()
				}
			}
		}
	}()
	switch *load {
	case "sse":
		var conns []net.Conn
		for range 100 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Fprintf(c, "GET /v1/stream/%s?offset=-1&live=sse HTTP/1.1\r\nHost: %s\r\n\r\n", name, addr)
			conns = append(conns, c) // never read
		}
		time.Sleep(*hold)
		t0 := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		close(stop)
		sampler.Wait()
		fmt.Printf("sse: RSS before %d MiB, peak %d MiB (+%d MiB); SIGTERM with the clients connected: exited after %.1f s\n",
			idle, peak, peak-idle, time.Since(t0).Seconds())
		for _, c := range conns {
			c.Close()
		}
	case "post":
		body := bytes.Repeat([]byte("p"), 15<<20)
		codes := make([]int, 16)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Post(base+"/v1/stream/"+name, "application/octet-stream", bytes.NewReader(body))
				if err != nil {
					codes[i] = -1
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		time.Sleep(3 * time.Second)
		close(stop)
		sampler.Wait()
		fmt.Printf("post: answers %v; RSS before %d MiB, peak %d MiB (+%d MiB)\n", codes, idle, peak, peak-idle)
	default:
		log.Fatalf("unknown load %q", *load)
	}
}

// rss is a process's resident set in MiB (0 once it is gone).
func rss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb / 1024
		}
	}
	return 0
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(base string) {
	for range 300 {
		if resp, err := http.Get(base + "/v1/stream/ready"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	log.Fatal("the server did not start")
}

func do(method, url string, body []byte, want int) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		log.Fatalf("%s %s: %d, want %d", method, url, resp.StatusCode, want)
	}
}
