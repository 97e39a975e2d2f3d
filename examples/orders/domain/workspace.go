package domain

import (
	"fmt"

	"github.com/rewindhq/rewind/aggregate"
)

// Role is a member's role in a workspace.
type Role string

// The owner creates the workspace and cannot be removed; admins and members
// are added by id.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Workspace is the state of one workspace.
type Workspace struct {
	Name  string `json:"name"`
	Owner string `json:"owner"`
	// Members are the workspace's users by id, with their roles.
	Members map[string]Role `json:"members"`
}

// Exists reports whether the workspace was created.
func (w Workspace) Exists() bool { return w.Owner != "" }

// WorkspaceEvent is implemented by the events of a workspace.
type WorkspaceEvent interface{ isWorkspaceEvent() }

// WorkspaceCreated creates a workspace, owned by its creator.
type WorkspaceCreated struct {
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

// MemberAdded adds a user to a workspace.
type MemberAdded struct {
	User string `json:"user"`
	Role Role   `json:"role"`
}

// MemberRemoved takes a user out of a workspace.
type MemberRemoved struct {
	User string `json:"user"`
}

func (WorkspaceCreated) isWorkspaceEvent() {}
func (MemberAdded) isWorkspaceEvent()      {}
func (MemberRemoved) isWorkspaceEvent()    {}

// Workspaces returns the definition of the workspaces aggregate type
// (category "workspaces").
func Workspaces() *aggregate.Definition[Workspace, WorkspaceEvent] {
	d := aggregate.Define[Workspace, WorkspaceEvent]("workspaces", Workspace{Members: map[string]Role{}})
	aggregate.On(d, "WorkspaceCreated", func(w Workspace, e WorkspaceCreated) Workspace {
		w.Name, w.Owner = e.Name, e.Owner
		if w.Members == nil {
			w.Members = map[string]Role{}
		}
		w.Members[e.Owner] = RoleOwner
		return w
	})
	aggregate.On(d, "MemberAdded", func(w Workspace, e MemberAdded) Workspace {
		if w.Members == nil {
			w.Members = map[string]Role{}
		}
		w.Members[e.User] = e.Role
		return w
	})
	aggregate.On(d, "MemberRemoved", func(w Workspace, e MemberRemoved) Workspace {
		delete(w.Members, e.User)
		return w
	})
	return d
}

// CreateWorkspace creates a workspace owned by the user Owner.
type CreateWorkspace struct {
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

// AddMember adds the user User with Role (default member).
type AddMember struct {
	User string `json:"user"`
	Role Role   `json:"role,omitempty"` // member when empty
}

// RemoveMember takes the user User out of the workspace.
type RemoveMember struct {
	User string `json:"user"`
}

// Decide creates the workspace, once, owned by owner (whose state the
// command path loaded), who must be active.
func (c CreateWorkspace) Decide(owner User) func(Workspace) ([]WorkspaceEvent, error) {
	return func(w Workspace) ([]WorkspaceEvent, error) {
		if w.Exists() {
			return nil, ErrWorkspaceExists
		}
		name, err := checkName(c.Name)
		if err != nil {
			return nil, err
		}
		if err := activeUser(c.Owner, owner); err != nil {
			return nil, err
		}
		return []WorkspaceEvent{WorkspaceCreated{Name: name, Owner: c.Owner}}, nil
	}
}

// activeUser reports why the user id, in state u, cannot join or own a
// workspace, or nil.
func activeUser(id string, u User) error {
	if err := active(u); err != nil || id == "" {
		if err == nil {
			err = ErrNoUser
		}
		return fmt.Errorf("%w: %q", err, id)
	}
	return nil
}

// Decide adds user (loaded by the command path), who must be active and
// not a member yet.
func (c AddMember) Decide(user User) func(Workspace) ([]WorkspaceEvent, error) {
	return func(w Workspace) ([]WorkspaceEvent, error) {
		if !w.Exists() {
			return nil, ErrNoWorkspace
		}
		role := c.Role
		if role == "" {
			role = RoleMember
		}
		if role != RoleMember && role != RoleAdmin {
			return nil, fmt.Errorf("%w: role %q (member or admin)", ErrMember, c.Role)
		}
		if _, ok := w.Members[c.User]; ok {
			return nil, fmt.Errorf("%w: %q is a member already", ErrMember, c.User)
		}
		if err := activeUser(c.User, user); err != nil {
			return nil, err
		}
		return []WorkspaceEvent{MemberAdded{User: c.User, Role: role}}, nil
	}
}

// Decide removes a member other than the owner.
func (c RemoveMember) Decide(w Workspace) ([]WorkspaceEvent, error) {
	if !w.Exists() {
		return nil, ErrNoWorkspace
	}
	role, ok := w.Members[c.User]
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a member", ErrMember, c.User)
	}
	if role == RoleOwner {
		return nil, fmt.Errorf("%w: the owner %q cannot be removed", ErrMember, c.User)
	}
	return []WorkspaceEvent{MemberRemoved{User: c.User}}, nil
}
