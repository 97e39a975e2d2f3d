package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
)

// floorServer is the least a server can do for the long-poll test: streams
// in memory, one mutex each, one channel closed per append to wake every
// waiting reader. It is no Durable Streams server (no validation, no
// durability, offsets are counters); `dsbench floorserver` runs it so that
// scripts/bench-ds.sh can show what this machine and this load driver
// measure for an ideal server, the floor under any real server's figure.
type floorServer struct {
	mu      sync.Mutex
	streams map[string]*floorStream
}

type floorStream struct {
	mu   sync.Mutex
	msgs [][]byte
	wake chan struct{}
}

// runFloorServer listens on REWIND_ADDR (default 127.0.0.1:0), prints the
// same startup line as rewind serve and stops on SIGTERM.
func runFloorServer() error {
	addr := os.Getenv("REWIND_ADDR")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: &floorServer{streams: map[string]*floorStream{}}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	slog.New(slog.NewTextHandler(os.Stderr, nil)).Info("listening", "url", "http://"+ln.Addr().String(), "server", "dsbench-floor")
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (f *floorServer) stream(path string) *floorStream {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.streams[path]
	if s == nil {
		s = &floorStream{wake: make(chan struct{})}
		f.streams[path] = s
	}
	return s
}

func (f *floorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := f.stream(r.URL.Path)
	switch r.Method {
	case http.MethodPut:
		w.WriteHeader(http.StatusCreated)
	case http.MethodPost:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, body)
		n := len(s.msgs)
		close(s.wake)
		s.wake = make(chan struct{})
		s.mu.Unlock()
		w.Header().Set("Stream-Next-Offset", floorOffset(n))
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		f.read(w, r, s)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// read answers one stored body at a time, or waits for the next append.
func (f *floorServer) read(w http.ResponseWriter, r *http.Request, s *floorStream) {
	q := r.URL.Query()
	from := 0
	if o := q.Get("offset"); o != "-1" && o != "" {
		from, _ = strconv.Atoi(o)
	}
	for {
		s.mu.Lock()
		n, wake := len(s.msgs), s.wake
		var body []byte
		if from < n {
			body = s.msgs[from]
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", jsonType)
		if body != nil {
			w.Header().Set("Stream-Next-Offset", floorOffset(from+1))
			if from+1 == n {
				w.Header().Set("Stream-Up-To-Date", "true")
			}
			if len(body) > 0 && body[0] == '[' {
				w.Write(body)
			} else {
				fmt.Fprintf(w, "[%s]", body)
			}
			return
		}
		if q.Get("live") == "" {
			w.Header().Set("Stream-Next-Offset", floorOffset(from))
			w.Header().Set("Stream-Up-To-Date", "true")
			w.Write([]byte("[]"))
			return
		}
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		}
	}
}

func floorOffset(n int) string { return fmt.Sprintf("%016d", n) }
