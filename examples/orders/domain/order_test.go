package domain_test

import (
	"testing"

	"github.com/rewindhq/rewind/aggregate/aggregatetest"
	"github.com/rewindhq/rewind/examples/orders/domain"
)

// The histories the order cases start from.
var (
	placed  domain.OrderEvent = domain.OrderPlaced{Workspace: "acme", PlacedBy: "ada"}
	mug     domain.OrderEvent = domain.ItemAdded{SKU: "mug", Name: "Mug", Quantity: 2, UnitPriceCents: 1250}
	lamp    domain.OrderEvent = domain.ItemAdded{SKU: "lamp", Name: "Lamp", Quantity: 1, UnitPriceCents: 4999}
	paid    domain.OrderEvent = domain.OrderPaid{AmountCents: 2500, Method: "card"}
	shipped domain.OrderEvent = domain.OrderShipped{Carrier: "ups", Tracking: "1Z999"}
	cancel  domain.OrderEvent = domain.OrderCancelled{Reason: "changed my mind"}
)

func acme() domain.Workspace {
	return domain.Workspace{Name: "Acme", Owner: "ada", Members: map[string]domain.Role{"ada": domain.RoleOwner, "bob": domain.RoleMember}}
}

var (
	ada    = domain.User{Status: domain.UserActive, Name: "Ada"}
	gone   = domain.User{Status: domain.UserInactive, Name: "Carl"}
	nobody = domain.User{}
)

func TestPlaceOrder(t *testing.T) {
	orders := domain.Orders()
	cmd := domain.PlaceOrder{Workspace: "acme", PlacedBy: "ada"}
	t.Run("by a member", func(t *testing.T) {
		aggregatetest.Given(orders).When(cmd.Decide(acme(), ada)).Then(t, placed)
	})
	t.Run("twice", func(t *testing.T) {
		aggregatetest.Given(orders, placed).When(cmd.Decide(acme(), ada)).ThenError(t, domain.ErrOrderExists)
	})
	t.Run("in no workspace", func(t *testing.T) {
		aggregatetest.Given(orders).When(cmd.Decide(domain.Workspace{}, ada)).ThenError(t, domain.ErrNoWorkspace)
	})
	t.Run("by no user", func(t *testing.T) {
		aggregatetest.Given(orders).When(cmd.Decide(acme(), nobody)).ThenError(t, domain.ErrNoUser)
	})
	t.Run("by a deactivated user", func(t *testing.T) {
		aggregatetest.Given(orders).When(cmd.Decide(acme(), gone)).ThenError(t, domain.ErrUserInactive)
	})
	t.Run("by a non-member", func(t *testing.T) {
		eve := domain.PlaceOrder{Workspace: "acme", PlacedBy: "eve"}
		aggregatetest.Given(orders).When(eve.Decide(acme(), ada)).ThenError(t, domain.ErrNotMember)
	})
}

