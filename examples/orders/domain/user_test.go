package domain_test

import (
	"testing"

	"github.com/rewindhq/rewind/aggregate/aggregatetest"
	"github.com/rewindhq/rewind/examples/orders/domain"
)

func TestUsers(t *testing.T) {
	users := domain.Users()
	var registered domain.UserEvent = domain.UserRegistered{Name: "Ada Lovelace", Email: "ada@example.com"}
	var deactivated domain.UserEvent = domain.UserDeactivated{Reason: "left"}
	t.Run("register", func(t *testing.T) {
		aggregatetest.Given(users).When(domain.RegisterUser{Name: " Ada Lovelace ", Email: "Ada@Example.com"}.Decide).Then(t, registered)
	})
	t.Run("rename", func(t *testing.T) {
		aggregatetest.Given(users, registered).When(domain.RenameUser{Name: "Ada King"}.Decide).Then(t, domain.UserRenamed{Name: "Ada King"})
	})
	t.Run("deactivate", func(t *testing.T) {
		aggregatetest.Given(users, registered).When(domain.DeactivateUser{Reason: "left"}.Decide).
			ThenState(t, domain.User{Status: domain.UserInactive, Name: "Ada Lovelace", Email: "ada@example.com", DeactivatedBecause: "left"})
	})
	cases := []struct {
		name   string
		given  []domain.UserEvent
		decide func(domain.User) ([]domain.UserEvent, error)
		want   error
	}{
		{"register twice", []domain.UserEvent{registered}, domain.RegisterUser{Name: "Ada", Email: "a@b.c"}.Decide, domain.ErrUserExists},
		{"register without a name", nil, domain.RegisterUser{Name: "  ", Email: "a@b.c"}.Decide, domain.ErrName},
		{"register with a name too long", nil, domain.RegisterUser{Name: string(make([]byte, domain.MaxNameLen+1)), Email: "a@b.c"}.Decide, domain.ErrName},
		{"register without an email", nil, domain.RegisterUser{Name: "Ada"}.Decide, domain.ErrEmail},
		{"register with a bad email", nil, domain.RegisterUser{Name: "Ada", Email: "ada at home"}.Decide, domain.ErrEmail},
		{"rename nobody", nil, domain.RenameUser{Name: "X"}.Decide, domain.ErrNoUser},
		{"rename to the same name", []domain.UserEvent{registered}, domain.RenameUser{Name: "Ada Lovelace"}.Decide, domain.ErrName},
		{"rename to nothing", []domain.UserEvent{registered}, domain.RenameUser{Name: ""}.Decide, domain.ErrName},
		{"rename a deactivated user", []domain.UserEvent{registered, deactivated}, domain.RenameUser{Name: "X"}.Decide, domain.ErrUserInactive},
		{"deactivate twice", []domain.UserEvent{registered, deactivated}, domain.DeactivateUser{Reason: "x"}.Decide, domain.ErrUserInactive},
		{"deactivate nobody", nil, domain.DeactivateUser{Reason: "x"}.Decide, domain.ErrNoUser},
		{"deactivate without a reason", []domain.UserEvent{registered}, domain.DeactivateUser{}.Decide, domain.ErrReason},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aggregatetest.Given(users, c.given).When(c.decide).ThenError(t, c.want)
		})
	}
}
