package aggregate_test

import (
	"errors"
	"fmt"

	"github.com/rewindhq/rewind/aggregate"
)

// A small order aggregate for the tests: a state, events that implement
// orderEvent, and deciders.

type order struct {
	Status string         `json:"status"`
	Items  map[string]int `json:"items"`
	Total  int            `json:"total"`
	Paid   bool           `json:"paid"`
}

type orderEvent interface{ isOrderEvent() }

type orderPlaced struct {
	Customer string `json:"customer"`
}

type itemAdded struct {
	SKU   string `json:"sku"`
	Qty   int    `json:"qty"`
	Price int    `json:"price"`
}

type orderPaid struct {
	Amount int `json:"amount"`
}

func (orderPlaced) isOrderEvent() {}
func (itemAdded) isOrderEvent()   {}
func (orderPaid) isOrderEvent()   {}

var (
	errNotPlaced   = errors.New("order not placed")
	errPlaced      = errors.New("order already placed")
	errPaid        = errors.New("order already paid")
	errBadQuantity = errors.New("quantity must be positive")
)

func defineOrders(opts ...aggregate.DefineOption) *aggregate.Definition[order, orderEvent] {
	d := aggregate.Define[order, orderEvent]("orders", order{Items: map[string]int{}}, opts...)
	aggregate.On(d, "OrderPlaced", func(s order, e orderPlaced) order {
		s.Status = "placed"
		return s
	})
	// Schema 2 added Price; schema 1 events carried "quantity" and no price.
	aggregate.On(d, "ItemAdded", func(s order, e itemAdded) order {
		if s.Items == nil {
			s.Items = map[string]int{}
		}
		s.Items[e.SKU] += e.Qty
		s.Total += e.Qty * e.Price
		return s
	}, aggregate.Schema(2), aggregate.Upcaster(1, upcastItemAdded))
	aggregate.On(d, "OrderPaid", func(s order, e orderPaid) order {
		s.Paid = true
		return s
	})
	return d
}

// upcastItemAdded turns {"sku","quantity"} into {"sku","qty","price":100}.
func upcastItemAdded(data []byte) ([]byte, error) {
	var old struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	}
	if err := (aggregate.JSON{}).Unmarshal(data, &old); err != nil {
		return nil, err
	}
	return (aggregate.JSON{}).Marshal(itemAdded{SKU: old.SKU, Qty: old.Quantity, Price: 100})
}

func place(customer string) func(order) ([]orderEvent, error) {
	return func(s order) ([]orderEvent, error) {
		if s.Status != "" {
			return nil, errPlaced
		}
		return []orderEvent{orderPlaced{Customer: customer}}, nil
	}
}

func addItem(sku string, qty, price int) func(order) ([]orderEvent, error) {
	return func(s order) ([]orderEvent, error) {
		switch {
		case s.Status == "":
			return nil, errNotPlaced
		case s.Paid:
			return nil, errPaid
		case qty <= 0:
			return nil, fmt.Errorf("%w: %d", errBadQuantity, qty)
		}
		return []orderEvent{itemAdded{SKU: sku, Qty: qty, Price: price}}, nil
	}
}

func pay(s order) ([]orderEvent, error) {
	switch {
	case s.Status == "":
		return nil, errNotPlaced
	case s.Paid:
		return nil, nil // already paid: nothing to do
	}
	return []orderEvent{orderPaid{Amount: s.Total}}, nil
}
