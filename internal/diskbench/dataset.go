// Package diskbench builds issue 24's data set — 1,000,000 events of about
// 200 B of JSON in 10,000 streams, plus one 1,000-event stream spread
// evenly through the log, appended by 16 goroutines each through its
// store's own append path with a version check — into a Rewind store and
// into a SQLite file (modernc, WAL, UNIQUE(stream, version)), and measures
// on each what issue 24 compares: bytes on disk, a replay of every event in
// log order, and warm and first reads of the 1,000-event stream. The
// figures come out as JSON (Result) so that scripts/bench.sh can put them
// beside PostgreSQL's. It is for benchmarks only.
package diskbench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Target is the stream spread evenly through the log.
const Target = "bench/target"

// Spec sizes a data set.
type Spec struct {
	Events       int // in all (default 1,000,000)
	Streams      int // besides Target (default Events/100)
	TargetEvents int // Target's events (default 1,000)
	Writers      int // appending goroutines (default 16)
}

func (s Spec) withDefaults() Spec {
	if s.Events == 0 {
		s.Events = 1_000_000
	}
	if s.Streams == 0 {
		s.Streams = max(100, s.Events/100)
	}
	if s.TargetEvents == 0 {
		s.TargetEvents = min(1000, s.Events/10)
	}
	if s.Writers == 0 {
		s.Writers = 16
	}
	return s
}

// StreamName is the name of stream i (0 is Target).
func StreamName(i int32) string {
	if i == 0 {
		return Target
	}
	return fmt.Sprintf("bench/s-%05d", i-1)
}

// Plan assigns each log position to a stream (index for StreamName): the
// target one every Events/TargetEvents positions, the others at random
// with a fixed seed.
func Plan(s Spec) []int32 {
	s = s.withDefaults()
	plan := make([]int32, s.Events)
	step := s.Events / s.TargetEvents
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range plan {
		if i%step == step/2 && i/step < s.TargetEvents {
			continue // 0: the target
		}
		plan[i] = 1 + int32(rng.IntN(s.Streams))
	}
	return plan
}

// EventType is every event's type.
const EventType = "OrderLineAdded"

var (
	skus     = []string{"KB-104", "MS-220", "HD-7731", "CB-USB-C", "MON-27Q", "DOCK-3", "CAM-HD", "SSD-1T"}
	channels = []string{"web", "app", "store", "phone"}
	notes    = []string{"gift wrap", "leave at door", "", "call before delivery", "", "fragile", "", "second floor"}
	base     = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
)

// Payload returns the JSON of the event at log position i, about 200 B: an
// order line with ids, amounts and a time that differ from event to event
// (what JSON events hold: repeated field names, varying values), the same
// for the same i in every store.
func Payload(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	b := make([]byte, 0, 224)
	b = append(b, `{"order":"ord-`...)
	b = strconv.AppendUint(b, r.Uint64()>>20, 36)
	b = append(b, `","customer":"cus-`...)
	b = strconv.AppendInt(b, int64(r.IntN(1_000_000)), 10)
	b = append(b, `","sku":"`...)
	b = append(b, skus[r.IntN(len(skus))]...)
	b = append(b, `","quantity":`...)
	b = strconv.AppendInt(b, int64(1+r.IntN(5)), 10)
	b = append(b, `,"unit_price":{"amount":`...)
	b = strconv.AppendInt(b, int64(100+r.IntN(99_900)), 10)
	b = append(b, `,"currency":"EUR"},"channel":"`...)
	b = append(b, channels[r.IntN(len(channels))]...)
	b = append(b, `","added_at":"`...)
	b = base.Add(time.Duration(i)*37*time.Millisecond).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","note":"`...)
	b = append(b, notes[r.IntN(len(notes))]...)
	b = append(b, `"}`...)
	return b
}
