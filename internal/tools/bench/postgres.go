package main

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// postgresStore is the PostgreSQL baseline: one events table with
// UNIQUE(stream, version), INSERT … RETURNING per append over loopback,
// synchronous_commit on (the server's default, so the default and the
// durable rows are the same figure). Bodies are bytea (the faster of
// bytea and jsonb for a replay).
type postgresStore struct {
	pool  *pgxpool.Pool
	table string
}

func openPostgres(ctx context.Context, dsn, table string, create bool) (*postgresStore, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t := pgx.Identifier{table}.Sanitize()
	// The pool connects lazily; the ping makes the connection, as a real
	// open must.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if !create {
		return &postgresStore{pool: pool, table: t}, nil
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+t+` (
		seq bigserial PRIMARY KEY,
		stream text NOT NULL,
		version bigint NOT NULL,
		id uuid NOT NULL,
		type text NOT NULL,
		data bytea NOT NULL,
		stored_at timestamptz NOT NULL DEFAULT now(),
		UNIQUE(stream, version))`); err != nil {
		pool.Close()
		return nil, err
	}
	return &postgresStore{pool: pool, table: t}, nil
}

func (p *postgresStore) Append(ctx context.Context, stream string, expect uint64, data []byte) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	var seq int64
	return p.pool.QueryRow(ctx,
		`INSERT INTO `+p.table+`(stream, version, id, type, data) VALUES ($1, $2, $3, $4, $5) RETURNING seq`,
		stream, int64(expect+1), id, eventType, data).Scan(&seq)
}

func (p *postgresStore) Read(ctx context.Context, stream string) (int, error) {
	rows, err := p.pool.Query(ctx, `SELECT version, id, type, data, stored_at FROM `+p.table+` WHERE stream = $1 ORDER BY version`, stream)
	if err != nil {
		return 0, err
	}
	return scanPG(rows)
}

func (p *postgresStore) Replay(ctx context.Context) (int, error) {
	rows, err := p.pool.Query(ctx, `SELECT seq, stream, version, id, type, data, stored_at FROM `+p.table+` ORDER BY seq`)
	if err != nil {
		return 0, err
	}
	return scanPG(rows)
}

// scanPG decodes every row's values, as a reader would.
func scanPG(rows pgx.Rows) (int, error) {
	defer rows.Close()
	n := 0
	for rows.Next() {
		if _, err := rows.Values(); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func (p *postgresStore) Close() error {
	p.pool.Close()
	return nil
}

// postgresBytes is the table's size on disk with its TOAST, and its indexes'.
func postgresBytes(ctx context.Context, dsn, table string) (int64, map[string]int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close(ctx)
	var tbl, idx int64
	if err := conn.QueryRow(ctx, `SELECT pg_table_size($1::regclass), pg_indexes_size($1::regclass)`, table).Scan(&tbl, &idx); err != nil {
		return 0, nil, fmt.Errorf("size of %s: %w", table, err)
	}
	return tbl + idx, map[string]int64{"table": tbl, "indexes": idx}, nil
}

// dropPostgres drops a table the bench made.
func dropPostgres(ctx context.Context, dsn, table string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{table}.Sanitize())
	return err
}
