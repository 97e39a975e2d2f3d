package seed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/examples/orders/domain"
)

// Defaults of Config.
const (
	DefaultOrders = 3000
	DefaultDays   = 28
	DefaultRand   = 1
)

// Config shapes the history.
type Config struct {
	// Orders is how many orders are placed (default DefaultOrders).
	Orders int
	// Days is how many days before End the history spans (default
	// DefaultDays). Users and workspaces are created in the two days
	// before that.
	Days int
	// Rand seeds the random choices (default DefaultRand): the same
	// configuration gives the same history.
	Rand uint64
	// End is when the history stops (default now): every event is stored
	// before it. Orders placed shortly before it are still in progress.
	End time.Time
	// Location is the time zone of the shop's business hours, when most
	// orders are placed (default time.Local).
	Location *time.Location
}

func (c Config) withDefaults() Config {
	if c.Orders <= 0 {
		c.Orders = DefaultOrders
	}
	if c.Days <= 0 {
		c.Days = DefaultDays
	}
	if c.Rand == 0 {
		c.Rand = DefaultRand
	}
	if c.End.IsZero() {
		c.End = time.Now()
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	return c
}

// Report tells what a seed stored.
type Report struct {
	Orders, Users, Workspaces int
	// Commands is how many commands were handled; Events how many events
	// they stored.
	Commands, Events int
	// First and Last are the store times of the first and last events.
	First, Last time.Time
	// Took is how long the seed ran.
	Took time.Duration
}

// ErrNotEmpty is returned by Run for a store that holds events already: a
// seed's clock lies in the past, and would be clamped to the newest time
// in the log.
var ErrNotEmpty = errors.New("seed: the store is not empty")

// Run seeds the store in dir (a directory that holds no store yet, or an
// empty one) and closes it. Open the directory again to serve it.
func Run(ctx context.Context, dir string, cfg Config, opts ...eventstore.Option) (Report, error) {
	began := time.Now()
	cfg = cfg.withDefaults()
	steps, orders := plan(cfg)
	var clock atomic.Int64
	clock.Store(steps[0].at.UnixNano())
	opts = append(opts, eventstore.WithClock(func() time.Time { return time.Unix(0, clock.Load()) }))
	store, err := eventstore.Open(ctx, dir, opts...)
	if err != nil {
		return Report{}, fmt.Errorf("seed: %w", err)
	}
	s, err := newSeeder(store, cfg)
	if err == nil {
		err = s.run(ctx, steps, &clock)
	}
	err = errors.Join(err, s.close(), store.Close())
	if err != nil {
		return Report{}, fmt.Errorf("seed: %w", err)
	}
	s.report.Orders = orders - len(s.skipped)
	s.report.Took = time.Since(began)
	return s.report, nil
}

// step is one command of the history, at the time its events are stored.
type step struct {
	at  time.Time
	seq int // tie-break: the order steps were planned in
	run func(ctx context.Context, s *seeder) error
}

// seeder runs the steps on the three repositories, keeping what later
// choices depend on (who is an active member of which workspace).
type seeder struct {
	store      *eventstore.Store
	orders     *aggregate.Repository[domain.Order, domain.OrderEvent]
	users      *aggregate.Repository[domain.User, domain.UserEvent]
	workspaces *aggregate.Repository[domain.Workspace, domain.WorkspaceEvent]

	rng     *rand.Rand // choices made as the steps run, in their order
	active  map[string]bool
	members map[string][]string // workspace → members, in the order they joined
	owners  map[string]string
	skipped map[string]bool // orders that found no one to place them
	report  Report
}

func newSeeder(store *eventstore.Store, cfg Config) (*seeder, error) {
	s := &seeder{store: store, rng: rand.New(rand.NewPCG(cfg.Rand, 2)), active: map[string]bool{},
		members: map[string][]string{}, owners: map[string]string{}, skipped: map[string]bool{}}
	var err error
	if s.orders, err = aggregate.NewRepository(store, domain.Orders()); err != nil {
		return s, err
	}
	if s.users, err = aggregate.NewRepository(store, domain.Users()); err != nil {
		return s, err
	}
	s.workspaces, err = aggregate.NewRepository(store, domain.Workspaces())
	return s, err
}

func (s *seeder) close() error {
	var errs []error
	if s.orders != nil {
		errs = append(errs, s.orders.Close())
	}
	if s.users != nil {
		errs = append(errs, s.users.Close())
	}
	if s.workspaces != nil {
		errs = append(errs, s.workspaces.Close())
	}
	return errors.Join(errs...)
}

func (s *seeder) run(ctx context.Context, steps []step, clock *atomic.Int64) error {
	if tail, err := s.store.Tail(ctx); err != nil {
		return err
	} else if tail != eventstore.Start {
		return ErrNotEmpty
	}
	for _, st := range steps {
		clock.Store(st.at.UnixNano())
		if err := st.run(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// handle runs one command and counts what it stored.
func handle[S, E any](ctx context.Context, s *seeder, repo *aggregate.Repository[S, E], id string, decide func(S) ([]E, error)) error {
	res, err := repo.Handle(ctx, id, decide)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", repo.Definition().Category(), id, err)
	}
	s.report.Commands++
	if n := len(res.Events); n > 0 {
		s.report.Events += n
		if s.report.First.IsZero() {
			s.report.First = res.StoredAt
		}
		s.report.Last = res.StoredAt
	}
	return nil
}

// plan lays out the whole history in time order, and returns it with the
// number of orders planned.
func plan(cfg Config) ([]step, int) {
	rng := rand.New(rand.NewPCG(cfg.Rand, 1))
	end := cfg.End.In(cfg.Location)
	y, m, d := end.Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, cfg.Location).AddDate(0, 0, -cfg.Days)
	p := &planner{rng: rng, end: cfg.End}
	users := p.people(start.Add(-48 * time.Hour))
	p.companies(start.Add(-24*time.Hour), users)
	p.churn(start, cfg.Days, users)
	n := p.orders(start, cfg, len(workspaceNames))
	slices.SortFunc(p.steps, func(a, b step) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return p.steps, n
}

// planner collects steps.
type planner struct {
	rng   *rand.Rand
	end   time.Time
	steps []step
}

// add plans a step, unless it falls at or after the end of the history.
func (p *planner) add(at time.Time, run func(context.Context, *seeder) error) bool {
	if !at.Before(p.end) {
		return false
	}
	p.steps = append(p.steps, step{at: at, seq: len(p.steps), run: run})
	return true
}

// minutes returns a random duration between lo and hi minutes.
func (p *planner) minutes(lo, hi int) time.Duration {
	return time.Duration(lo)*time.Minute + time.Duration(p.rng.Int64N(int64(hi-lo)*int64(time.Minute)+1))
}

func userID(i int) string {
	return strings.ToLower(strings.ReplaceAll(firstNames[i]+"-"+lastNames[i], " ", "-"))
}

func workspaceID(i int) string {
	return strings.ToLower(strings.ReplaceAll(workspaceNames[i], " ", "-"))
}

// people registers the users, ten minutes apart from at.
func (p *planner) people(at time.Time) []string {
	ids := make([]string, len(firstNames))
	for i := range firstNames {
		id, name := userID(i), firstNames[i]+" "+lastNames[i]
		email := strings.ToLower(firstNames[i]) + "@" + strings.ToLower(strings.ReplaceAll(lastNames[i], " ", "")) + ".example"
		ids[i] = id
		p.add(at.Add(time.Duration(i)*10*time.Minute), func(ctx context.Context, s *seeder) error {
			s.active[id] = true
			s.report.Users++
			return handle(ctx, s, s.users, id, domain.RegisterUser{Name: name, Email: email}.Decide)
		})
	}
	return ids
}

// companies creates the workspaces, each owned by one user, with a few
// members added in the hour after.
func (p *planner) companies(at time.Time, users []string) {
	for i := range workspaceNames {
		ws, owner, t := workspaceID(i), users[i], at.Add(time.Duration(i)*20*time.Minute)
		p.add(t, func(ctx context.Context, s *seeder) error {
			u, err := s.users.Load(ctx, owner)
			if err != nil {
				return err
			}
			s.owners[ws], s.members[ws] = owner, []string{owner}
			s.report.Workspaces++
			return handle(ctx, s, s.workspaces, ws, domain.CreateWorkspace{Name: workspaceNames[i], Owner: owner}.Decide(u.State))
		})
		for _, k := range p.rng.Perm(len(users))[:3+p.rng.IntN(6)] {
			if users[k] == owner {
				continue
			}
			role := domain.RoleMember
			if p.rng.IntN(4) == 0 {
				role = domain.RoleAdmin
			}
			p.add(t.Add(p.minutes(1, 60)), addMember(ws, users[k], role))
		}
	}
}

func addMember(ws, user string, role domain.Role) func(context.Context, *seeder) error {
	return func(ctx context.Context, s *seeder) error {
		if !s.active[user] || slices.Contains(s.members[ws], user) {
			return nil // the plan's choice no longer fits: skip it
		}
		u, err := s.users.Load(ctx, user)
		if err != nil {
			return err
		}
		s.members[ws] = append(s.members[ws], user)
		return handle(ctx, s, s.workspaces, ws, domain.AddMember{User: user, Role: role}.Decide(u.State))
	}
}

// churn spreads the changes of people over the period: members joining
// and leaving, renames, deactivations.
func (p *planner) churn(start time.Time, days int, users []string) {
	span := time.Duration(days) * 24 * time.Hour
	at := func() time.Time { return start.Add(time.Duration(p.rng.Int64N(int64(span)))) }
	for range max(1, days/3) {
		p.add(at(), addMember(workspaceID(p.rng.IntN(len(workspaceNames))), users[p.rng.IntN(len(users))], domain.RoleMember))
	}
	for range max(1, days/6) {
		ws := workspaceID(p.rng.IntN(len(workspaceNames)))
		p.add(at(), func(ctx context.Context, s *seeder) error {
			ms := s.members[ws]
			if len(ms) < 3 {
				return nil
			}
			k := 1 + s.rng.IntN(len(ms)-1) // never the owner, who joined first
			user := ms[k]
			s.members[ws] = slices.Delete(slices.Clone(ms), k, k+1)
			return handle(ctx, s, s.workspaces, ws, domain.RemoveMember{User: user}.Decide)
		})
	}
	owners := len(workspaceNames)
	for i := range 3 {
		k := owners + p.rng.IntN(len(users)-owners)
		name := firstNames[k] + " " + lastNames[(k+7+i)%len(lastNames)]
		p.add(at(), func(ctx context.Context, s *seeder) error {
			if !s.active[users[k]] {
				return nil
			}
			return handle(ctx, s, s.users, users[k], domain.RenameUser{Name: name}.Decide)
		})
	}
	for i := range 2 {
		k := owners + p.rng.IntN(len(users)-owners)
		p.add(start.Add(span*time.Duration(6+2*i)/10), func(ctx context.Context, s *seeder) error {
			if !s.active[users[k]] {
				return nil
			}
			s.active[users[k]] = false
			return handle(ctx, s, s.users, users[k], domain.DeactivateUser{Reason: "left the company"}.Decide)
		})
	}
}

// hourWeights are how likely an order is placed in each hour of the day
// (local time), from 0 to 23.
var hourWeights = [24]int{1, 0, 0, 0, 0, 0, 1, 2, 4, 7, 9, 10, 8, 9, 10, 11, 10, 8, 6, 5, 4, 3, 2, 1}

// placedAt draws when an order is placed: a day of the period (more orders
// as the shop grows) and an hour by hourWeights.
func (p *planner) placedAt(start time.Time, days int) time.Time {
	total := 0
	for _, w := range hourWeights {
		total += w
	}
	for {
		// The square root of a uniform draw leans towards recent days;
		// day == days is the day the history ends.
		day := min(int(float64(days+1)*math.Sqrt(p.rng.Float64())), days)
		r, h := p.rng.IntN(total), 0
		for ; r >= hourWeights[h]; h++ {
			r -= hourWeights[h]
		}
		y, m, d := start.AddDate(0, 0, day).Date()
		t := time.Date(y, m, d, h, p.rng.IntN(60), p.rng.IntN(60), p.rng.IntN(1e9), start.Location())
		if t.Before(p.end) {
			return t
		}
	}
}

// orders plans the orders, numbered in the order they are placed, and
// returns how many.
func (p *planner) orders(start time.Time, cfg Config, workspaces int) int {
	times := make([]time.Time, cfg.Orders)
	for i := range times {
		times[i] = p.placedAt(start, cfg.Days)
	}
	slices.SortFunc(times, time.Time.Compare)
	for i, t := range times {
		p.order(fmt.Sprintf("ord-%05d", i+1), workspaceID(p.rng.IntN(workspaces)), t)
	}
	return len(times)
}

// order plans one order's life from t.
func (p *planner) order(id, ws string, t time.Time) {
	if !p.add(t, placeOrder(id, ws)) {
		return
	}
	do := func(after time.Duration, decide func(domain.Order) ([]domain.OrderEvent, error)) bool {
		t = t.Add(after)
		return p.add(t, func(ctx context.Context, s *seeder) error {
			if s.skipped[id] {
				return nil
			}
			return handle(ctx, s, s.orders, id, decide)
		})
	}
	lines := 1 + min(p.rng.IntN(4), p.rng.IntN(5))
	for _, k := range p.rng.Perm(len(catalog))[:lines] {
		q := 1
		if r := p.rng.IntN(20); r >= 17 {
			q = 3 + p.rng.IntN(3)
		} else if r >= 12 {
			q = 2
		}
		pr := catalog[k]
		if !do(p.minutes(1, 15), domain.AddItem{SKU: pr.sku, Name: pr.name, Quantity: q, UnitPriceCents: pr.cents}.Decide) {
			return
		}
	}
	if p.rng.IntN(100) < 12 {
		k := p.rng.IntN(lines)
		if !do(p.minutes(2, 30), removeOne(k)) {
			return
		}
	}
	if p.rng.IntN(100) < 20 {
		dc := discounts[p.rng.IntN(len(discounts))]
		if !do(p.minutes(1, 10), domain.ApplyDiscount{Code: dc.code, Percent: dc.percent}.Decide) {
			return
		}
	}
	switch r := p.rng.IntN(100); {
	case r < 82:
		method := methods[p.rng.IntN(len(methods))]
		if !do(p.minutes(5, 240), func(o domain.Order) ([]domain.OrderEvent, error) {
			return domain.PayOrder{AmountCents: o.TotalCents, Method: method}.Decide(o)
		}) {
			return
		}
		switch r2 := p.rng.IntN(100); {
		case r2 < 90:
			carrier := carriers[p.rng.IntN(len(carriers))]
			tracking := fmt.Sprintf("%s%010d", strings.ToUpper(carrier[:2]), p.rng.Int64N(1e10))
			do(p.minutes(180, 48*60), domain.ShipOrder{Carrier: carrier, Tracking: tracking}.Decide)
		case r2 < 95:
			do(p.minutes(60, 24*60), domain.CancelOrder{Reason: refundReasons[p.rng.IntN(len(refundReasons))]}.Decide)
		}
	case r < 92:
		do(p.minutes(60, 72*60), domain.CancelOrder{Reason: reasons[p.rng.IntN(len(reasons))]}.Decide)
	}
}

// placeOrder places order id in ws by one of its active members, chosen
// as the step runs (membership changes over the history), through the
// membership check of the real command path.
func placeOrder(id, ws string) func(context.Context, *seeder) error {
	return func(ctx context.Context, s *seeder) error {
		var candidates []string
		for _, u := range s.members[ws] {
			if s.active[u] {
				candidates = append(candidates, u)
			}
		}
		if len(candidates) == 0 {
			s.skipped[id] = true
			return nil
		}
		by := candidates[s.rng.IntN(len(candidates))]
		w, err := s.workspaces.Load(ctx, ws)
		if err != nil {
			return err
		}
		u, err := s.users.Load(ctx, by)
		if err != nil {
			return err
		}
		return handle(ctx, s, s.orders, id, domain.PlaceOrder{Workspace: ws, PlacedBy: by}.Decide(w.State, u.State))
	}
}

// removeOne takes one unit of the k-th line (by SKU) off an order, or the
// whole line when it holds one unit and is not the only line.
func removeOne(k int) func(domain.Order) ([]domain.OrderEvent, error) {
	return func(o domain.Order) ([]domain.OrderEvent, error) {
		skus := make([]string, 0, len(o.Items))
		for sku := range o.Items {
			skus = append(skus, sku)
		}
		slices.Sort(skus)
		if len(skus) == 0 {
			return nil, nil
		}
		sku := skus[k%len(skus)]
		if o.Items[sku].Quantity == 1 && len(skus) == 1 {
			return nil, nil
		}
		return domain.RemoveItem{SKU: sku, Quantity: 1}.Decide(o)
	}
}
