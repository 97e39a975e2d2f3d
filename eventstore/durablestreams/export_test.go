package durablestreams

import "math"

// NoSweep keeps h from ever starting its expiry sweep, for tests that check
// that a request changes nothing stored: the sweep's background deletes
// (and a deleted fork's release of its source) would change streams while
// they look.
func NoSweep(h *Handler) { h.lastSweep.Store(math.MaxInt64) }
