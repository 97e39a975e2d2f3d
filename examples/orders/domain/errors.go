package domain

import "errors"

// Errors of the orders aggregate. Deciders wrap them with the facts
// (fmt.Errorf("%w: ...")), so errors.Is matches and the message reads as a
// reason.
var (
	// ErrOrderExists: a PlaceOrder on an order that was placed already.
	ErrOrderExists = errors.New("the order was placed already")
	// ErrNoOrder: a command on an order that was never placed.
	ErrNoOrder = errors.New("no such order")
	// ErrOrderPaid: items or the discount changed after payment, or a
	// second payment.
	ErrOrderPaid = errors.New("the order is paid; its contents are final")
	// ErrOrderShipped: any change to an order that has shipped.
	ErrOrderShipped = errors.New("the order has shipped")
	// ErrOrderCancelled: any change to a cancelled order.
	ErrOrderCancelled = errors.New("the order is cancelled")
	// ErrNotPaid: shipping an order that is not paid.
	ErrNotPaid = errors.New("the order is not paid")
	// ErrEmptyOrder: paying for, or discounting, an order with no items.
	ErrEmptyOrder = errors.New("the order has no items")
	// ErrQuantity: a quantity that is not between 1 and MaxQuantity, or a
	// removal of more than the line holds.
	ErrQuantity = errors.New("invalid quantity")
	// ErrPrice: a unit price that is not between 1 and MaxUnitPriceCents
	// cents, or that differs from the price of the same SKU on the order.
	ErrPrice = errors.New("invalid price")
	// ErrSKU: an empty or unknown SKU, or one line too many.
	ErrSKU = errors.New("invalid item")
	// ErrDiscount: a discount outside MinDiscountPercent..MaxDiscountPercent,
	// without a code, or a second one.
	ErrDiscount = errors.New("invalid discount")
	// ErrPayment: a payment whose amount is not the order's total, or
	// without a method.
	ErrPayment = errors.New("invalid payment")
	// ErrShipment: a shipment without a carrier or tracking number.
	ErrShipment = errors.New("invalid shipment")
	// ErrReason: a cancellation without a reason.
	ErrReason = errors.New("a reason is required")
)

// Errors of the users and workspaces aggregates, and of the rules across
// them.
var (
	// ErrUserExists: registering a user id twice.
	ErrUserExists = errors.New("the user is registered already")
	// ErrNoUser: a command on, or naming, a user never registered.
	ErrNoUser = errors.New("no such user")
	// ErrUserInactive: a command on, or naming, a deactivated user.
	ErrUserInactive = errors.New("the user is deactivated")
	// ErrName: an empty, too long or unchanged name.
	ErrName = errors.New("invalid name")
	// ErrEmail: an email address that is not one.
	ErrEmail = errors.New("invalid email")
	// ErrWorkspaceExists: creating a workspace id twice.
	ErrWorkspaceExists = errors.New("the workspace exists already")
	// ErrNoWorkspace: a command on, or naming, a workspace never created.
	ErrNoWorkspace = errors.New("no such workspace")
	// ErrMember: adding a member twice, removing one who is not, removing
	// the owner, or an unknown role.
	ErrMember = errors.New("invalid member")
	// ErrNotMember: placing an order in a workspace one is not a member of.
	ErrNotMember = errors.New("not a member of the workspace")
)
