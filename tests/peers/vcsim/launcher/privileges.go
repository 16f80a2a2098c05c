package main

// ---- privileges: answered from the permissions, as a real vCenter answers them ----
//
// govmomi 0.24.2's AuthorizationManager keeps permissions (SetEntityPermissions,
// RetrieveEntityPermissions work) but HasPrivilegeOnEntities, HasUserPrivilegeOnEntities and
// FetchUserPrivilegeOnEntities grant everything to anyone (README "Made faithful"). When the
// launcher has a -username, the hooks below answer them from the permissions instead: on each
// entity, the user's own permission on it, else the nearest propagating one on an ancestor,
// decides; its role's privileges are granted, nothing else. At start that user gets the Admin
// role on the root folder, as vCenter's administrator has. Group permissions are not expanded
// (the simulator has no group membership). HasPrivilegeOnEntity keeps the grant-all: its answer
// is a list of booleans, and govmomi's encoder drops every false one (omitempty).

import (
	"sort"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// privilegeHooks are the calls of this file that hooked() sends to a hook, by managed object type.
var privilegeHooks = map[string]string{
	"HasPrivilegeOnEntities":       "AuthorizationManager",
	"HasUserPrivilegeOnEntities":   "AuthorizationManager",
	"FetchUserPrivilegeOnEntities": "AuthorizationManager",
}

// loginUser is the -username the permissions are kept for; "" leaves the simulator's grant-all.
var loginUser string

func authManager() *simulator.AuthorizationManager {
	si := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	return simulator.Map.Get(*si.Content.AuthorizationManager).(*simulator.AuthorizationManager)
}

// grantAdminAtRoot gives user the Admin role on the root folder, propagating, beside the
// simulator's default permissions. Runs before the server starts.
func grantAdminAtRoot(user string) {
	loginUser = user
	if user == "" {
		return
	}
	am := authManager()
	root := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance).Content.RootFolder
	perms := ownPermissions(am, root)
	perms = append(perms, types.Permission{
		Entity: &root, Principal: user, Group: false, RoleId: roleID(am, "Admin"), Propagate: true,
	})
	am.SetEntityPermissions(&types.SetEntityPermissions{Entity: root, Permission: perms})
}

func roleID(am *simulator.AuthorizationManager, name string) int32 {
	for _, role := range am.RoleList {
		if role.Name == name {
			return role.RoleId
		}
	}
	return 0
}

// ownPermissions are the permissions set on ref itself (not inherited).
func ownPermissions(am *simulator.AuthorizationManager, ref types.ManagedObjectReference) []types.Permission {
	res := am.RetrieveEntityPermissions(&types.RetrieveEntityPermissions{Entity: ref, Inherited: false})
	return res.(*methods.RetrieveEntityPermissionsBody).Res.Returnval
}

// privilegesOf is the set of privileges user holds on ref; false when ref is no entity.
func privilegesOf(ref types.ManagedObjectReference, user string) (map[string]bool, bool) {
	am := authManager()
	held := map[string]bool{}
	if _, ok := simulator.Map.Get(ref).(mo.Entity); !ok {
		return held, false
	}
	simulator.Map.WithLock(am, func() {
		own := true
		for {
			for _, p := range ownPermissions(am, ref) {
				if !p.Group && strings.EqualFold(p.Principal, user) && (own || p.Propagate) {
					for _, role := range am.RoleList {
						if role.RoleId == p.RoleId {
							for _, id := range role.Privilege {
								held[id] = true
							}
						}
					}
					return
				}
			}
			e, ok := simulator.Map.Get(ref).(mo.Entity)
			if !ok || e.Entity().Parent == nil {
				return
			}
			ref, own = *e.Entity().Parent, false
		}
	})
	return held, true
}

// sessionUser is the user of sessionID, which must be the caller's own session: the launcher
// does not look into other sessions (a real vCenter would, given Sessions.ValidateSession).
func sessionUser(ctx *simulator.Context, sessionID string) (string, *soap.Fault) {
	if ctx.Session == nil || sessionID != ctx.Session.Key {
		return "", simulator.Fault("", &types.InvalidArgument{InvalidProperty: "sessionId"})
	}
	return ctx.Session.UserName, nil
}

// availability answers each of ids for user on each entity, as HasPrivilegeOnEntities does.
func availability(entities []types.ManagedObjectReference, ids []string, user string) ([]types.EntityPrivilege, *soap.Fault) {
	var out []types.EntityPrivilege
	for _, e := range entities {
		held, ok := privilegesOf(e, user)
		if !ok {
			return nil, notFoundFault(e)
		}
		p := types.EntityPrivilege{Entity: e}
		for _, id := range ids {
			p.PrivAvailability = append(p.PrivAvailability, types.PrivilegeAvailability{PrivId: id, IsGranted: held[id]})
		}
		out = append(out, p)
	}
	return out, nil
}

// The hooks below are reached only with a -username (hooked); a body with a fault answers the fault.

func (h *hook) HasPrivilegeOnEntities(ctx *simulator.Context, req *types.HasPrivilegeOnEntities) soap.HasFault {
	user, fault := sessionUser(ctx, req.SessionId)
	var res []types.EntityPrivilege
	if fault == nil {
		res, fault = availability(req.Entity, req.PrivId, user)
	}
	return &methods.HasPrivilegeOnEntitiesBody{Res: &types.HasPrivilegeOnEntitiesResponse{Returnval: res}, Fault_: fault}
}

func (h *hook) HasUserPrivilegeOnEntities(ctx *simulator.Context, req *types.HasUserPrivilegeOnEntities) soap.HasFault {
	res, fault := availability(req.Entities, req.PrivId, req.UserName)
	return &methods.HasUserPrivilegeOnEntitiesBody{Res: &types.HasUserPrivilegeOnEntitiesResponse{Returnval: res}, Fault_: fault}
}

func (h *hook) FetchUserPrivilegeOnEntities(ctx *simulator.Context, req *types.FetchUserPrivilegeOnEntities) soap.HasFault {
	body := &methods.FetchUserPrivilegeOnEntitiesBody{}
	var out []types.UserPrivilegeResult
	for _, e := range req.Entities {
		held, ok := privilegesOf(e, req.UserName)
		if !ok {
			body.Fault_ = notFoundFault(e)
			return body
		}
		r := types.UserPrivilegeResult{Entity: e}
		for id := range held {
			r.Privileges = append(r.Privileges, id)
		}
		sort.Strings(r.Privileges)
		out = append(out, r)
	}
	body.Res = &types.FetchUserPrivilegeOnEntitiesResponse{Returnval: out}
	return body
}
