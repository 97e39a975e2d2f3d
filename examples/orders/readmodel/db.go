package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rewindhq/rewind/checkpoint"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// TimeFormat is how the tables keep times: UTC, fixed width, so that they
// compare as strings.
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

// Names of the projections, which are their checkpoints' names too.
const (
	OrderSummary  = "order_summary"
	RevenuePerDay = "revenue_per_day"
)

// ErrUnknownProjection is returned by Rebuild for a name that is not one of
// this package's projections.
var ErrUnknownProjection = errors.New("readmodel: unknown projection")

// DB is the read models' SQLite database, with the checkpoints of the
// projections that feed it.
type DB struct {
	db  *sql.DB
	cps *checkpoint.SQL
}

// Open opens (creating if needed) the SQLite database at path, with the
// read models' tables and the checkpoint table.
func Open(ctx context.Context, path string) (*DB, error) {
	// WAL lets readers read while a projection writes; one connection
	// serializes this process's writers (two projections and a rebuild),
	// which is what SQLite does anyway, without busy errors; the busy
	// timeout makes another process that opens the file (a second
	// instance standing by for a projection's lease, a CLI) wait for the
	// lock instead of failing with "database is locked".
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("readmodel: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := createTables(ctx, db, summaryTables, revenueTables); err != nil {
		db.Close()
		return nil, err
	}
	cps, err := checkpoint.NewSQL(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("readmodel: %w", err)
	}
	return &DB{db: db, cps: cps}, nil
}

// SQL returns the database, for queries of the read models.
func (d *DB) SQL() *sql.DB { return d.db }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// tables names the tables of one read model.
type tables struct {
	summary, lines, revenue string
}

var (
	summaryTables = tables{summary: "order_summary", lines: "order_lines"}
	revenueTables = tables{revenue: "revenue_per_day"}
)

// next returns the names of the tables a rebuild fills.
func (t tables) next() tables {
	n := tables{}
	if t.summary != "" {
		n.summary, n.lines = t.summary+"_next", t.lines+"_next"
	}
	if t.revenue != "" {
		n.revenue = t.revenue + "_next"
	}
	return n
}

// names returns the tables' names, in the order they are created.
func (t tables) names() []string {
	var out []string
	for _, n := range []string{t.summary, t.lines, t.revenue} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// createTables creates the tables of each set if they do not exist. Table
// names come from this package, never from input.
func createTables(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, sets ...tables) error {
	for _, t := range sets {
		var stmts []string
		if t.summary != "" {
			stmts = append(stmts,
				`CREATE TABLE IF NOT EXISTS `+t.summary+` (
	id TEXT PRIMARY KEY,
	workspace TEXT NOT NULL,
	placed_by TEXT NOT NULL,
	status TEXT NOT NULL,
	lines INTEGER NOT NULL DEFAULT 0,
	units INTEGER NOT NULL DEFAULT 0,
	subtotal_cents INTEGER NOT NULL DEFAULT 0,
	discount_code TEXT NOT NULL DEFAULT '',
	discount_percent INTEGER NOT NULL DEFAULT 0,
	discount_cents INTEGER NOT NULL DEFAULT 0,
	total_cents INTEGER NOT NULL DEFAULT 0,
	paid_cents INTEGER NOT NULL DEFAULT 0,
	refunded_cents INTEGER NOT NULL DEFAULT 0,
	placed_at TEXT NOT NULL,
	paid_at TEXT,
	shipped_at TEXT,
	cancelled_at TEXT,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL
)`,
				`CREATE TABLE IF NOT EXISTS `+t.lines+` (
	order_id TEXT NOT NULL,
	sku TEXT NOT NULL,
	quantity INTEGER NOT NULL,
	unit_price_cents INTEGER NOT NULL,
	PRIMARY KEY (order_id, sku)
)`)
		}
		if t.revenue != "" {
			stmts = append(stmts, `CREATE TABLE IF NOT EXISTS `+t.revenue+` (
	day TEXT PRIMARY KEY,
	orders_paid INTEGER NOT NULL DEFAULT 0,
	paid_cents INTEGER NOT NULL DEFAULT 0,
	orders_refunded INTEGER NOT NULL DEFAULT 0,
	refunded_cents INTEGER NOT NULL DEFAULT 0,
	net_cents INTEGER NOT NULL DEFAULT 0
)`)
		}
		for _, s := range stmts {
			if _, err := q.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("readmodel: create tables: %w", err)
			}
		}
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }
