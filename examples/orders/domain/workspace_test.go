package domain_test

import (
	"testing"

	"github.com/rewindhq/rewind/aggregate/aggregatetest"
	"github.com/rewindhq/rewind/examples/orders/domain"
)

func TestWorkspaces(t *testing.T) {
	workspaces := domain.Workspaces()
	var created domain.WorkspaceEvent = domain.WorkspaceCreated{Name: "Acme", Owner: "ada"}
	var bob domain.WorkspaceEvent = domain.MemberAdded{User: "bob", Role: domain.RoleMember}
	t.Run("create", func(t *testing.T) {
		aggregatetest.Given(workspaces).When(domain.CreateWorkspace{Name: "Acme", Owner: "ada"}.Decide(ada)).
			ThenState(t, domain.Workspace{Name: "Acme", Owner: "ada", Members: map[string]domain.Role{"ada": domain.RoleOwner}})
	})
	t.Run("add a member", func(t *testing.T) {
		aggregatetest.Given(workspaces, created).When(domain.AddMember{User: "bob"}.Decide(ada)).Then(t, bob)
	})
	t.Run("add an admin", func(t *testing.T) {
		aggregatetest.Given(workspaces, created).When(domain.AddMember{User: "bob", Role: domain.RoleAdmin}.Decide(ada)).
			Then(t, domain.MemberAdded{User: "bob", Role: domain.RoleAdmin})
	})
	t.Run("remove a member", func(t *testing.T) {
		aggregatetest.Given(workspaces, created, bob).When(domain.RemoveMember{User: "bob"}.Decide).Then(t, domain.MemberRemoved{User: "bob"})
	})
	cases := []struct {
		name   string
		given  []domain.WorkspaceEvent
		decide func(domain.Workspace) ([]domain.WorkspaceEvent, error)
		want   error
	}{
		{"create twice", []domain.WorkspaceEvent{created}, domain.CreateWorkspace{Name: "Acme", Owner: "ada"}.Decide(ada), domain.ErrWorkspaceExists},
		{"create without a name", nil, domain.CreateWorkspace{Owner: "ada"}.Decide(ada), domain.ErrName},
		{"create for no user", nil, domain.CreateWorkspace{Name: "Acme", Owner: "zed"}.Decide(nobody), domain.ErrNoUser},
		{"create without an owner", nil, domain.CreateWorkspace{Name: "Acme"}.Decide(ada), domain.ErrNoUser},
		{"create for a deactivated user", nil, domain.CreateWorkspace{Name: "Acme", Owner: "carl"}.Decide(gone), domain.ErrUserInactive},
		{"add to no workspace", nil, domain.AddMember{User: "bob"}.Decide(ada), domain.ErrNoWorkspace},
		{"add a member twice", []domain.WorkspaceEvent{created, bob}, domain.AddMember{User: "bob"}.Decide(ada), domain.ErrMember},
		{"add the owner", []domain.WorkspaceEvent{created}, domain.AddMember{User: "ada"}.Decide(ada), domain.ErrMember},
		{"add with an unknown role", []domain.WorkspaceEvent{created}, domain.AddMember{User: "bob", Role: "king"}.Decide(ada), domain.ErrMember},
		{"add a second owner", []domain.WorkspaceEvent{created}, domain.AddMember{User: "bob", Role: domain.RoleOwner}.Decide(ada), domain.ErrMember},
		{"add no user", []domain.WorkspaceEvent{created}, domain.AddMember{User: "zed"}.Decide(nobody), domain.ErrNoUser},
		{"add a deactivated user", []domain.WorkspaceEvent{created}, domain.AddMember{User: "carl"}.Decide(gone), domain.ErrUserInactive},
		{"remove a non-member", []domain.WorkspaceEvent{created}, domain.RemoveMember{User: "bob"}.Decide, domain.ErrMember},
		{"remove the owner", []domain.WorkspaceEvent{created, bob}, domain.RemoveMember{User: "ada"}.Decide, domain.ErrMember},
		{"remove from no workspace", nil, domain.RemoveMember{User: "bob"}.Decide, domain.ErrNoWorkspace},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aggregatetest.Given(workspaces, c.given).When(c.decide).ThenError(t, c.want)
		})
	}
}
