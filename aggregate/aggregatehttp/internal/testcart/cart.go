// Package testcart is the aggregate that package aggregatehttp's tests
// serve: a small shopping cart with invariants, whose state has nested
// objects, a map, a slice and a pointer, so that the changes the endpoints
// report are checked on every shape a state can take. It is a package of
// its own (not a _test.go file) so that the test file the export endpoint
// writes can be compiled against it.
package testcart

import (
	"errors"
	"time"

	"github.com/rewindhq/rewind/aggregate"
)

// Cart is the state.
type Cart struct {
	Customer  string          `json:"customer,omitempty"`
	Items     map[string]Item `json:"items,omitempty"`
	Tags      []string        `json:"tags,omitempty"`
	Address   *Address        `json:"address,omitempty"`
	Status    Status          `json:"status,omitempty"`
	CheckedAt time.Time       `json:"checkedAt,omitzero"`
}

// Item is one line of the cart.
type Item struct {
	Quantity int   `json:"quantity"`
	Price    int64 `json:"price"`
}

// Address is where the cart goes.
type Address struct {
	City string `json:"city"`
	Zip  string `json:"zip,omitempty"`
}

// Status is the cart's stage.
type Status string

// The stages.
const (
	StatusOpen       Status = "open"
	StatusCheckedOut Status = "checked-out"
)

// Event is what the cart's events implement.
type Event interface{ isCartEvent() }

// Opened opens the cart for a customer.
type Opened struct {
	Customer string `json:"customer"`
}

// ItemAdded adds quantity of a SKU (or more of it).
type ItemAdded struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Price    int64  `json:"price"`
}

// ItemRemoved removes a SKU.
type ItemRemoved struct {
	SKU string `json:"sku"`
}

// Tagged adds tags.
type Tagged struct {
	Tags []string `json:"tags"`
}

// AddressSet sets the address (nil Zip: none).
type AddressSet struct {
	City string  `json:"city"`
	Zip  *string `json:"zip,omitempty"`
}

// CheckedOut closes the cart.
type CheckedOut struct {
	At     time.Time      `json:"at"`
	Ratio  float64        `json:"ratio,omitempty"`
	Extras map[string]any `json:"extras,omitempty"`
}

func (Opened) isCartEvent()      {}
func (ItemAdded) isCartEvent()   {}
func (ItemRemoved) isCartEvent() {}
func (Tagged) isCartEvent()      {}
func (AddressSet) isCartEvent()  {}
func (CheckedOut) isCartEvent()  {}

// The invariants.
var (
	ErrNotOpen     = errors.New("the cart is not open")
	ErrOpen        = errors.New("the cart is open already")
	ErrQuantity    = errors.New("the quantity must be positive")
	ErrEmpty       = errors.New("an empty cart cannot be checked out")
	ErrNoSuchItem  = errors.New("no such item in the cart")
	ErrNoCustomer  = errors.New("a cart needs a customer")
	ErrCheckedOut  = errors.New("the cart is checked out")
	ErrAddressCity = errors.New("an address needs a city")
)

// Definition defines the cart aggregate in category "carts".
func Definition() *aggregate.Definition[Cart, Event] {
	d := aggregate.Define[Cart, Event]("carts", Cart{})
	aggregate.On(d, "Opened", func(c Cart, e Opened) Cart {
		c.Customer, c.Status = e.Customer, StatusOpen
		return c
	})
	aggregate.On(d, "ItemAdded", func(c Cart, e ItemAdded) Cart {
		if c.Items == nil {
			c.Items = map[string]Item{}
		}
		it := c.Items[e.SKU]
		it.Quantity += e.Quantity
		it.Price = e.Price
		c.Items[e.SKU] = it
		return c
	})
	aggregate.On(d, "ItemRemoved", func(c Cart, e ItemRemoved) Cart {
		delete(c.Items, e.SKU)
		return c
	})
	aggregate.On(d, "Tagged", func(c Cart, e Tagged) Cart {
		c.Tags = append(c.Tags, e.Tags...)
		return c
	})
	aggregate.On(d, "AddressSet", func(c Cart, e AddressSet) Cart {
		a := &Address{City: e.City}
		if e.Zip != nil {
			a.Zip = *e.Zip
		}
		c.Address = a
		return c
	})
	aggregate.On(d, "CheckedOut", func(c Cart, e CheckedOut) Cart {
		c.Status, c.CheckedAt = StatusCheckedOut, e.At
		return c
	})
	return d
}

// Open is the command that opens a cart.
type Open struct {
	Customer string `json:"customer"`
}

// Decide opens the cart.
func (o Open) Decide(c Cart) ([]Event, error) {
	switch {
	case o.Customer == "":
		return nil, ErrNoCustomer
	case c.Status != "":
		return nil, ErrOpen
	}
	return []Event{Opened{Customer: o.Customer}}, nil
}

// AddItem adds an item.
type AddItem struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Price    int64  `json:"price"`
}

// Validate checks the fields that need no state: a positive quantity.
func (a AddItem) Validate() error {
	if a.Quantity <= 0 {
		return ErrQuantity
	}
	return nil
}

// Decide adds the item.
func (a AddItem) Decide(c Cart) ([]Event, error) {
	if err := open(c); err != nil {
		return nil, err
	}
	if a.Quantity <= 0 {
		return nil, ErrQuantity
	}
	return []Event{ItemAdded(a)}, nil
}

// RemoveItem removes an item.
type RemoveItem struct {
	SKU string `json:"sku"`
}

// Decide removes the item.
func (r RemoveItem) Decide(c Cart) ([]Event, error) {
	if err := open(c); err != nil {
		return nil, err
	}
	if _, ok := c.Items[r.SKU]; !ok {
		return nil, ErrNoSuchItem
	}
	return []Event{ItemRemoved(r)}, nil
}

// Tag adds tags; tags the cart has already are not added again (a tag
// command with nothing new decides nothing).
type Tag struct {
	Tags []string `json:"tags"`
}

// Decide tags the cart.
func (t Tag) Decide(c Cart) ([]Event, error) {
	if err := open(c); err != nil {
		return nil, err
	}
	var fresh []string
	for _, tag := range t.Tags {
		if !contains(c.Tags, tag) && !contains(fresh, tag) {
			fresh = append(fresh, tag)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	return []Event{Tagged{Tags: fresh}}, nil
}

// SetAddress sets the address.
type SetAddress struct {
	City string  `json:"city"`
	Zip  *string `json:"zip,omitempty"`
}

// Decide sets the address.
func (s SetAddress) Decide(c Cart) ([]Event, error) {
	if err := open(c); err != nil {
		return nil, err
	}
	if s.City == "" {
		return nil, ErrAddressCity
	}
	return []Event{AddressSet(s)}, nil
}

// CheckOut checks the cart out at a time.
type CheckOut struct {
	At     time.Time      `json:"at,omitzero"`
	Ratio  float64        `json:"ratio,omitempty"`
	Extras map[string]any `json:"extras,omitempty"`
}

// Decide checks out.
func (o CheckOut) Decide(c Cart) ([]Event, error) {
	if err := open(c); err != nil {
		return nil, err
	}
	if len(c.Items) == 0 {
		return nil, ErrEmpty
	}
	return []Event{CheckedOut(o)}, nil
}

func open(c Cart) error {
	switch c.Status {
	case "":
		return ErrNotOpen
	case StatusCheckedOut:
		return ErrCheckedOut
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
