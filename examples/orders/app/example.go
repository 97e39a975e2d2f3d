package app

import (
	"context"
	"time"
)

// Example is an order worth a look, for the commands main prints: one that
// was placed before At and changed after it, so that its state at At is not
// its state now.
type Example struct {
	Order string
	At    time.Time
}

// Example finds an order to travel through: placed before yesterday 15:00
// (local time) and changed after, or else the latest order and the time it
// was placed. It reads the read models, so call it once they caught up.
func (a *App) Example(ctx context.Context) (Example, bool, error) {
	now := time.Now()
	y, m, d := now.AddDate(0, 0, -1).Date()
	at := time.Date(y, m, d, 15, 0, 0, 0, time.Local)
	id, ok, err := a.ReadModels.ChangedAround(ctx, at)
	if err != nil || ok {
		return Example{Order: id, At: at}, ok, err
	}
	id, placed, ok, err := a.ReadModels.Latest(ctx)
	return Example{Order: id, At: placed.Add(time.Minute).Truncate(time.Minute)}, ok, err
}
