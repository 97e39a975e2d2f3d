package eventstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/rewindhq/rewind/eventstore"
)

// After a power cut the index can keep commits the log lost: the log
// (dir/log) is fsynced once a second, the index (dir/index) is derived from
// it and written on its own schedule, so after a crash the log may be back
// at an older state while the index still holds newer commits. The store
// must notice and rebuild the index from the log, whether or not the log
// has since been written past the index's checkpoint (by this store on
// another directory, by other clients): reads then serve the log and
// nothing of the lost tail.
//
// The power cut is simulated by restoring an older copy of the log under
// the newer index.

// pcRecorder is a slog handler that keeps every record.
type pcRecorder struct {
	mu   sync.Mutex
	recs []pcRecord
}

type pcRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

type pcHandler struct {
	r     *pcRecorder
	attrs []slog.Attr
}

func (h pcHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h pcHandler) Handle(_ context.Context, r slog.Record) error {
	rec := pcRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.r.mu.Lock()
	h.r.recs = append(h.r.recs, rec)
	h.r.mu.Unlock()
	return nil
}

func (h pcHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return pcHandler{h.r, append(slices.Clip(h.attrs), as...)}
}

func (h pcHandler) WithGroup(string) slog.Handler { return h }

func (r *pcRecorder) logger() *slog.Logger { return slog.New(pcHandler{r: r}) }

// find returns the records whose message contains msg.
func (r *pcRecorder) find(msg string) []pcRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pcRecord
	for _, rec := range r.recs {
		if strings.Contains(rec.msg, msg) {
			out = append(out, rec)
		}
	}
	return out
}

const pcRebuildMsg = "rebuilding the read index from the log"

// pcWriter appends commits with known event IDs and remembers them.
type pcWriter struct {
	ids map[uuid.UUID]string // event id → what wrote it
}

// write makes commits appends, round robin over streams, each of one or two
// events with fresh IDs and data tagged with tag.
func (w *pcWriter) write(t *testing.T, ctx context.Context, s *eventstore.Store, tag string, streams []string, commits int) {
	t.Helper()
	for i := range commits {
		name := streams[i%len(streams)]
		evs := make([]eventstore.Event, 1+i%2)
		for j := range evs {
			evs[j] = eventstore.Event{ID: uuid.New(), Type: "PowerCut", Data: fmt.Appendf(nil, `{"tag":%q,"commit":%d,"event":%d}`, tag, i, j)}
			w.ids[evs[j].ID] = fmt.Sprintf("%s commit %d of %q", tag, i, name)
		}
		if _, err := s.Append(ctx, name, evs); err != nil {
			t.Fatalf("%s: append to %q: %v", tag, name, err)
		}
	}
}

func pcCopy(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v: %s", src, dst, err, out)
	}
}

// pcReplaceLog puts a copy of log in place of dir/log, keeping dir/index.
func pcReplaceLog(t *testing.T, dir, log string) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(dir, "log")); err != nil {
		t.Fatal(err)
	}
	pcCopy(t, log, filepath.Join(dir, "log"))
}