func TestAddItem(t *testing.T) {
	orders := domain.Orders()
	t.Run("to an open order", func(t *testing.T) {
		aggregatetest.Given(orders, placed).When(domain.AddItem{SKU: "mug", Name: "Mug", Quantity: 2, UnitPriceCents: 1250}.Decide).Then(t, mug)
	})
	t.Run("the same SKU again adds up", func(t *testing.T) {
		aggregatetest.Given(orders, placed, mug).When(domain.AddItem{SKU: "mug", Quantity: 3, UnitPriceCents: 1250}.Decide).
			ThenState(t, domain.Order{Status: domain.StatusOpen, Workspace: "acme", PlacedBy: "ada",
				Items: map[string]domain.Line{"mug": {Name: "Mug", Quantity: 5, UnitPriceCents: 1250}}, SubtotalCents: 6250, TotalCents: 6250})
	})
	cases := []struct {
		name  string
		given []domain.OrderEvent
		cmd   domain.AddItem
		want  error
	}{
		{"to no order", nil, domain.AddItem{SKU: "mug", Quantity: 1, UnitPriceCents: 1}, domain.ErrNoOrder},
		{"a zero quantity", []domain.OrderEvent{placed}, domain.AddItem{SKU: "mug", Quantity: 0, UnitPriceCents: 1}, domain.ErrQuantity},
		{"a negative quantity", []domain.OrderEvent{placed}, domain.AddItem{SKU: "mug", Quantity: -1, UnitPriceCents: 1}, domain.ErrQuantity},
		{"too many", []domain.OrderEvent{placed}, domain.AddItem{SKU: "mug", Quantity: domain.MaxQuantity + 1, UnitPriceCents: 1}, domain.ErrQuantity},
		{"too many in total", []domain.OrderEvent{placed, mug}, domain.AddItem{SKU: "mug", Quantity: domain.MaxQuantity - 1, UnitPriceCents: 1250}, domain.ErrQuantity},
		{"a zero price", []domain.OrderEvent{placed}, domain.AddItem{SKU: "mug", Quantity: 1, UnitPriceCents: 0}, domain.ErrPrice},
		{"a negative price", []domain.OrderEvent{placed}, domain.AddItem{SKU: "mug", Quantity: 1, UnitPriceCents: -5}, domain.ErrPrice},
		{"a price too high", []domain.OrderEvent{placed}, domain.AddItem{SKU: "mug", Quantity: 1, UnitPriceCents: domain.MaxUnitPriceCents + 1}, domain.ErrPrice},
		{"another price for a SKU held", []domain.OrderEvent{placed, mug}, domain.AddItem{SKU: "mug", Quantity: 1, UnitPriceCents: 999}, domain.ErrPrice},
		{"no SKU", []domain.OrderEvent{placed}, domain.AddItem{Quantity: 1, UnitPriceCents: 1}, domain.ErrSKU},
		{"after payment", []domain.OrderEvent{placed, mug, paid}, domain.AddItem{SKU: "lamp", Quantity: 1, UnitPriceCents: 1}, domain.ErrOrderPaid},
		{"after shipping", []domain.OrderEvent{placed, mug, paid, shipped}, domain.AddItem{SKU: "lamp", Quantity: 1, UnitPriceCents: 1}, domain.ErrOrderShipped},
		{"after cancelling", []domain.OrderEvent{placed, cancel}, domain.AddItem{SKU: "lamp", Quantity: 1, UnitPriceCents: 1}, domain.ErrOrderCancelled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aggregatetest.Given(orders, c.given).When(c.cmd.Decide).ThenError(t, c.want)
		})
	}
	t.Run("one line too many", func(t *testing.T) {
		given := []domain.OrderEvent{placed}
		for i := range domain.MaxLines {
			given = append(given, domain.ItemAdded{SKU: string(rune('A' + i)), Quantity: 1, UnitPriceCents: 1})
		}
		aggregatetest.Given(orders, given).When(domain.AddItem{SKU: "mug", Quantity: 1, UnitPriceCents: 1}.Decide).ThenError(t, domain.ErrSKU)
	})
}

func TestRemoveItem(t *testing.T) {
	orders := domain.Orders()
	t.Run("part of a line", func(t *testing.T) {
		aggregatetest.Given(orders, placed, mug).When(domain.RemoveItem{SKU: "mug", Quantity: 1}.Decide).
			Then(t, domain.ItemRemoved{SKU: "mug", Quantity: 1})
	})
	t.Run("the whole line", func(t *testing.T) {
		aggregatetest.Given(orders, placed, mug, lamp).When(domain.RemoveItem{SKU: "mug"}.Decide).
			ThenState(t, domain.Order{Status: domain.StatusOpen, Workspace: "acme", PlacedBy: "ada",
				Items: map[string]domain.Line{"lamp": {Name: "Lamp", Quantity: 1, UnitPriceCents: 4999}}, SubtotalCents: 4999, TotalCents: 4999})
	})
	cases := []struct {
		name  string
		given []domain.OrderEvent
		cmd   domain.RemoveItem
		want  error
	}{
		{"a SKU not held", []domain.OrderEvent{placed, mug}, domain.RemoveItem{SKU: "lamp"}, domain.ErrSKU},
		{"more than held", []domain.OrderEvent{placed, mug}, domain.RemoveItem{SKU: "mug", Quantity: 3}, domain.ErrQuantity},
		{"a negative quantity", []domain.OrderEvent{placed, mug}, domain.RemoveItem{SKU: "mug", Quantity: -1}, domain.ErrQuantity},
		{"from no order", nil, domain.RemoveItem{SKU: "mug"}, domain.ErrNoOrder},
		{"after payment", []domain.OrderEvent{placed, mug, paid}, domain.RemoveItem{SKU: "mug"}, domain.ErrOrderPaid},
		{"after shipping", []domain.OrderEvent{placed, mug, paid, shipped}, domain.RemoveItem{SKU: "mug"}, domain.ErrOrderShipped},
		{"after cancelling", []domain.OrderEvent{placed, mug, cancel}, domain.RemoveItem{SKU: "mug"}, domain.ErrOrderCancelled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aggregatetest.Given(orders, c.given).When(c.cmd.Decide).ThenError(t, c.want)
		})
	}
}

