package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/examples/orders/domain"
)

// loadTimeout bounds the load of another aggregate in a command's path.
const loadTimeout = 5 * time.Second

// repos are the application's aggregate repositories.
type repos struct {
	orders     *aggregate.Repository[domain.Order, domain.OrderEvent]
	users      *aggregate.Repository[domain.User, domain.UserEvent]
	workspaces *aggregate.Repository[domain.Workspace, domain.WorkspaceEvent]
}

// load loads instance id of repo for a decision on another aggregate. An
// id that names no instance (empty, or not a valid id) loads as the
// initial state, which the decider refuses with the domain's reason.
func load[S, E any](ctx context.Context, repo *aggregate.Repository[S, E], id string) (S, error) {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	if id == "" {
		return repo.Definition().Initial(), nil
	}
	l, err := repo.Load(ctx, id)
	if errors.Is(err, aggregate.ErrInvalidID) {
		return repo.Definition().Initial(), nil
	}
	if err != nil {
		return l.State, fmt.Errorf("load %s/%s: %w", repo.Definition().Category(), id, err)
	}
	return l.State, nil
}

// fail is a decider that refuses with err.
func fail[S, E any](err error) func(S) ([]E, error) {
	return func(S) ([]E, error) { return nil, err }
}

// register serves the three aggregate types over HTTP, one command each
// for every decider of package domain. Commands that check another
// aggregate (placing an order, creating a workspace, adding a member) load
// it first, as of the moment of the decision (the domain package's
// policy); ctx is the application's, which bounds those loads.
func (r repos) register(ctx context.Context, reg *aggregatehttp.Registry) error {
	err := aggregatehttp.Register(reg, r.orders,
		aggregatehttp.NewCommand("PlaceOrder", func(c domain.PlaceOrder) func(domain.Order) ([]domain.OrderEvent, error) {
			ws, err := load(ctx, r.workspaces, c.Workspace)
			if err != nil {
				return fail[domain.Order, domain.OrderEvent](err)
			}
			u, err := load(ctx, r.users, c.PlacedBy)
			if err != nil {
				return fail[domain.Order, domain.OrderEvent](err)
			}
			return c.Decide(ws, u)
		}),
		aggregatehttp.NewCommand("AddItem", decider(domain.AddItem.Decide)),
		aggregatehttp.NewCommand("RemoveItem", decider(domain.RemoveItem.Decide)),
		aggregatehttp.NewCommand("ApplyDiscount", decider(domain.ApplyDiscount.Decide)),
		aggregatehttp.NewCommand("PayOrder", decider(domain.PayOrder.Decide)),
		aggregatehttp.NewCommand("ShipOrder", decider(domain.ShipOrder.Decide)),
		aggregatehttp.NewCommand("CancelOrder", decider(domain.CancelOrder.Decide)),
	)
	if err != nil {
		return err
	}
	err = aggregatehttp.Register(reg, r.users,
		aggregatehttp.NewCommand("RegisterUser", decider(domain.RegisterUser.Decide)),
		aggregatehttp.NewCommand("RenameUser", decider(domain.RenameUser.Decide)),
		aggregatehttp.NewCommand("DeactivateUser", decider(domain.DeactivateUser.Decide)),
	)
	if err != nil {
		return err
	}
	return aggregatehttp.Register(reg, r.workspaces,
		aggregatehttp.NewCommand("CreateWorkspace", func(c domain.CreateWorkspace) func(domain.Workspace) ([]domain.WorkspaceEvent, error) {
			u, err := load(ctx, r.users, c.Owner)
			if err != nil {
				return fail[domain.Workspace, domain.WorkspaceEvent](err)
			}
			return c.Decide(u)
		}),
		aggregatehttp.NewCommand("AddMember", func(c domain.AddMember) func(domain.Workspace) ([]domain.WorkspaceEvent, error) {
			u, err := load(ctx, r.users, c.User)
			if err != nil {
				return fail[domain.Workspace, domain.WorkspaceEvent](err)
			}
			return c.Decide(u)
		}),
		aggregatehttp.NewCommand("RemoveMember", decider(domain.RemoveMember.Decide)),
	)
}

// decider turns a command's Decide method expression into what NewCommand
// takes: the decoded command becomes its decider.
func decider[C, S, E any](decide func(C, S) ([]E, error)) func(C) func(S) ([]E, error) {
	return func(c C) func(S) ([]E, error) {
		return func(s S) ([]E, error) { return decide(c, s) }
	}
}

// close closes the repositories opened so far.
func (r repos) close() error {
	var errs []error
	if r.orders != nil {
		errs = append(errs, r.orders.Close())
	}
	if r.users != nil {
		errs = append(errs, r.users.Close())
	}
	if r.workspaces != nil {
		errs = append(errs, r.workspaces.Close())
	}
	return errors.Join(errs...)
}
