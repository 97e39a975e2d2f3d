package aggregatehttp

// WatchedCategories is how many categories r's waits watch at once, for
// the package's external tests.
func WatchedCategories(r *Registry) int {
	r.waits.mu.Lock()
	defer r.waits.mu.Unlock()
	return len(r.waits.byCat)
}
