package aggregatehttp

// WatchedCategories is how many categories r's waits watch at once, for
// the package's external tests.
func WatchedCategories(r *Registry) int {
	r.waits.mu.Lock()
	defer r.waits.mu.Unlock()
	return len(r.waits.byCat)
}

// SetEventWaiters sets the bound of r's waits, for the package's external
// tests; call it before the first wait.
func SetEventWaiters(r *Registry, n int) {
	r.waits.mu.Lock()
	defer r.waits.mu.Unlock()
	r.waits.max = n
}

// EventWaiters is how many requests r's waits count, for the package's
// external tests.
func EventWaiters(r *Registry) int {
	r.waits.mu.Lock()
	defer r.waits.mu.Unlock()
	return r.waits.waiting
}
