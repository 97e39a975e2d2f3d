// Package chromium starts the headless Chromium that the browser tests of
// Rewind drive (the time-travel page's, and the check that stored data
// never runs as a page on a server's origin). A test without a browser
// fails, saying how to get one: what a browser does is part of what every
// run tests.
package chromium

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Find returns the browser a test drives: $CHROMIUM_BIN, or Chromium or
// Chrome on PATH. Without one, the test fails with what names the browser
// is for (what) and how to install it.
func Find(t testing.TB, what string) string {
	t.Helper()
	if bin := os.Getenv("CHROMIUM_BIN"); bin != "" {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("CHROMIUM_BIN=%s: %v", bin, err)
		}
		return bin
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if bin, err := exec.LookPath(name); err == nil {
			return bin
		}
	}
	t.Fatal("no Chromium found: " + what + " drives a headless Chromium.\n" +
		"Install it with `sudo apt-get install -y chromium` (Debian, Ubuntu; scripts/test.sh does it when missing),\n" +
		"or point CHROMIUM_BIN at a Chromium or Chrome binary.")
	return ""
}

// Tab starts bin headless with a profile of its own and returns one tab's
// context; the browser ends with the test. Options come after the
// defaults (and the no-sandbox flag that Chromium needs as root).
func Tab(t testing.TB, ctx context.Context, bin string, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	all := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()))
	all = append(all, opts...)
	if os.Geteuid() == 0 {
		all = append(all, chromedp.NoSandbox) // Chromium's sandbox refuses root
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, all...)
	t.Cleanup(cancelAlloc)
	tctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	return tctx
}
