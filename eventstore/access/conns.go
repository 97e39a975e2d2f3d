package access

// Every connection a server holds open is a file descriptor of the
// process, and the store in the same process needs descriptors too: the
// embedded server's block files, the read index's tables. A client that
// opens connections until the process runs out of descriptors (it needs
// no token, only a TCP handshake) would make the store's next file open
// fail, and the embedded server takes a failed write as critical: the
// log refuses every append until the process restarts. So a server holds
// at most MaxConns connections at once; beyond that it accepts the next
// one when one closes (the kernel holds the waiting ones in its backlog),
// and the store keeps the descriptors it needs (golang.org/x/net/netutil's
// LimitListener, already in the module graph, does the counting).

// connsReserve is the least number of descriptors left to the rest of the
// process: the store's files, its connections, the log.
const connsReserve = 256

// MaxConns is how many connections Serve keeps open at once: three
// quarters of the process's limit of open files (RLIMIT_NOFILE, which Go
// raises to its hard limit at start), and never more than that limit less
// 256, so that a flood of connections cannot take the descriptors the
// store needs. It is at least 64.
func MaxConns() int {
	return maxConnsFor(openFileLimit())
}

func maxConnsFor(limit uint64) int {
	const least = 64
	if limit == 0 {
		return 4096 // unknown (not a Unix): a bound all the same
	}
	n := min(limit-limit/4, limit-min(limit, connsReserve))
	n = min(n, 1<<20)
	return max(int(n), least)
}
