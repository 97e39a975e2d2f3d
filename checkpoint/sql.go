package checkpoint

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// SQL keeps checkpoints and leases in tables reached through
// database/sql. Its SaveTx writes a checkpoint inside the caller's
// transaction, the one that changes the read model, which is what makes a
// SQL read model exactly-once. The statements are plain SQL that SQLite
// and PostgreSQL both run (INSERT ... ON CONFLICT DO NOTHING); with
// PostgreSQL, pass SQLDollarPlaceholders.
type SQL struct {
	db     *sql.DB
	table  string
	leases string
	dollar bool
}

var (
	_ Store  = (*SQL)(nil)
	_ Leaser = (*SQL)(nil)
)

// SQLOption configures NewSQL. A nil SQLOption is ignored.
type SQLOption func(*SQL)

// SQLTable sets the checkpoint table's name (default rewind_checkpoints);
// the lease table is named after it with the suffix _leases.
func SQLTable(name string) SQLOption { return func(s *SQL) { s.table = name } }

// SQLDollarPlaceholders makes the statements use $1, $2 ... (PostgreSQL)
// instead of ?.
func SQLDollarPlaceholders() SQLOption { return func(s *SQL) { s.dollar = true } }

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// NewSQL returns a SQL store on db, creating its tables if they do not
// exist.
func NewSQL(ctx context.Context, db *sql.DB, opts ...SQLOption) (*SQL, error) {
	if db == nil {
		return nil, fmt.Errorf("checkpoint: %w: NewSQL needs a database", eventstore.ErrInvalidOption)
	}
	s := &SQL{db: db, table: "rewind_checkpoints"}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	if !tableName.MatchString(s.table) {
		return nil, fmt.Errorf("checkpoint: table name %q: %w", s.table, eventstore.ErrInvalidOption)
	}
	s.leases = s.table + "_leases"
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS ` + s.table + ` (name TEXT PRIMARY KEY, position TEXT NOT NULL, revision BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + s.leases + ` (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires BIGINT NOT NULL, revision BIGINT NOT NULL)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("checkpoint: create tables: %w", err)
		}
	}
	return s, nil
}

// q rewrites ? placeholders for the dialect.
func (s *SQL) q(stmt string) string {
	if !s.dollar {
		return stmt
	}
	var b strings.Builder
	n := 0
	for _, c := range stmt {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Querier is what *sql.DB, *sql.Tx and *sql.Conn share: LoadTx and
// SaveTx run on any of them, typically the read model's transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Load returns the checkpoint saved under name.
func (s *SQL) Load(ctx context.Context, name string) (Checkpoint, error) {
	return s.LoadTx(ctx, s.db, name)
}

// LoadTx is Load inside a transaction (or on any *sql.DB or *sql.Tx).
func (s *SQL) LoadTx(ctx context.Context, q Querier, name string) (Checkpoint, error) {
	if err := checkName(name); err != nil {
		return Checkpoint{}, err
	}
	var pos string
	var rev uint64
	err := q.QueryRowContext(ctx, s.q(`SELECT position, revision FROM `+s.table+` WHERE name = ?`), name).Scan(&pos, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{Offset: eventstore.Start}, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: load %q: %w", name, err)
	}
	o, err := eventstore.ParseOffset(pos)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: load %q: stored value: %w", name, err)
	}
	return Checkpoint{Offset: o, Revision: rev}, nil
}

// Save stores offset under name if the saved revision is rev, in a
// transaction of its own.
func (s *SQL) Save(ctx context.Context, name string, offset eventstore.Offset, rev uint64) (uint64, error) {
	return s.SaveTx(ctx, s.db, name, offset, rev)
}

// SaveTx stores offset under name if the saved revision is rev, inside the
// caller's transaction tx: the checkpoint commits with the read model's
// change, or neither does. On ErrConflict the caller must roll tx back.
func (s *SQL) SaveTx(ctx context.Context, tx Querier, name string, offset eventstore.Offset, rev uint64) (uint64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	offset, err := checkOffset(offset)
	if err != nil {
		return 0, err
	}
	var res sql.Result
	if rev == 0 {
		res, err = tx.ExecContext(ctx, s.q(`INSERT INTO `+s.table+` (name, position, revision) VALUES (?, ?, 1) ON CONFLICT (name) DO NOTHING`),
			name, string(offset))
	} else {
		res, err = tx.ExecContext(ctx, s.q(`UPDATE `+s.table+` SET position = ?, revision = revision + 1 WHERE name = ? AND revision = ?`),
			string(offset), name, rev)
	}
	if err != nil {
		return 0, fmt.Errorf("checkpoint: save %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("checkpoint: save %q: %w", name, err)
	}
	if n != 1 {
		return 0, fmt.Errorf("%w: %q is not at revision %d", ErrConflict, name, rev)
	}
	return rev + 1, nil
}

// Acquire takes or renews the lease on name for holder.
func (s *SQL) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	if err := checkLease(name, holder, ttl); err != nil {
		return Lease{}, err
	}
	now := time.Now()
	l := Lease{Name: name, Holder: holder, Expires: now.Add(ttl)}
	// Renew our own lease or take one that lapsed, in one statement.
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE `+s.leases+` SET holder = ?, expires = ?, revision = revision + 1
		WHERE name = ? AND (holder = ? OR expires < ?)`), holder, l.Expires.UnixNano(), name, holder, now.UnixNano())
	if err != nil {
		return Lease{}, fmt.Errorf("checkpoint: lease %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		res, err = s.db.ExecContext(ctx, s.q(`INSERT INTO `+s.leases+` (name, holder, expires, revision) VALUES (?, ?, ?, 1)
			ON CONFLICT (name) DO NOTHING`), name, holder, l.Expires.UnixNano())
		if err != nil {
			return Lease{}, fmt.Errorf("checkpoint: lease %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Lease{}, s.held(ctx, name)
		}
	}
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT revision FROM `+s.leases+` WHERE name = ? AND holder = ?`), name, holder).Scan(&l.Revision); err != nil {
		return Lease{}, fmt.Errorf("%w: %q was taken meanwhile", ErrConflict, name)
	}
	return l, nil
}

// held is the conflict of an Acquire that found name held: a
// *LeaseHeldError if the holder can be read, ErrConflict otherwise.
func (s *SQL) held(ctx context.Context, name string) error {
	var holder string
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT holder, expires FROM `+s.leases+` WHERE name = ?`), name).Scan(&holder, &expires)
	if err != nil {
		return fmt.Errorf("%w: %q is held by another holder", ErrConflict, name)
	}
	return &LeaseHeldError{Name: name, Holder: holder, Expires: time.Unix(0, expires)}
}

// Release gives the lease up if it is still l's.
func (s *SQL) Release(ctx context.Context, l Lease) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM `+s.leases+` WHERE name = ? AND holder = ? AND revision = ?`), l.Name, l.Holder, l.Revision)
	if err != nil {
		return fmt.Errorf("checkpoint: release %q: %w", l.Name, err)
	}
	return nil
}
