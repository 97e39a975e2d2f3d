// Package domain is the orders example's business: three aggregate types,
// each an initial state, events that change it and deciders that turn a
// command into events or refuse it, with no framework code in the rules.
//
//   - orders ("orders/<id>/events"): placed in a workspace by one of its
//     members, items added and removed, at most one discount, paid for
//     exactly its total, shipped once paid, cancelled before it ships;
//   - users ("users/<id>/events"): registered, renamed, deactivated;
//   - workspaces ("workspaces/<id>/events"): created by an active user, who
//     owns it, with members added and removed.
//
// # Rules across aggregates
//
// An order is placed by an active member of its workspace, and a workspace
// is created by, and gains, active users only. Those rules span two
// instances, and an append is atomic on one stream only, so the policy is:
// the command path loads the other instance (the workspace, the user) and
// hands its state to the decider (PlaceOrder.Decide takes the workspace and
// the user). The check is as of the moment of the decision: a member
// removed at the same instant may still place one order. That is the usual
// trade-off of aggregates (consistency inside one, a decision on the
// latest known state across them); a business that cannot accept it needs
// one aggregate holding both facts.
//
// # Definitions
//
// Orders, Users and Workspaces each return a new Definition (no package
// state): an application builds them once at start-up and shares them.
// The Go type names of the events are their stored names, so a test
// exported from a stream (rewind export) names them as this package does.
//
// Money is in integer cents (int64), never floats, so totals add up
// exactly; a discount rounds its amount down to the cent.
package domain
