package domain

import "github.com/rewindhq/rewind/aggregate"

// Limits of an order.
const (
	// MaxQuantity is the largest quantity of one line.
	MaxQuantity = 1000
	// MaxUnitPriceCents is the largest unit price, in cents ($100,000).
	MaxUnitPriceCents = 10_000_000
	// MaxLines is the most distinct SKUs one order holds.
	MaxLines = 50
	// MinDiscountPercent and MaxDiscountPercent bound a discount.
	MinDiscountPercent = 1
	MaxDiscountPercent = 50
)

// OrderStatus is where an order is in its life.
type OrderStatus string

// An order is open from its placement until it is paid; paid until it
// ships or is cancelled. Shipped and cancelled are final.
const (
	StatusNone      OrderStatus = ""
	StatusOpen      OrderStatus = "open"
	StatusPaid      OrderStatus = "paid"
	StatusShipped   OrderStatus = "shipped"
	StatusCancelled OrderStatus = "cancelled"
)

// Order is the state of one order.
type Order struct {
	Status    OrderStatus `json:"status"`
	Workspace string      `json:"workspace"`
	PlacedBy  string      `json:"placedBy"`
	// Items are the order's lines by SKU.
	Items           map[string]Line `json:"items"`
	DiscountCode    string          `json:"discountCode"`
	DiscountPercent int             `json:"discountPercent"`
	// SubtotalCents is the sum of the lines; DiscountCents the discount on
	// it, rounded down; TotalCents what the customer pays.
	SubtotalCents int64  `json:"subtotalCents"`
	DiscountCents int64  `json:"discountCents"`
	TotalCents    int64  `json:"totalCents"`
	PaidCents     int64  `json:"paidCents"`
	PaymentMethod string `json:"paymentMethod"`
	Carrier       string `json:"carrier"`
	Tracking      string `json:"tracking"`
	CancelReason  string `json:"cancelReason"`
	RefundedCents int64  `json:"refundedCents"`
}

// Line is one SKU of an order.
type Line struct {
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// OrderEvent is implemented by the events of an order.
type OrderEvent interface{ isOrderEvent() }

// OrderPlaced opens an order in a workspace, placed by one of its members.
type OrderPlaced struct {
	Workspace string `json:"workspace"`
	PlacedBy  string `json:"placedBy"`
}

// ItemAdded adds a quantity of a SKU at a unit price.
type ItemAdded struct {
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// ItemRemoved takes a quantity of a SKU off the order; the line goes when
// none is left.
type ItemRemoved struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// DiscountApplied takes a percentage off the subtotal.
type DiscountApplied struct {
	Code    string `json:"code"`
	Percent int    `json:"percent"`
}

// OrderPaid records a payment of the order's total.
type OrderPaid struct {
	AmountCents int64  `json:"amountCents"`
	Method      string `json:"method"`
}

// OrderShipped records that a paid order left the warehouse.
type OrderShipped struct {
	Carrier  string `json:"carrier"`
	Tracking string `json:"tracking"`
}

// OrderCancelled ends an order before it ships, refunding what was paid.
type OrderCancelled struct {
	Reason      string `json:"reason"`
	RefundCents int64  `json:"refundCents"`
}

func (OrderPlaced) isOrderEvent()     {}
func (ItemAdded) isOrderEvent()       {}
func (ItemRemoved) isOrderEvent()     {}
func (DiscountApplied) isOrderEvent() {}
func (OrderPaid) isOrderEvent()       {}
func (OrderShipped) isOrderEvent()    {}
func (OrderCancelled) isOrderEvent()  {}

// Orders returns the definition of the orders aggregate type (category
// "orders").
func Orders() *aggregate.Definition[Order, OrderEvent] {
	d := aggregate.Define[Order, OrderEvent]("orders", Order{Items: map[string]Line{}})
	aggregate.On(d, "OrderPlaced", func(o Order, e OrderPlaced) Order {
		o.Status, o.Workspace, o.PlacedBy = StatusOpen, e.Workspace, e.PlacedBy
		return o
	})
	aggregate.On(d, "ItemAdded", func(o Order, e ItemAdded) Order {
		if o.Items == nil {
			o.Items = map[string]Line{}
		}
		l := o.Items[e.SKU]
		l.Name, l.UnitPriceCents = e.Name, e.UnitPriceCents
		l.Quantity += e.Quantity
		o.Items[e.SKU] = l
		return o.priced()
	})
	aggregate.On(d, "ItemRemoved", func(o Order, e ItemRemoved) Order {
		l := o.Items[e.SKU]
		if l.Quantity -= e.Quantity; l.Quantity <= 0 {
			delete(o.Items, e.SKU)
		} else {
			o.Items[e.SKU] = l
		}
		return o.priced()
	})
	aggregate.On(d, "DiscountApplied", func(o Order, e DiscountApplied) Order {
		o.DiscountCode, o.DiscountPercent = e.Code, e.Percent
		return o.priced()
	})
	aggregate.On(d, "OrderPaid", func(o Order, e OrderPaid) Order {
		o.Status, o.PaidCents, o.PaymentMethod = StatusPaid, e.AmountCents, e.Method
		return o
	})
	aggregate.On(d, "OrderShipped", func(o Order, e OrderShipped) Order {
		o.Status, o.Carrier, o.Tracking = StatusShipped, e.Carrier, e.Tracking
		return o
	})
	aggregate.On(d, "OrderCancelled", func(o Order, e OrderCancelled) Order {
		o.Status, o.CancelReason, o.RefundedCents = StatusCancelled, e.Reason, e.RefundCents
		return o
	})
	return d
}

// priced returns o with its subtotal, discount and total recomputed from
// its lines.
func (o Order) priced() Order {
	o.SubtotalCents = 0
	for _, l := range o.Items {
		o.SubtotalCents += int64(l.Quantity) * l.UnitPriceCents
	}
	o.DiscountCents = DiscountCents(o.SubtotalCents, o.DiscountPercent)
	o.TotalCents = o.SubtotalCents - o.DiscountCents
	return o
}

// DiscountCents is the discount of percent on subtotal, rounded down to
// the cent. Read models compute it the same way.
func DiscountCents(subtotal int64, percent int) int64 {
	return subtotal * int64(percent) / 100
}