func TestApplyDiscount(t *testing.T) {
	orders := domain.Orders()
	t.Run("rounds down to the cent", func(t *testing.T) {
		aggregatetest.Given(orders, placed, lamp).When(domain.ApplyDiscount{Code: "SPRING", Percent: 15}.Decide).
			ThenState(t, domain.Order{Status: domain.StatusOpen, Workspace: "acme", PlacedBy: "ada",
				Items:        map[string]domain.Line{"lamp": {Name: "Lamp", Quantity: 1, UnitPriceCents: 4999}},
				DiscountCode: "SPRING", DiscountPercent: 15, SubtotalCents: 4999, DiscountCents: 749, TotalCents: 4250})
	})
	cases := []struct {
		name  string
		given []domain.OrderEvent
		cmd   domain.ApplyDiscount
		want  error
	}{
		{"below the bounds", []domain.OrderEvent{placed, mug}, domain.ApplyDiscount{Code: "X", Percent: 0}, domain.ErrDiscount},
		{"above the bounds", []domain.OrderEvent{placed, mug}, domain.ApplyDiscount{Code: "X", Percent: domain.MaxDiscountPercent + 1}, domain.ErrDiscount},
		{"without a code", []domain.OrderEvent{placed, mug}, domain.ApplyDiscount{Percent: 10}, domain.ErrDiscount},
		{"a second one", []domain.OrderEvent{placed, mug, domain.DiscountApplied{Code: "A", Percent: 10}}, domain.ApplyDiscount{Code: "B", Percent: 10}, domain.ErrDiscount},
		{"to an empty order", []domain.OrderEvent{placed}, domain.ApplyDiscount{Code: "X", Percent: 10}, domain.ErrEmptyOrder},
		{"after payment", []domain.OrderEvent{placed, mug, paid}, domain.ApplyDiscount{Code: "X", Percent: 10}, domain.ErrOrderPaid},
		{"after shipping", []domain.OrderEvent{placed, mug, paid, shipped}, domain.ApplyDiscount{Code: "X", Percent: 10}, domain.ErrOrderShipped},
		{"after cancelling", []domain.OrderEvent{placed, mug, cancel}, domain.ApplyDiscount{Code: "X", Percent: 10}, domain.ErrOrderCancelled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aggregatetest.Given(orders, c.given).When(c.cmd.Decide).ThenError(t, c.want)
		})
	}
}