func pcOpen(t *testing.T, ctx context.Context, dir string, opts ...eventstore.Option) *eventstore.Store {
	t.Helper()
	s, err := eventstore.Open(ctx, dir, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPowerCutIndexAheadOfLog(t *testing.T) {
	ctx := context.Background()
	streams := []string{"pc/a", "pc/b", "pc/c"}
	const n, m = 30, 12 // commits before the copy of the log, and lost
	cases := []struct {
		name string
		k    int // commits written on the older log before the index meets it
	}{
		{"no writes past the checkpoint", 0},
		{"as many writes as were lost", m},
		{"writes past the checkpoint", m + 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := &pcWriter{ids: map[uuid.UUID]string{}}
			s := pcOpen(t, ctx, dir)
			w.write(t, ctx, s, "kept", streams, n)
			if err := s.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			older := filepath.Join(t.TempDir(), "log")
			pcCopy(t, filepath.Join(dir, "log"), older)

			s = pcOpen(t, ctx, dir)
			lost := &pcWriter{ids: map[uuid.UUID]string{}}
			lost.write(t, ctx, s, "lost", append(slices.Clone(streams), "pc/lost"), m)
			if err := s.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}

			log := older
			if tc.k > 0 {
				// The older log, written past the index's checkpoint
				// with other commits at the lost commits' sequences.
				dir2 := t.TempDir()
				pcCopy(t, older, filepath.Join(dir2, "log"))
				s2 := pcOpen(t, ctx, dir2)
				w.write(t, ctx, s2, "later", append(slices.Clone(streams), "pc/new"), tc.k)
				if err := s2.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
				log = filepath.Join(dir2, "log")
			}
			pcReplaceLog(t, dir, log)

			var rec pcRecorder
			s = pcOpen(t, ctx, dir, eventstore.WithLogger(rec.logger()))
			all := append(slices.Clone(streams), "pc/lost", "pc/new")
			lv := pcCheck(t, ctx, s, all, w, lost)
			wantCommits := n + tc.k
			if got := lv.lastSeq(); got != uint64(wantCommits) {
				t.Errorf("the log ends at sequence %d, want %d", got, wantCommits)
			}
			rebuilt := rec.find(pcRebuildMsg)
			if len(rebuilt) == 0 {
				t.Errorf("no %q logged when opening the older log under the newer index", pcRebuildMsg)
			}
			for _, r := range rebuilt {
				if r.attrs["reason"] == "" {
					t.Errorf("%q logged without a reason: %v", r.msg, r.attrs)
				}
				t.Logf("logged: %s %v", r.msg, r.attrs)
			}

			// Appends after the restore go on from the log's versions and
			// read back.
			for _, name := range all {
				before := uint64(len(lv.byStream[name]))
				evs := []eventstore.Event{{ID: uuid.New(), Type: "After", Data: []byte(`{"after":true}`)}}
				w.ids[evs[0].ID] = "after the restore"
				res, err := s.Append(ctx, name, evs)
				if err != nil {
					t.Fatalf("append to %q after the restore: %v", name, err)
				}
				if res.FirstVersion != before+1 || res.Version != before+1 {
					t.Errorf("append to %q after the restore stored versions %d..%d, the log had %d", name, res.FirstVersion, res.Version, before)
				}
				got, err := ixReadEvents(s.Read(ctx, name))
				if err != nil {
					t.Fatalf("read %q after the append: %v", name, err)
				}
				if len(got) == 0 || got[len(got)-1].ID != evs[0].ID || got[len(got)-1].Offset != res.Offset() {
					t.Errorf("Read(%q) after the append does not end with it (%d events)", name, len(got))
				}
			}
			pcCheck(t, ctx, s, all, w, lost)
			if err := s.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}

			// The rebuilt index is an ordinary one: reopened, it is kept.
			var rec2 pcRecorder
			s = pcOpen(t, ctx, dir, eventstore.WithLogger(rec2.logger()))
			pcCheck(t, ctx, s, all, w, lost)
			if r := rec2.find(pcRebuildMsg); len(r) > 0 {
				t.Errorf("the index rebuilt after the restore was rebuilt again on the next open: %v", r[0].attrs)
			}
		})
	}
}

// pcCheck fails the test unless, for every stream in names and in the log,
// Read and Head serve exactly what ReadLog (the log) holds, with versions
// 1..n, only events the test wrote and kept, and none of the lost ones.
func pcCheck(t *testing.T, ctx context.Context, s *eventstore.Store, names []string, kept, lost *pcWriter) ixLogView {
	t.Helper()
	lv, err := ixReadLog(ctx, s)
	if err != nil {
		t.Fatalf("read the log: %v", err)
	}
	for _, e := range lv.all {
		if why, ok := lost.ids[e.ID]; ok {
			t.Fatalf("the log itself holds %s/%d, of the lost tail (%s): the test did not restore the older log", e.Stream, e.Version, why)
		}
		if _, ok := kept.ids[e.ID]; !ok {
			t.Fatalf("the log holds %s/%d with id %v, which the test did not write", e.Stream, e.Version, e.ID)
		}
	}
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	for n := range lv.byStream {
		set[n] = true
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range set {
			if !yield(n) {
				return
			}
		}
	}) {
		want := lv.byStream[name]
		got, err := ixReadEvents(s.Read(ctx, name))
		if err != nil {
			t.Errorf("Read(%q): %v", name, err)
			continue
		}
		for i, e := range got {
			if why, ok := lost.ids[e.ID]; ok {
				t.Errorf("Read(%q) returns version %d (offset %s, %s), which exists only in the lost tail (%s)", name, e.Version, e.Offset, e.Data, why)
				break
			}
			if e.Version != uint64(i)+1 {
				t.Errorf("Read(%q): event %d has version %d", name, i, e.Version)
				break
			}
		}
		if d := ixEventsDiff(got, want); d != "" {
			t.Errorf("Read(%q) differs from the log: %s", name, d)
		}
		h, err := s.Head(ctx, name)
		if err != nil {
			t.Errorf("Head(%q): %v", name, err)
			continue
		}
		if d := ixHeadDiff(h, ixHeadOf(want)); d != "" {
			t.Errorf("Head(%q) differs from the log: %s", name, d)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return lv
}
