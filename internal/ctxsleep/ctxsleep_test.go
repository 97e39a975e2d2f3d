package ctxsleep

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepWaitsOutTheDuration(t *testing.T) {
	start := time.Now()
	if err := Sleep(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatalf("Sleep: %v", err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("Sleep returned after %v, want at least 20ms", d)
	}
}

func TestSleepEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sleep: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Sleep returned after %v, want soon after the context's 20ms", d)
	}
	cancelled, stop := context.WithCancel(context.Background())
	stop()
	if err := Sleep(cancelled, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep with a cancelled context: %v, want Canceled", err)
	}
}
