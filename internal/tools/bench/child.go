package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Measures that need a new process run in a child: this program re-executed
// with "child-open" or "child-many" and a JSON request on its command line;
// it prints one JSON result line.

type childOpenReq struct {
	Target target `json:"target"`
	Stream string `json:"stream"`
	Want   int    `json:"want"`
}

type childOpenRes struct {
	OpenMS      float64 `json:"open_ms"`
	FirstReadMS float64 `json:"first_read_ms"`
}

// childOpen opens the store (for PostgreSQL: connects), then reads one
// stream whole; both timed.
func childOpen(ctx context.Context, req childOpenReq) (childOpenRes, error) {
	t := time.Now()
	st, err := openStore(ctx, req.Target, false)
	if err != nil {
		return childOpenRes{}, err
	}
	defer st.Close()
	open := time.Since(t)
	t = time.Now()
	n, err := st.Read(ctx, req.Stream)
	read := time.Since(t)
	if err != nil || n != req.Want {
		return childOpenRes{}, readErr(req.Stream, n, req.Want, err)
	}
	return childOpenRes{OpenMS: ms(open), FirstReadMS: ms(read)}, nil
}

type childManyReq struct {
	Target  target `json:"target"`
	Streams int    `json:"streams"`
}

type childManyRes struct {
	Rate      float64 `json:"appends_per_s"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

// childMany appends one event to each of n new streams from 16 goroutines
// (ExpectVersion(0): the stream must be new) and reports the rate and the
// process's peak RSS.
func childMany(ctx context.Context, req childManyReq) (childManyRes, error) {
	st, err := openStore(ctx, req.Target, false)
	if err != nil {
		return childManyRes{}, err
	}
	payload := payload200()
	var next atomic.Int64
	errs := make(chan error, buildWriters)
	var wg sync.WaitGroup
	t := time.Now()
	for range buildWriters {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(req.Streams) {
					return
				}
				if err := st.Append(ctx, fmt.Sprintf("many/%07d", i), 0, payload); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t)
	close(errs)
	if err := <-errs; err != nil {
		st.Close()
		return childManyRes{}, err
	}
	if err := st.Close(); err != nil {
		return childManyRes{}, err
	}
	return childManyRes{Rate: float64(req.Streams) / elapsed.Seconds(), PeakRSSMB: peakRSSMB()}, nil
}

// peakRSSMB is this process's VmHWM.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// runChild runs this program as a child with a request and decodes its
// result.
func runChild(ctx context.Context, sub string, req, res any) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, self, sub, string(b))
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", sub, err, strings.TrimSpace(errb.String()))
	}
	return json.Unmarshal(out.Bytes(), res)
}

// childMain is the entry point of a child.
func childMain(ctx context.Context, sub, arg string) error {
	var res any
	var err error
	switch sub {
	case "child-open":
		var req childOpenReq
		if err := json.Unmarshal([]byte(arg), &req); err != nil {
			return err
		}
		res, err = childOpen(ctx, req)
	case "child-many":
		var req childManyReq
		if err := json.Unmarshal([]byte(arg), &req); err != nil {
			return err
		}
		res, err = childMany(ctx, req)
	default:
		return fmt.Errorf("unknown child %q", sub)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}
