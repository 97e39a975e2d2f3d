// Package seed loads a realistic history into a fresh store: users,
// workspaces and their members, and thousands of orders whose events are
// spread over the weeks before now, so that "what did this order look like
// yesterday at 3pm?" has an answer.
//
// Every event goes through the aggregates' deciders (Repository.Handle),
// so the seeded history keeps every invariant the live application does.
// The store times lie in the past because the seed runs on a store of its
// own, opened on the directory with eventstore.WithClock: a clock the seed
// sets to each step's time before the step runs. Steps run in time order,
// one at a time, so every event's store time is exactly its step's (store
// times never go backwards, and here they need not be clamped). Once the
// seed has closed that store, the application opens the directory again on
// the real clock; its new events come after the seeded ones.
//
// The history is a pure function of Config (Orders, Days, Rand and End):
// the same configuration gives the same streams, event for event, with the
// same data and store times (the events' ids differ).
package seed
