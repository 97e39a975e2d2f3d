package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The commands of an order. Each is a plain struct (the JSON body of
// POST /v1/commands/orders/<id>, besides "type") with a Decide method: the
// decider Repository.Handle runs on the order's current state.

// PlaceOrder opens an order in Workspace, placed by the user PlacedBy.
type PlaceOrder struct {
	Workspace string `json:"workspace"`
	PlacedBy  string `json:"placedBy"`
}

// AddItem adds Quantity of SKU at UnitPriceCents. Adding a SKU the order
// holds adds to its quantity, at the same price.
type AddItem struct {
	SKU            string `json:"sku"`
	Name           string `json:"name,omitempty"` // the SKU when empty
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// RemoveItem takes Quantity of SKU off the order (0: the whole line).
type RemoveItem struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity,omitempty"` // the whole line when 0
}

// ApplyDiscount takes Percent off the subtotal, once per order.
type ApplyDiscount struct {
	Code    string `json:"code"`
	Percent int    `json:"percent"`
}

// PayOrder pays AmountCents, which must be the order's total, by Method.
type PayOrder struct {
	AmountCents int64  `json:"amountCents"`
	Method      string `json:"method"`
}

// ShipOrder ships a paid order.
type ShipOrder struct {
	Carrier  string `json:"carrier"`
	Tracking string `json:"tracking"`
}

// CancelOrder cancels an order that has not shipped; a paid one is
// refunded in full.
type CancelOrder struct {
	Reason string `json:"reason"`
}

// Decide places the order in ws, whose state the command path loaded, by
// user (loaded too): the workspace must exist and the user must be one of
// its members and active (see the package doc for the policy).
func (c PlaceOrder) Decide(ws Workspace, user User) func(Order) ([]OrderEvent, error) {
	return func(o Order) ([]OrderEvent, error) {
		if o.Status != StatusNone {
			return nil, ErrOrderExists
		}
		if c.Workspace == "" || !ws.Exists() {
			return nil, fmt.Errorf("%w: %q", ErrNoWorkspace, c.Workspace)
		}
		if c.PlacedBy == "" || !user.Exists() {
			return nil, fmt.Errorf("%w: %q", ErrNoUser, c.PlacedBy)
		}
		if user.Status != UserActive {
			return nil, fmt.Errorf("%w: %q", ErrUserInactive, c.PlacedBy)
		}
		if _, ok := ws.Members[c.PlacedBy]; !ok {
			return nil, fmt.Errorf("%w: %q is not in %q", ErrNotMember, c.PlacedBy, c.Workspace)
		}
		return []OrderEvent{OrderPlaced{Workspace: c.Workspace, PlacedBy: c.PlacedBy}}, nil
	}
}

// changeable reports why the contents of o cannot change, or nil.
func changeable(o Order) error {
	switch o.Status {
	case StatusNone:
		return ErrNoOrder
	case StatusPaid:
		return ErrOrderPaid
	case StatusShipped:
		return ErrOrderShipped
	case StatusCancelled:
		return ErrOrderCancelled
	}
	return nil
}

// Validate checks what needs no order: a SKU of 1 to 64 bytes, a
// quantity from 1 to MaxQuantity, a price from 1 to MaxUnitPriceCents.
// Over HTTP its error is a 400 (aggregatehttp.Validator); Decide checks it
// too.
func (c AddItem) Validate() error {
	if c.SKU == "" || len(c.SKU) > 64 || !utf8.ValidString(c.SKU) {
		return fmt.Errorf("%w: a SKU is 1 to 64 bytes", ErrSKU)
	}
	if c.Quantity < 1 || c.Quantity > MaxQuantity {
		return fmt.Errorf("%w: %d (1 to %d)", ErrQuantity, c.Quantity, MaxQuantity)
	}
	if c.UnitPriceCents < 1 || c.UnitPriceCents > MaxUnitPriceCents {
		return fmt.Errorf("%w: %d cents (1 to %d)", ErrPrice, c.UnitPriceCents, MaxUnitPriceCents)
	}
	return nil
}

// Decide adds the item to an open order.
func (c AddItem) Decide(o Order) ([]OrderEvent, error) {
	if err := changeable(o); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	line, held := o.Items[c.SKU]
	if held && line.UnitPriceCents != c.UnitPriceCents {
		return nil, fmt.Errorf("%w: %s is on the order at %d cents, not %d", ErrPrice, c.SKU, line.UnitPriceCents, c.UnitPriceCents)
	}
	if held && line.Quantity+c.Quantity > MaxQuantity {
		return nil, fmt.Errorf("%w: %s would reach %d (at most %d)", ErrQuantity, c.SKU, line.Quantity+c.Quantity, MaxQuantity)
	}
	if !held && len(o.Items) >= MaxLines {
		return nil, fmt.Errorf("%w: an order holds at most %d lines", ErrSKU, MaxLines)
	}
	name := strings.TrimSpace(c.Name)
	if name == "" {
		name = c.SKU
	}
	if held && c.Name == "" {
		name = line.Name
	}
	return []OrderEvent{ItemAdded{SKU: c.SKU, Name: name, Quantity: c.Quantity, UnitPriceCents: c.UnitPriceCents}}, nil
}

// Decide removes the quantity (0: all) of a SKU the open order holds.
func (c RemoveItem) Decide(o Order) ([]OrderEvent, error) {
	if err := changeable(o); err != nil {
		return nil, err
	}
	line, held := o.Items[c.SKU]
	if !held {
		return nil, fmt.Errorf("%w: %q is not on the order", ErrSKU, c.SKU)
	}
	q := c.Quantity
	if q == 0 {
		q = line.Quantity
	}
	if q < 0 || q > line.Quantity {
		return nil, fmt.Errorf("%w: cannot remove %d of %s, the order holds %d", ErrQuantity, c.Quantity, c.SKU, line.Quantity)
	}
	return []OrderEvent{ItemRemoved{SKU: c.SKU, Quantity: q}}, nil
}

// Validate checks what needs no order: a code, and a percent from
// MinDiscountPercent to MaxDiscountPercent. Over HTTP its error is a 400
// (aggregatehttp.Validator); Decide checks it too.
func (c ApplyDiscount) Validate() error {
	if strings.TrimSpace(c.Code) == "" {
		return fmt.Errorf("%w: a code is required", ErrDiscount)
	}
	if c.Percent < MinDiscountPercent || c.Percent > MaxDiscountPercent {
		return fmt.Errorf("%w: %d%% (%d to %d)", ErrDiscount, c.Percent, MinDiscountPercent, MaxDiscountPercent)
	}
	return nil
}

// Decide applies the discount to an open order with items and no discount
// yet.
func (c ApplyDiscount) Decide(o Order) ([]OrderEvent, error) {
	if err := changeable(o); err != nil {
		return nil, err
	}
	if len(o.Items) == 0 {
		return nil, ErrEmptyOrder
	}
	if o.DiscountCode != "" {
		return nil, fmt.Errorf("%w: the order has discount %s already", ErrDiscount, o.DiscountCode)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return []OrderEvent{DiscountApplied{Code: strings.TrimSpace(c.Code), Percent: c.Percent}}, nil
}

// Decide pays an open order with items, for exactly its total.
func (c PayOrder) Decide(o Order) ([]OrderEvent, error) {
	if err := changeable(o); err != nil {
		return nil, err
	}
	if len(o.Items) == 0 {
		return nil, ErrEmptyOrder
	}
	if c.AmountCents != o.TotalCents {
		return nil, fmt.Errorf("%w: %d cents paid, the total is %d", ErrPayment, c.AmountCents, o.TotalCents)
	}
	if strings.TrimSpace(c.Method) == "" {
		return nil, fmt.Errorf("%w: a method is required", ErrPayment)
	}
	return []OrderEvent{OrderPaid{AmountCents: c.AmountCents, Method: c.Method}}, nil
}

// Decide ships a paid order.
func (c ShipOrder) Decide(o Order) ([]OrderEvent, error) {
	switch o.Status {
	case StatusNone:
		return nil, ErrNoOrder
	case StatusOpen:
		return nil, ErrNotPaid
	case StatusShipped:
		return nil, ErrOrderShipped
	case StatusCancelled:
		return nil, ErrOrderCancelled
	}
	if strings.TrimSpace(c.Carrier) == "" || strings.TrimSpace(c.Tracking) == "" {
		return nil, fmt.Errorf("%w: a carrier and a tracking number are required", ErrShipment)
	}
	return []OrderEvent{OrderShipped{Carrier: c.Carrier, Tracking: c.Tracking}}, nil
}

// Decide cancels an order that has not shipped, refunding what was paid.
func (c CancelOrder) Decide(o Order) ([]OrderEvent, error) {
	switch o.Status {
	case StatusNone:
		return nil, ErrNoOrder
	case StatusShipped:
		return nil, ErrOrderShipped
	case StatusCancelled:
		return nil, ErrOrderCancelled
	}
	if strings.TrimSpace(c.Reason) == "" {
		return nil, ErrReason
	}
	return []OrderEvent{OrderCancelled{Reason: c.Reason, RefundCents: o.PaidCents}}, nil
}