func TestPayOrder(t *testing.T) {
	orders := domain.Orders()
	t.Run("the total", func(t *testing.T) {
		aggregatetest.Given(orders, placed, mug).When(domain.PayOrder{AmountCents: 2500, Method: "card"}.Decide).Then(t, paid)
	})
	t.Run("the discounted total", func(t *testing.T) {
		aggregatetest.Given(orders, placed, mug, domain.OrderEvent(domain.DiscountApplied{Code: "X", Percent: 10})).
			When(domain.PayOrder{AmountCents: 2250, Method: "card"}.Decide).Then(t, domain.OrderPaid{AmountCents: 2250, Method: "card"})
	})
	cases := []struct {
		name  string
		given []domain.OrderEvent
		cmd   domain.PayOrder
		want  error
	}{
		{"less than the total", []domain.OrderEvent{placed, mug}, domain.PayOrder{AmountCents: 2499, Method: "card"}, domain.ErrPayment},
		{"more than the total", []domain.OrderEvent{placed, mug}, domain.PayOrder{AmountCents: 2501, Method: "card"}, domain.ErrPayment},
		{"the total before the discount", []domain.OrderEvent{placed, mug, domain.DiscountApplied{Code: "X", Percent: 10}}, domain.PayOrder{AmountCents: 2500, Method: "card"}, domain.ErrPayment},
		{"without a method", []domain.OrderEvent{placed, mug}, domain.PayOrder{AmountCents: 2500}, domain.ErrPayment},
		{"an empty order", []domain.OrderEvent{placed}, domain.PayOrder{AmountCents: 0, Method: "card"}, domain.ErrEmptyOrder},
		{"an emptied order", []domain.OrderEvent{placed, mug, domain.ItemRemoved{SKU: "mug", Quantity: 2}}, domain.PayOrder{AmountCents: 0, Method: "card"}, domain.ErrEmptyOrder},
		{"twice", []domain.OrderEvent{placed, mug, paid}, domain.PayOrder{AmountCents: 2500, Method: "card"}, domain.ErrOrderPaid},
		{"no order", nil, domain.PayOrder{AmountCents: 2500, Method: "card"}, domain.ErrNoOrder},
		{"a cancelled order", []domain.OrderEvent{placed, mug, cancel}, domain.PayOrder{AmountCents: 2500, Method: "card"}, domain.ErrOrderCancelled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aggregatetest.Given(orders, c.given).When(c.cmd.Decide).ThenError(t, c.want)
		})
	}
}

func TestShipOrder(t *testing.T) {
	orders := domain.Orders()
	t.Run("a paid order", func(t *testing.T) {
		aggregatetest.Given(orders, placed, mug, paid).When(domain.ShipOrder{Carrier: "ups", Tracking: "1Z999"}.Decide).Then(t, shipped)
	})
	cases := []struct {
		name  string
		given []domain.OrderEvent
		cmd   domain.ShipOrder
		want  error
	}{
		{"an unpaid order", []domain.OrderEvent{placed, mug}, domain.ShipOrder{Carrier: "ups", Tracking: "1"}, domain.ErrNotPaid},
		{"twice", []domain.OrderEvent{placed, mug, paid, shipped}, domain.ShipOrder{Carrier: "ups", Tracking: "1"}, domain.ErrOrderShipped},
		{"a cancelled order", []domain.OrderEvent{placed, mug, paid, cancel}, domain.ShipOrder{Carrier: "ups", Tracking: "1"}, domain.ErrOrderCancelled},
		{"no order", nil, domain.ShipOrder{Carrier: "ups", Tracking: "1"}, domain.ErrNoOrder},
		{"without a carrier", []domain.OrderEvent{placed, mug, paid}, domain.ShipOrder{Tracking: "1"}, domain.ErrShipment},
		{"without tracking", []domain.OrderEvent{placed, mug, paid}, domain.ShipOrder{Carrier: "ups"}, domain.ErrShipment},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aggregatetest.Given(orders, c.given).When(c.cmd.Decide).ThenError(t, c.want)
		})
	}
}

func TestCancelOrder(t *testing.T) {
	orders := domain.Orders()
	t.Run("an open order", func(t *testing.T) {
		aggregatetest.Given(orders, placed, mug).When(domain.CancelOrder{Reason: "changed my mind"}.Decide).Then(t, cancel)
	})
	t.Run("a paid order is refunded", func(t *testing.T) {
		aggregatetest.Given(orders, placed, mug, paid).When(domain.CancelOrder{Reason: "out of stock"}.Decide).
			Then(t, domain.OrderCancelled{Reason: "out of stock", RefundCents: 2500})
	})
	cases := []struct {
		name  string
		given []domain.OrderEvent
		cmd   domain.CancelOrder
		want  error
	}{
		{"a shipped order", []domain.OrderEvent{placed, mug, paid, shipped}, domain.CancelOrder{Reason: "late"}, domain.ErrOrderShipped},
		{"twice", []domain.OrderEvent{placed, cancel}, domain.CancelOrder{Reason: "again"}, domain.ErrOrderCancelled},
		{"no order", nil, domain.CancelOrder{Reason: "x"}, domain.ErrNoOrder},
		{"without a reason", []domain.OrderEvent{placed}, domain.CancelOrder{Reason: " "}, domain.ErrReason},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aggregatetest.Given(orders, c.given).When(c.cmd.Decide).ThenError(t, c.want)
		})
	}
}
