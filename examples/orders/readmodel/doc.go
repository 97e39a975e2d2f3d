// Package readmodel keeps the orders example's read models in SQLite
// (modernc.org/sqlite, pure Go, one file in the data directory), fed by
// projections of the "orders" category:
//
//   - order_summary: one row per order (its workspace, who placed it, its
//     status, lines, money and the store times of its milestones), with
//     order_lines, its lines, beside it;
//   - revenue_per_day: per UTC day, the orders paid and their amount, the
//     refunds of cancelled paid orders, and the net.
//
// # Exactly once
//
// Each projection applies a batch of events and saves its checkpoint in one
// SQLite transaction (projection.ExactlyOnce with checkpoint.SQL in the same
// database), so whatever stops the process, the tables reflect every event
// up to the checkpoint once, and a restart resumes right after it: no
// revenue counted twice, no order missing.
//
// # Rebuilds
//
// Rebuild replays a read model from the start into tables of its own
// (<table>_next) while the live one keeps serving, then, with the live
// projection stopped for the moment it takes, swaps the tables and moves the
// live checkpoint to where the replay ended in one transaction, and starts
// the live projection again from there. Readers see the old tables or the
// new ones, never a mix.
//
// # Opening the file
//
// Open uses SQLite in WAL mode with a busy timeout
// ("file:<path>?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)"):
// readers never block the projections' writes, and processes sharing the
// file (lease holders taking over from one another) wait for its lock
// rather than fail.
//
// Times are the events' store times (eventstore.Event.StoredAt), kept as
// fixed-width UTC text (TimeFormat), so they sort as strings.
package readmodel
