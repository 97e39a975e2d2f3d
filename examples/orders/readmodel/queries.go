package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Summary is one row of order_summary.
type Summary struct {
	ID              string
	Workspace       string
	PlacedBy        string
	Status          string
	Lines, Units    int
	SubtotalCents   int64
	DiscountCode    string
	DiscountPercent int
	DiscountCents   int64
	TotalCents      int64
	PaidCents       int64
	RefundedCents   int64
	PlacedAt        time.Time
	UpdatedAt       time.Time
	Version         uint64
}

// Day is one row of revenue_per_day.
type Day struct {
	Day            string // YYYY-MM-DD, UTC
	OrdersPaid     int
	PaidCents      int64
	OrdersRefunded int
	RefundedCents  int64
	NetCents       int64
}

// Summary returns the order_summary row of order id, and false when there
// is none.
func (d *DB) Summary(ctx context.Context, id string) (Summary, bool, error) {
	var s Summary
	var placed, updated string
	err := d.db.QueryRowContext(ctx, `SELECT id, workspace, placed_by, status, lines, units, subtotal_cents, discount_code,
	discount_percent, discount_cents, total_cents, paid_cents, refunded_cents, placed_at, updated_at, version
FROM order_summary WHERE id = ?`, id).Scan(&s.ID, &s.Workspace, &s.PlacedBy, &s.Status, &s.Lines, &s.Units, &s.SubtotalCents,
		&s.DiscountCode, &s.DiscountPercent, &s.DiscountCents, &s.TotalCents, &s.PaidCents, &s.RefundedCents, &placed, &updated, &s.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return Summary{}, false, nil
	}
	if err != nil {
		return Summary{}, false, fmt.Errorf("readmodel: summary %s: %w", id, err)
	}
	s.PlacedAt, _ = time.Parse(TimeFormat, placed)
	s.UpdatedAt, _ = time.Parse(TimeFormat, updated)
	return s, true, nil
}

// Revenue returns revenue_per_day, by day.
func (d *DB) Revenue(ctx context.Context) ([]Day, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT day, orders_paid, paid_cents, orders_refunded, refunded_cents, net_cents FROM revenue_per_day ORDER BY day`)
	if err != nil {
		return nil, fmt.Errorf("readmodel: revenue: %w", err)
	}
	defer rows.Close()
	var out []Day
	for rows.Next() {
		var r Day
		if err := rows.Scan(&r.Day, &r.OrdersPaid, &r.PaidCents, &r.OrdersRefunded, &r.RefundedCents, &r.NetCents); err != nil {
			return nil, fmt.Errorf("readmodel: revenue: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Counts returns how many orders order_summary holds in each status.
func (d *DB) Counts(ctx context.Context) (map[string]int, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM order_summary GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("readmodel: counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("readmodel: counts: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}

// ChangedAround returns an order that was placed before t and changed after
// it (so that its state at t differs from its state now), preferring the one
// placed closest before t; false when there is none.
func (d *DB) ChangedAround(ctx context.Context, t time.Time) (string, bool, error) {
	var id string
	at := formatTime(t)
	err := d.db.QueryRowContext(ctx, `SELECT id FROM order_summary WHERE placed_at < ?1 AND updated_at > ?1 AND version >= 4
ORDER BY placed_at DESC LIMIT 1`, at).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("readmodel: changed around %s: %w", at, err)
	}
	return id, true, nil
}

// Latest returns the order placed last and when, false when there is none.
func (d *DB) Latest(ctx context.Context) (string, time.Time, bool, error) {
	var id, placed string
	err := d.db.QueryRowContext(ctx, `SELECT id, placed_at FROM order_summary ORDER BY placed_at DESC LIMIT 1`).Scan(&id, &placed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("readmodel: latest: %w", err)
	}
	t, _ := time.Parse(TimeFormat, placed)
	return id, t, true, nil
}
