package domain

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/rewindhq/rewind/aggregate"
)

// MaxNameLen is the longest name of a user or workspace, in characters.
const MaxNameLen = 100

// UserStatus is whether a user may act.
type UserStatus string

// A user is active from registration until deactivated, which is final.
const (
	UserNone     UserStatus = ""
	UserActive   UserStatus = "active"
	UserInactive UserStatus = "deactivated"
)

// User is the state of one user.
type User struct {
	Status UserStatus `json:"status"`
	Name   string     `json:"name"`
	Email  string     `json:"email"`
	// DeactivatedBecause is the reason given on deactivation.
	DeactivatedBecause string `json:"deactivatedBecause"`
}

// Exists reports whether the user was registered.
func (u User) Exists() bool { return u.Status != UserNone }

// UserEvent is implemented by the events of a user.
type UserEvent interface{ isUserEvent() }

// UserRegistered creates a user.
type UserRegistered struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// UserRenamed changes a user's name.
type UserRenamed struct {
	Name string `json:"name"`
}

// UserDeactivated ends a user's right to act.
type UserDeactivated struct {
	Reason string `json:"reason"`
}

func (UserRegistered) isUserEvent()  {}
func (UserRenamed) isUserEvent()     {}
func (UserDeactivated) isUserEvent() {}

// Users returns the definition of the users aggregate type (category
// "users").
func Users() *aggregate.Definition[User, UserEvent] {
	d := aggregate.Define[User, UserEvent]("users", User{})
	aggregate.On(d, "UserRegistered", func(u User, e UserRegistered) User {
		u.Status, u.Name, u.Email = UserActive, e.Name, e.Email
		return u
	})
	aggregate.On(d, "UserRenamed", func(u User, e UserRenamed) User {
		u.Name = e.Name
		return u
	})
	aggregate.On(d, "UserDeactivated", func(u User, e UserDeactivated) User {
		u.Status, u.DeactivatedBecause = UserInactive, e.Reason
		return u
	})
	return d
}

// RegisterUser registers a new user.
type RegisterUser struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// RenameUser renames an active user.
type RenameUser struct {
	Name string `json:"name"`
}

// DeactivateUser deactivates an active user.
type DeactivateUser struct {
	Reason string `json:"reason"`
}

// checkName returns the trimmed name, or an error wrapping ErrName.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen {
		return "", fmt.Errorf("%w: a name is 1 to %d characters", ErrName, MaxNameLen)
	}
	return name, nil
}

// Decide registers the user, once.
func (c RegisterUser) Decide(u User) ([]UserEvent, error) {
	if u.Exists() {
		return nil, ErrUserExists
	}
	name, err := checkName(c.Name)
	if err != nil {
		return nil, err
	}
	addr, err := mail.ParseAddress(c.Email)
	if err != nil || addr.Name != "" || !strings.Contains(addr.Address, "@") {
		return nil, fmt.Errorf("%w: %q", ErrEmail, c.Email)
	}
	return []UserEvent{UserRegistered{Name: name, Email: strings.ToLower(addr.Address)}}, nil
}

// active reports why u cannot act, or nil.
func active(u User) error {
	switch u.Status {
	case UserNone:
		return ErrNoUser
	case UserInactive:
		return ErrUserInactive
	}
	return nil
}

// Decide renames an active user to a new name.
func (c RenameUser) Decide(u User) ([]UserEvent, error) {
	if err := active(u); err != nil {
		return nil, err
	}
	name, err := checkName(c.Name)
	if err != nil {
		return nil, err
	}
	if name == u.Name {
		return nil, fmt.Errorf("%w: the user is named %q already", ErrName, name)
	}
	return []UserEvent{UserRenamed{Name: name}}, nil
}

// Decide deactivates an active user.
func (c DeactivateUser) Decide(u User) ([]UserEvent, error) {
	if err := active(u); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Reason) == "" {
		return nil, ErrReason
	}
	return []UserEvent{UserDeactivated{Reason: c.Reason}}, nil
}
