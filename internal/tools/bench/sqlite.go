package main

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite"
)

// sqliteStore is the SQLite baseline: one events table with
// UNIQUE(stream, version), through modernc's driver, WAL,
// synchronous=NORMAL (FULL for the durable rows). An append inserts the
// event at expect+1: the unique constraint is the version check.
type sqliteStore struct{ db *sql.DB }

const sqliteSchema = `CREATE TABLE IF NOT EXISTS events (
	seq INTEGER PRIMARY KEY,
	stream TEXT NOT NULL,
	version INTEGER NOT NULL,
	id BLOB NOT NULL,
	type TEXT NOT NULL,
	data BLOB NOT NULL,
	stored_at INTEGER NOT NULL,
	UNIQUE(stream, version)
)`

func openSQLite(ctx context.Context, path string, durable, create bool) (*sqliteStore, error) {
	sync := "NORMAL"
	if durable {
		sync = "FULL"
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous("+sync+")&_pragma=busy_timeout(30000)")
	if err != nil {
		return nil, err
	}
	// sql.Open opens nothing; the ping opens the file (and sets the
	// pragmas), as a real open must.
	err = db.PingContext(ctx)
	if err == nil && create {
		_, err = db.ExecContext(ctx, sqliteSchema)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &sqliteStore{db: db}, nil
}

func (s *sqliteStore) Append(ctx context.Context, stream string, expect uint64, data []byte) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	var seq int64
	return s.db.QueryRowContext(ctx,
		`INSERT INTO events(stream, version, id, type, data, stored_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`,
		stream, expect+1, id[:], eventType, data, time.Now().UnixNano()).Scan(&seq)
}

func (s *sqliteStore) Read(ctx context.Context, stream string) (int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version, id, type, data, stored_at FROM events WHERE stream = ? ORDER BY version`, stream)
	if err != nil {
		return 0, err
	}
	return scanEvents(rows, 5)
}

func (s *sqliteStore) Replay(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, stream, version, id, type, data, stored_at FROM events ORDER BY seq`)
	if err != nil {
		return 0, err
	}
	return scanEvents(rows, 7)
}

// scanEvents decodes every row into Go values, as a reader would.
func scanEvents(rows *sql.Rows, cols int) (int, error) {
	defer rows.Close()
	vals := make([]any, cols)
	for i := range vals {
		vals[i] = new(sql.RawBytes)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func (s *sqliteStore) Close() error { return s.db.Close() }
