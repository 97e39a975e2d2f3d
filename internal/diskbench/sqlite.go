package diskbench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the SQLite baseline
)

// SQLite is what is measured of the SQLite baseline.
type SQLite struct {
	AppendsPerSec float64 `json:"appends_per_sec"`
	// FileBytes is the database file after a checkpoint that empties its
	// write-ahead log.
	FileBytes   int64   `json:"file_bytes"`
	ScanPerSec  float64 `json:"scan_events_per_sec"`
	Warm        Latency `json:"warm_read"`
	FirstReadMs float64 `json:"first_read_ms"`
}

const sqliteSchema = `CREATE TABLE events (
	seq      INTEGER PRIMARY KEY,
	stream   TEXT    NOT NULL,
	version  INTEGER NOT NULL,
	id       BLOB    NOT NULL,
	type     TEXT    NOT NULL,
	data     BLOB    NOT NULL,
	stored   INTEGER NOT NULL,
	UNIQUE (stream, version)
)`

func openSQLite(path string) (*sql.DB, error) {
	return sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(60000)")
}

// BuildSQLite appends the data set into a new SQLite file at path: one
// row per event, one INSERT per append in its own transaction, the version
// checked by the UNIQUE(stream, version) index, from s.Writers
// goroutines as Rewind's build does.
func BuildSQLite(ctx context.Context, path string, s Spec) (SQLite, error) {
	var r SQLite
	_ = os.Remove(path)
	db, err := openSQLite(path)
	if err != nil {
		return r, err
	}
	defer db.Close()
	s = s.withDefaults()
	db.SetMaxOpenConns(s.Writers)
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		return r, err
	}
	r.AppendsPerSec, err = runPlan(s, Plan(s), func(pos int, stream int32, v uint64) error {
		id, _ := uuid.NewV7()
		_, err := db.ExecContext(ctx, `INSERT INTO events (stream, version, id, type, data, stored) VALUES (?, ?, ?, ?, ?, ?)`,
			StreamName(stream), v+1, id[:], EventType, Payload(pos), time.Now().UnixNano())
		return err
	})
	if err != nil {
		return r, fmt.Errorf("sqlite build: %w", err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return r, err
	}
	return r, db.Close()
}

// MeasureSQLite measures the file's size, a full-table scan in insertion
// order and warm reads of Target.
func MeasureSQLite(ctx context.Context, path string, r SQLite, reads int) (SQLite, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return r, err
	}
	r.FileBytes = fi.Size()
	db, err := openSQLite(path)
	if err != nil {
		return r, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	start := time.Now()
	if _, err := sqliteRead(ctx, db, ""); err != nil {
		return r, err
	}
	r.FirstReadMs = float64(time.Since(start)) / 1e6 // this process's first
	start = time.Now()
	rows, err := db.QueryContext(ctx, `SELECT stream, version, id, type, data, stored FROM events ORDER BY seq`)
	if err != nil {
		return r, err
	}
	n := 0
	for rows.Next() {
		var stream, typ string
		var version, stored int64
		var id, data []byte
		if err := rows.Scan(&stream, &version, &id, &typ, &data, &stored); err != nil {
			rows.Close()
			return r, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	rows.Close()
	r.ScanPerSec = float64(n) / time.Since(start).Seconds()
	samples := make([]time.Duration, 0, reads)
	var events int
	for range reads {
		start := time.Now()
		if events, err = sqliteRead(ctx, db, Target); err != nil {
			return r, err
		}
		samples = append(samples, time.Since(start))
	}
	r.Warm = LatencyOf(samples, events)
	return r, db.Close()
}

func sqliteRead(ctx context.Context, db *sql.DB, stream string) (int, error) {
	if stream == "" {
		stream = Target
	}
	rows, err := db.QueryContext(ctx, `SELECT version, id, type, data, stored FROM events WHERE stream = ? ORDER BY version`, stream)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var version, stored int64
		var typ string
		var id, data []byte
		if err := rows.Scan(&version, &id, &typ, &data, &stored); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}
