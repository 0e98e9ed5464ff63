#include "commands/decider.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "base/crypto.h"
#include "policy/policy.h"

namespace roster::commands {
namespace {

using events::AccessMap;
using events::Bytes;
using events::Event;
using events::Scope;

constexpr std::string_view kTeamManage = "team.manage";
constexpr size_t kIdHexDigits = 20;      // invitation and partner ids: 80 random bits
constexpr size_t kMaxListItems = 1000;   // scope dimensions, sets, containers
constexpr size_t kMaxPermissions = 256;  // patterns of one role

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, 80));
  out += '"';
  return out;
}

Status Fail(ErrorCode code, std::string message) { return Error(code, std::move(message)); }

bool IsServiceLike(const Actor& a) { return !a.is_user(); }

// ---- field validation ----

// A short free-text value: non-empty, at most `max` bytes, no control characters.
Status ValidateText(std::string_view value, std::string_view field, size_t max) {
  if (value.empty()) return Fail(ErrorCode::kInvalidField, std::string(field) + ": required");
  if (value.size() > max) {
    return Fail(ErrorCode::kInvalidField,
                std::string(field) + ": longer than " + std::to_string(max) + " bytes");
  }
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      return Fail(ErrorCode::kInvalidField,
                  std::string(field) + ": control characters are not allowed");
    }
  }
  return Status::Ok();
}

Status ValidateList(const std::vector<std::string>& list, std::string_view field) {
  if (list.size() > kMaxListItems) {
    return Fail(ErrorCode::kInvalidField, std::string(field) + ": more than " +
                                              std::to_string(kMaxListItems) + " items");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    ROSTER_RETURN_IF_ERROR(
        ValidateText(list[i], std::string(field) + "[" + std::to_string(i) + "]", 128));
  }
  return Status::Ok();
}

Status ValidateScope(const Scope& scope, std::string_view field) {
  ROSTER_RETURN_IF_ERROR(ValidateList(scope.markets, std::string(field) + ".markets"));
  ROSTER_RETURN_IF_ERROR(ValidateList(scope.sets, std::string(field) + ".sets"));
  return ValidateList(scope.groups, std::string(field) + ".groups");
}

// Order-preserving de-duplication (sets, containers, scope values).
std::vector<std::string> Dedup(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& s : in) {
    if (seen.insert(s).second) out.push_back(s);
  }
  return out;
}

Scope DedupScope(const Scope& s) { return Scope{Dedup(s.markets), Dedup(s.sets), Dedup(s.groups)}; }

bool ValidRoleName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// ---- lookups with field-naming not_found ----

Result<const Workspace*> GetWorkspace(const AccountState& s, std::string_view id) {
  const Workspace* ws = s.FindWorkspace(id);
  if (ws == nullptr) {
    return Fail(ErrorCode::kNotFound, "workspace_id: no workspace " + std::string(id));
  }
  return ws;
}

Status RequireAccount(const AccountState& s, std::string_view account_id) {
  if (s.exists) return Status::Ok();
  return Fail(ErrorCode::kNotFound, "account_id: no account " + std::string(account_id));
}

const policy::Template& TemplateOf(const Workspace& ws) {
  const policy::Template* t = policy::FindTemplate(ws.template_name);
  // Only the decider writes WorkspaceCreated, and it validates the template.
  return t != nullptr ? *t : policy::Templates().front();
}

// ---- authorization (rule 1) ----

Status RequireWorkspaceManager(const AccountState& s, const Workspace& ws, const Actor& a) {
  if (IsServiceLike(a)) return Status::Ok();
  if (HoldsInWorkspace(s, ws, a.user_id, kTeamManage)) return Status::Ok();
  return Fail(ErrorCode::kForbidden, "actor: user " + a.user_id +
                                         " does not hold team.manage in workspace " +
                                         ws.workspace_id);
}

Status RequireAccountManager(const AccountState& s, const Actor& a) {
  if (IsServiceLike(a)) return Status::Ok();
  if (HoldsAtAccountLevel(s, a.user_id, kTeamManage)) return Status::Ok();
  return Fail(ErrorCode::kForbidden, "actor: user " + a.user_id +
                                         " does not hold team.manage in account " + s.account_id);
}

Status RequireService(const Actor& a, std::string_view what) {
  if (IsServiceLike(a)) return Status::Ok();
  return Fail(ErrorCode::kForbidden, "actor: only the service may " + std::string(what));
}

Status RequireUser(const Actor& a, std::string_view what) {
  if (a.is_user() && !a.user_id.empty()) return Status::Ok();
  return Fail(ErrorCode::kForbidden,
              "actor: " + std::string(what) + " needs a user actor (Roster-Actor)");
}

// ---- rule 10 helpers ----

bool MemberManages(const Workspace& ws, const std::string& role, const AccessMap& access) {
  policy::Grant g{WorkspaceRolePatterns(ws, role), &access, nullptr};
  return policy::GrantAllowsPermission(g, kTeamManage);
}

// Workspace-level members (invite/link sources, not account members) holding team.manage.
size_t CountWorkspaceManagers(const Workspace& ws) {
  size_t n = 0;
  for (const auto& [uid, m] : ws.members) {
    if (MemberManages(ws, m.role, m.access)) ++n;
  }
  return n;
}

bool AccountRoleManages(const std::string& role) {
  const policy::Patterns* p = policy::AccountRole(role);
  return p != nullptr && policy::PatternsAllow(*p, kTeamManage);
}

// A workspace keeps at least one workspace-level member with team.manage once it has one.
// `message` names the field and says why (rule 16).
Status CheckWorkspaceKeepsManager(const Workspace& before, const Workspace& after,
                                  std::string message) {
  if (CountWorkspaceManagers(before) > 0 && CountWorkspaceManagers(after) == 0) {
    return Fail(ErrorCode::kLastAdmin, std::move(message));
  }
  return Status::Ok();
}

std::string LastManagerMessage(const Workspace& ws, const std::string& user_id) {
  return "user_id: " + user_id + " is the last member holding team.manage in workspace " +
         ws.workspace_id;
}

// Rule 10 for one member whose grant changes (or who leaves: manages_after = false),
// without copying the workspace.
Status CheckMemberKeepsManager(const Workspace& ws, const std::string& user_id,
                               bool manages_before, bool manages_after) {
  if (!manages_before || manages_after) return Status::Ok();
  for (const auto& [uid, m] : ws.members) {
    if (uid != user_id && MemberManages(ws, m.role, m.access)) return Status::Ok();
  }
  return Fail(ErrorCode::kLastAdmin, LastManagerMessage(ws, user_id));
}

// ---- access helpers ----

bool HasAccess(const AccountState& s, const Workspace& ws, std::string_view user_id,
               const Bytes& email_key) {
  if (!user_id.empty()) {
    if (s.FindAccountMember(user_id) != nullptr) return true;
    if (ws.members.count(std::string(user_id)) > 0) return true;
  }
  if (!email_key.data.empty()) {
    if (s.members_by_email.count(email_key.data) > 0) return true;
    if (ws.members_by_email.count(email_key.data) > 0) return true;
  }
  return false;
}

std::string ExistingRole(const AccountState& s, const Workspace& ws, const std::string& user_id) {
  if (const AccountMember* am = s.FindAccountMember(user_id)) return am->role;
  auto it = ws.members.find(user_id);
  return it == ws.members.end() ? std::string() : it->second.role;
}

Micros ExpiryFor(const Workspace& ws, Micros now) {
  return now + ws.invite_ttl_seconds * kMicrosPerSecond;
}

std::string FormatTime(Micros t) { return FormatRfc3339(t); }

// ================================ deciders ================================

class Decider {
 public:
  Decider(const AccountState& s, const DecideContext& ctx) : s_(s), ctx_(ctx), a_(*ctx.actor) {}

  // ---- accounts ----
  Result<Decision> operator()(const OpenAccount& c) {
    ROSTER_RETURN_IF_ERROR(RequireService(a_, "open an account"));
    ROSTER_RETURN_IF_ERROR(ValidateId(c.account_id, "account_id"));
    ROSTER_RETURN_IF_ERROR(ValidateText(c.name, "name", 200));
    if (c.plan != "standard" && c.plan != "agency" && c.plan != "partner" &&
        c.plan != "enterprise") {
      return Fail(ErrorCode::kInvalidField,
                  "plan: " + Quoted(c.plan) + " is not one of standard, agency, partner, enterprise");
    }
    if (c.region != "global" && c.region != "eu") {
      return Fail(ErrorCode::kInvalidField,
                  "region: " + Quoted(c.region) + " is not one of global, eu");
    }
    ROSTER_RETURN_IF_ERROR(ValidateText(c.owner_user_id, "owner.user_id", 128));
    ROSTER_RETURN_IF_ERROR(ValidateEmail(c.owner_email, "owner.email"));
    if (s_.exists || s_.version > 0) {
      return Fail(ErrorCode::kAlreadyExists,
                  "account_id: account " + c.account_id + " already exists");
    }
    Decision d;
    d.events.push_back(events::AccountOpened{c.account_id, c.name, c.plan, c.region,
                                             c.owner_user_id, ctx_.email_key, ctx_.subject});
    d.out.account_id = c.account_id;
    return d;
  }

  Result<Decision> operator()(const AddAccountMember& c) {
    ROSTER_RETURN_IF_ERROR(RequireAccount(s_, c.account_id));
    ROSTER_RETURN_IF_ERROR(RequireAccountManager(s_, a_));
    ROSTER_RETURN_IF_ERROR(ValidateText(c.user_id, "user_id", 128));
    ROSTER_RETURN_IF_ERROR(ValidateEmail(c.email, "email"));
    ROSTER_RETURN_IF_ERROR(CheckAccountRole(c.role));
    if (s_.FindAccountMember(c.user_id) != nullptr) {
      return Fail(ErrorCode::kAlreadyMember,
                  "user_id: " + c.user_id + " is already a member of account " + s_.account_id);
    }
    if (s_.members_by_email.count(ctx_.email_key.data) > 0) {
      return Fail(ErrorCode::kAlreadyMember,
                  "email: this address already belongs to a member of account " + s_.account_id);
    }
    Decision d;
    d.events.push_back(
        events::AccountMemberAdded{c.user_id, ctx_.email_key, ctx_.subject, c.role});
    d.out.account_id = s_.account_id;
    d.out.role = c.role;
    return d;
  }

  Result<Decision> operator()(const ChangeAccountMember& c) {
    ROSTER_RETURN_IF_ERROR(RequireAccount(s_, c.account_id));
    ROSTER_RETURN_IF_ERROR(RequireAccountManager(s_, a_));
    if (a_.is_user() && a_.user_id == c.user_id) {
      return Fail(ErrorCode::kCannotModifySelf, "user_id: you cannot change your own role");
    }
    const AccountMember* m = s_.FindAccountMember(c.user_id);
    if (m == nullptr) {
      return Fail(ErrorCode::kNotFound,
                  "user_id: no member " + c.user_id + " in account " + s_.account_id);
    }
    ROSTER_RETURN_IF_ERROR(CheckAccountRole(c.role));
    Decision d;
    d.out.account_id = s_.account_id;
    d.out.role = c.role;
    if (m->role == c.role) return d;
    ROSTER_RETURN_IF_ERROR(CheckAccountKeepsManager(*m, AccountRoleManages(c.role)));
    d.events.push_back(events::AccountMemberRoleChanged{c.user_id, m->role, c.role});
    return d;
  }

  Result<Decision> operator()(const RemoveAccountMember& c) {
    ROSTER_RETURN_IF_ERROR(RequireAccount(s_, c.account_id));
    ROSTER_RETURN_IF_ERROR(RequireAccountManager(s_, a_));
    if (a_.is_user() && a_.user_id == c.user_id) {
      return Fail(ErrorCode::kCannotModifySelf, "user_id: you cannot remove yourself");
    }
    const AccountMember* m = s_.FindAccountMember(c.user_id);
    if (m == nullptr) {
      return Fail(ErrorCode::kNotFound,
                  "user_id: no member " + c.user_id + " in account " + s_.account_id);
    }
    ROSTER_RETURN_IF_ERROR(CheckAccountKeepsManager(*m, false));
    Decision d;
    d.events.push_back(events::AccountMemberRemoved{c.user_id, m->role});
    d.out.account_id = s_.account_id;
    return d;
  }

  // ---- workspaces ----
  Result<Decision> operator()(const CreateWorkspace& c) {
    ROSTER_RETURN_IF_ERROR(RequireAccount(s_, c.account_id));
    ROSTER_RETURN_IF_ERROR(RequireAccountManager(s_, a_));
    ROSTER_RETURN_IF_ERROR(ValidateId(c.workspace_id, "workspace_id"));
    ROSTER_RETURN_IF_ERROR(ValidateText(c.name, "name", 200));
    const policy::Template* tmpl = policy::FindTemplate(c.template_name);
    if (tmpl == nullptr) {
      return Fail(ErrorCode::kInvalidField,
                  "template: " + Quoted(c.template_name) +
                      " is not one of standard, orders, partner_program");
    }
    int64_t ttl = c.invite_ttl_seconds.value_or(tmpl->default_invite_ttl_seconds);
    if (ttl < kMinInviteTtlSeconds || ttl > kMaxInviteTtlSeconds) {
      return Fail(ErrorCode::kInvalidField, "invite_ttl_seconds: must be between " +
                                                std::to_string(kMinInviteTtlSeconds) + " and " +
                                                std::to_string(kMaxInviteTtlSeconds));
    }
    if (s_.FindWorkspace(c.workspace_id) != nullptr ||
        (ctx_.accounts != nullptr && ctx_.accounts->WorkspaceExists(c.workspace_id))) {
      return Fail(ErrorCode::kAlreadyExists,
                  "workspace_id: workspace " + c.workspace_id + " already exists");
    }
    Decision d;
    d.events.push_back(events::WorkspaceCreated{c.workspace_id, c.name, tmpl->name, ttl});
    d.out.account_id = s_.account_id;
    d.out.workspace_id = c.workspace_id;
    return d;
  }

  Result<Decision> operator()(const DefineRole& c) {
    auto ws = GetWorkspace(s_, c.workspace_id);
    if (!ws) return ws.error();
    const Workspace& w = **ws;
    ROSTER_RETURN_IF_ERROR(RequireWorkspaceManager(s_, w, a_));
    if (!ValidRoleName(c.role)) {
      return Fail(ErrorCode::kInvalidField,
                  "role: " + Quoted(c.role) + " is not a role name ([a-z0-9_], 1..64)");
    }
    const policy::Template& tmpl = TemplateOf(w);
    for (const auto& [name, patterns] : tmpl.roles) {
      // Built-in roles are fixed; a template's empty placeholder ("custom") may be defined.
      if (name == c.role && !patterns.empty()) {
        return Fail(ErrorCode::kInvalidField, "role: " + Quoted(c.role) +
                                                  " is a built-in role of the " + tmpl.name +
                                                  " template and cannot be redefined");
      }
    }
    if (c.permissions.size() > kMaxPermissions) {
      return Fail(ErrorCode::kInvalidField, "permissions: more than " +
                                                std::to_string(kMaxPermissions) + " patterns");
    }
    for (size_t i = 0; i < c.permissions.size(); ++i) {
      std::string field = "permissions[" + std::to_string(i) + "]";
      ROSTER_RETURN_IF_ERROR(policy::ValidatePattern(c.permissions[i], field));
      std::string_view p = c.permissions[i];
      if (!p.empty() && p[0] == '-') p.remove_prefix(1);
      if (p == "*") continue;
      std::string_view module = policy::ModuleOf(p);
      if (module != "*" &&
          std::find(tmpl.modules.begin(), tmpl.modules.end(), module) == tmpl.modules.end()) {
        return Fail(ErrorCode::kInvalidAccess, field + ": unknown module " + Quoted(module) +
                                                   " for the " + tmpl.name + " template");
      }
    }
    Decision d;
    d.out.workspace_id = w.workspace_id;
    d.out.role = c.role;
    auto it = w.custom_roles.find(c.role);
    if (it != w.custom_roles.end() && it->second == c.permissions) return d;
    Workspace after = w;
    after.custom_roles[c.role] = c.permissions;
    ROSTER_RETURN_IF_ERROR(CheckWorkspaceKeepsManager(
        w, after,
        "permissions: redefining " + Quoted(c.role) +
            " would leave no member holding team.manage in workspace " + w.workspace_id));
    d.events.push_back(events::RoleDefined{w.workspace_id, c.role, c.permissions});
    return d;
  }

  // ---- members ----
  Result<Decision> operator()(const UpdateMember& c) {
    auto target = GetMutableTarget(c.workspace_id, c.user_id, "change your own role, access or scope");
    if (!target) return target.error();
    const Workspace& w = *target->first;
    const WorkspaceMember& m = *target->second;
    const policy::Template& tmpl = TemplateOf(w);

    std::string new_role = m.role;
    if (c.role) {
      if (WorkspaceRolePatterns(w, *c.role) == nullptr) {
        return Fail(ErrorCode::kUnknownRole,
                    "role: unknown role " + Quoted(*c.role) + " in workspace " + w.workspace_id);
      }
      new_role = *c.role;
    }
    AccessMap new_access = m.access;
    if (c.access) {
      ROSTER_RETURN_IF_ERROR(policy::ValidateAccess(*c.access, tmpl, /*allow_inherit=*/true));
      for (const auto& [module, level] : *c.access) {
        if (level == "inherit") {
          new_access.erase(module);
        } else {
          new_access[module] = level;
        }
      }
    }
    Scope new_scope = m.scope;
    if (c.scope) {
      if (c.scope->markets) {
        ROSTER_RETURN_IF_ERROR(ValidateList(*c.scope->markets, "scope.markets"));
        new_scope.markets = Dedup(*c.scope->markets);
      }
      if (c.scope->sets) {
        ROSTER_RETURN_IF_ERROR(ValidateList(*c.scope->sets, "scope.sets"));
        new_scope.sets = Dedup(*c.scope->sets);
      }
      if (c.scope->groups) {
        ROSTER_RETURN_IF_ERROR(ValidateList(*c.scope->groups, "scope.groups"));
        new_scope.groups = Dedup(*c.scope->groups);
      }
    }
    ROSTER_RETURN_IF_ERROR(CheckMemberKeepsManager(w, c.user_id, MemberManages(w, m.role, m.access),
                                                   MemberManages(w, new_role, new_access)));

    Decision d;
    d.out.workspace_id = w.workspace_id;
    d.out.role = new_role;
    if (new_role != m.role) {
      d.events.push_back(events::RoleChanged{w.workspace_id, c.user_id, m.role, new_role});
    }
    if (new_access != m.access) {
      d.events.push_back(events::AccessChanged{w.workspace_id, c.user_id, new_access});
    }
    if (!(new_scope == m.scope)) {
      d.events.push_back(events::ScopeChanged{w.workspace_id, c.user_id, new_scope});
    }
    return d;
  }

  Result<Decision> operator()(const RemoveMember& c) {
    auto target = GetMutableTarget(c.workspace_id, c.user_id, "remove yourself");
    if (!target) return target.error();
    const Workspace& w = *target->first;
    const WorkspaceMember& m = *target->second;
    ROSTER_RETURN_IF_ERROR(
        CheckMemberKeepsManager(w, c.user_id, MemberManages(w, m.role, m.access), false));
    Decision d;
    d.events.push_back(events::MemberRemoved{w.workspace_id, c.user_id, m.role});
    d.out.workspace_id = w.workspace_id;
    return d;
  }

  // ---- invitations ----
  Result<Decision> operator()(const SendInvite& c) {
    auto ws = GetWorkspace(s_, c.workspace_id);
    if (!ws) return ws.error();
    const Workspace& w = **ws;
    ROSTER_RETURN_IF_ERROR(RequireWorkspaceManager(s_, w, a_));
    ROSTER_RETURN_IF_ERROR(ValidateEmail(c.email, "email"));
    if (WorkspaceRolePatterns(w, c.role) == nullptr) {
      return Fail(ErrorCode::kUnknownRole,
                  "role: unknown role " + Quoted(c.role) + " in workspace " + w.workspace_id);
    }
    ROSTER_RETURN_IF_ERROR(policy::ValidateAccess(c.access, TemplateOf(w), false));
    ROSTER_RETURN_IF_ERROR(ValidateScope(c.scope, "scope"));
    // Rule 3 before rule 4 (API.md): inviting yourself is the more specific mistake.
    if (a_.is_user() && !ctx_.actor_email_key.data.empty() &&
        ctx_.actor_email_key == ctx_.email_key) {
      return Fail(ErrorCode::kCannotInviteSelf, "email: you cannot invite yourself");
    }
    if (HasAccess(s_, w, {}, ctx_.email_key)) {
      return Fail(ErrorCode::kAlreadyMember,
                  "email: this address already has access to workspace " + w.workspace_id);
    }
    std::vector<std::string> expired;
    for (const auto& id : s_.PendingInvitations(w.workspace_id, ctx_.email_key)) {
      const Invitation& inv = s_.invitations.at(id);
      if (inv.ActiveAt(ctx_.now)) {
        Status st = Fail(ErrorCode::kInvitePending,
                         "email: invitation " + id + " to this address is already pending in "
                         "workspace " + w.workspace_id);
        st.With("invitation_id", id);
        return st;
      }
      if (inv.ExpiredAt(ctx_.now)) expired.push_back(id);
    }
    Decision d;
    std::string id = ctx_.ids->NewId("inv_", kIdHexDigits);
    std::string token = ctx_.ids->NewToken();
    Micros expires_at = ExpiryFor(w, ctx_.now);
    d.events.push_back(events::InviteSent{w.workspace_id, id, ctx_.email_key, ctx_.subject, c.role,
                                          c.access, DedupScope(c.scope), TokenHash(token),
                                          expires_at});
    // Rule 7: a fresh invitation clears the expired ones for the same address.
    for (const auto& old : expired) {
      d.events.push_back(events::InviteSuperseded{w.workspace_id, old, id});
    }
    d.out.workspace_id = w.workspace_id;
    d.out.invitation_id = id;
    d.out.token = std::move(token);
    d.out.expires_at = expires_at;
    d.out.role = c.role;
    return d;
  }

  Result<Decision> operator()(const ResendInvite& c) {
    auto inv = GetManagedInvitation(c.invitation_id);
    if (!inv) return inv.error();
    const Invitation& i = *inv->first;
    const Workspace& w = *inv->second;
    // Resending an expired (still pending) invitation is allowed: it resets the clock.
    if (i.status != InvitationStatus::kPending) {
      return Fail(ErrorCode::kInviteNotPending, "invitation_id: invitation " + i.invitation_id +
                                                    " is " +
                                                    std::string(InvitationStatusName(i.status)));
    }
    Decision d;
    std::string token = ctx_.ids->NewToken();
    Micros expires_at = ExpiryFor(w, ctx_.now);
    d.events.push_back(
        events::InviteResent{w.workspace_id, i.invitation_id, TokenHash(token), expires_at});
    d.out.workspace_id = w.workspace_id;
    d.out.invitation_id = i.invitation_id;
    d.out.token = std::move(token);
    d.out.expires_at = expires_at;
    d.out.role = i.role;
    return d;
  }

  Result<Decision> operator()(const CancelInvite& c) {
    auto inv = GetManagedInvitation(c.invitation_id);
    if (!inv) return inv.error();
    const Invitation& i = *inv->first;
    if (i.status != InvitationStatus::kPending) {
      return Fail(ErrorCode::kInviteNotPending, "invitation_id: invitation " + i.invitation_id +
                                                    " is " +
                                                    std::string(InvitationStatusName(i.status)));
    }
    Decision d;
    d.events.push_back(events::InviteCancelled{i.workspace_id, i.invitation_id});
    d.out.workspace_id = i.workspace_id;
    d.out.invitation_id = i.invitation_id;
    return d;
  }

  Result<Decision> operator()(const AcceptInvite& c) {
    ROSTER_RETURN_IF_ERROR(RequireUser(a_, "accepting an invitation"));
    if (c.token.empty()) return Fail(ErrorCode::kInvalidField, "token: required");
    const Invitation* found = s_.FindInvitationByToken(TokenHash(c.token));
    if (found == nullptr) {
      return Fail(ErrorCode::kInvalidToken, "token: unknown or replaced invitation token");
    }
    const Invitation& i = *found;
    if (i.status != InvitationStatus::kPending) {
      return Fail(ErrorCode::kInviteNotPending, "token: invitation " + i.invitation_id + " is " +
                                                    std::string(InvitationStatusName(i.status)));
    }
    if (i.ExpiredAt(ctx_.now)) {
      return Fail(ErrorCode::kInviteExpired,
                  "token: invitation " + i.invitation_id + " expired at " + FormatTime(i.expires_at));
    }
    if (!(ctx_.actor_email_key == i.email_key)) {
      return Fail(ErrorCode::kInviteEmailMismatch,
                  "email: the invitation was sent to a different address");
    }
    auto ws = GetWorkspace(s_, i.workspace_id);
    if (!ws) return ws.error();
    const Workspace& w = **ws;
    if (HasAccess(s_, w, a_.user_id, i.email_key)) {
      return Fail(ErrorCode::kAlreadyMember,
                  "user_id: " + a_.user_id + " already has access to workspace " + w.workspace_id);
    }
    Decision d;
    std::string subject = ctx_.actor_subject.empty() ? i.subject : ctx_.actor_subject;
    d.events.push_back(events::InviteAccepted{w.workspace_id, i.invitation_id, a_.user_id,
                                              i.email_key, subject, i.role, i.access, i.scope});
    d.out.workspace_id = w.workspace_id;
    d.out.invitation_id = i.invitation_id;
    d.out.role = i.role;
    return d;
  }

  // ---- invite link ----
  Result<Decision> operator()(const PutInviteLink& c) {
    auto ws = GetWorkspace(s_, c.workspace_id);
    if (!ws) return ws.error();
    const Workspace& w = **ws;
    ROSTER_RETURN_IF_ERROR(RequireWorkspaceManager(s_, w, a_));
    const auto* patterns = WorkspaceRolePatterns(w, c.role);
    if (patterns == nullptr) {
      return Fail(ErrorCode::kUnknownRole,
                  "role: unknown role " + Quoted(c.role) + " in workspace " + w.workspace_id);
    }
    if (policy::PatternsAllow(*patterns, kTeamManage) && !c.confirm_admin) {
      return Fail(ErrorCode::kAdminLinkUnconfirmed,
                  "confirm_admin: role " + Quoted(c.role) +
                      " can manage the team; set confirm_admin to true to use it on the link");
    }
    Decision d;
    d.out.workspace_id = w.workspace_id;
    d.out.role = c.role;
    if (w.link && w.link->enabled) {
      if (w.link->role != c.role) {
        d.events.push_back(events::LinkRoleChanged{w.workspace_id, w.link->role, c.role});
      }
      return d;
    }
    // No link yet, or a disabled one: a fresh link with a fresh token.
    std::string token = ctx_.ids->NewToken();
    d.events.push_back(events::LinkCreated{w.workspace_id, c.role, TokenHash(token)});
    d.out.token = std::move(token);
    return d;
  }

  Result<Decision> operator()(const RegenerateInviteLink& c) {
    auto ws = GetLinkWorkspace(c.workspace_id);
    if (!ws) return ws.error();
    const Workspace& w = **ws;
    Decision d;
    std::string token = ctx_.ids->NewToken();
    d.events.push_back(events::LinkRegenerated{w.workspace_id, TokenHash(token)});
    d.out.workspace_id = w.workspace_id;
    d.out.role = w.link->role;
    d.out.token = std::move(token);
    return d;
  }

  Result<Decision> operator()(const DisableInviteLink& c) {
    auto ws = GetLinkWorkspace(c.workspace_id);
    if (!ws) return ws.error();
    const Workspace& w = **ws;
    Decision d;
    d.events.push_back(events::LinkDisabled{w.workspace_id});
    d.out.workspace_id = w.workspace_id;
    d.out.role = w.link->role;
    return d;
  }

  Result<Decision> operator()(const JoinByLink& c) {
    ROSTER_RETURN_IF_ERROR(RequireUser(a_, "joining by link"));
    if (c.token.empty()) return Fail(ErrorCode::kInvalidField, "token: required");
    const Workspace* found = s_.FindWorkspaceByLinkToken(TokenHash(c.token));
    if (found == nullptr || !found->link->enabled) {
      return Fail(ErrorCode::kInvalidToken, "token: unknown, replaced or disabled invite link");
    }
    const Workspace& w = *found;
    Decision d;
    d.out.workspace_id = w.workspace_id;
    // Rule 12: someone who already has access (e.g. an account member) gets no duplicate.
    if (HasAccess(s_, w, a_.user_id, ctx_.actor_email_key)) {
      d.out.role = ExistingRole(s_, w, a_.user_id);
      if (d.out.role.empty()) d.out.role = w.link->role;
      d.out.joined = false;
      return d;
    }
    d.events.push_back(events::LinkJoined{w.workspace_id, a_.user_id, ctx_.actor_email_key,
                                          ctx_.actor_subject, w.link->role});
    d.out.role = w.link->role;
    d.out.joined = true;
    return d;
  }

  // ---- partners ----
  Result<Decision> operator()(const InvitePartner& c) {
    auto ws = GetWorkspace(s_, c.workspace_id);
    if (!ws) return ws.error();
    const Workspace& w = **ws;
    ROSTER_RETURN_IF_ERROR(RequireWorkspaceManager(s_, w, a_));
    ROSTER_RETURN_IF_ERROR(CheckPartnerLevel(c.access_level));
    ROSTER_RETURN_IF_ERROR(ValidateList(c.sets, "sets"));
    ROSTER_RETURN_IF_ERROR(ValidateText(c.partner_account_id, "partner_account_id", 128));
    auto info = ctx_.accounts ? ctx_.accounts->FindAccount(c.partner_account_id) : std::nullopt;
    if (!info) {
      return Fail(ErrorCode::kNotFound, "partner_account_id: no account " + c.partner_account_id);
    }
    if (info->plan != "partner") {
      return Fail(ErrorCode::kNotPartnerAccount,
                  "partner_account_id: account " + c.partner_account_id + " is on the " +
                      info->plan + " plan, not partner");
    }
    for (const auto& [id, p] : s_.partners) {
      if (p.workspace_id == w.workspace_id && p.partner_account_id == c.partner_account_id &&
          p.status != PartnerStatus::kRevoked) {
        return Fail(ErrorCode::kAlreadyExists,
                    "partner_account_id: account " + c.partner_account_id +
                        " already has partner relationship " + id + " with workspace " +
                        w.workspace_id);
      }
    }
    Decision d;
    std::string id = ctx_.ids->NewId("prt_", kIdHexDigits);
    d.events.push_back(events::PartnerInvited{w.workspace_id, id, c.partner_account_id,
                                              c.access_level, Dedup(c.sets)});
    d.out.workspace_id = w.workspace_id;
    d.out.partner_id = id;
    d.out.status = "invited";
    return d;
  }

  Result<Decision> operator()(const AcceptPartner& c) {
    auto found = GetPartner(c.partner_id);
    if (!found) return found.error();
    const Partner& p = **found;
    ROSTER_RETURN_IF_ERROR(RequireUser(a_, "accepting a partnership"));
    if (ctx_.accounts == nullptr || !ctx_.accounts->Administers(a_.user_id, p.partner_account_id)) {
      return Fail(ErrorCode::kForbidden, "actor: user " + a_.user_id +
                                             " does not hold team.manage in partner account " +
                                             p.partner_account_id);
    }
    ROSTER_RETURN_IF_ERROR(CheckPartnerStatus(p, PartnerStatus::kInvited, "accepted"));
    Decision d;
    d.events.push_back(events::PartnerAccepted{p.workspace_id, p.partner_id, a_.user_id});
    return WithPartnerOut(std::move(d), p, "active");
  }

  Result<Decision> operator()(const UpdatePartner& c) {
    auto found = GetManagedPartner(c.partner_id);
    if (!found) return found.error();
    const Partner& p = **found;
    if (p.status == PartnerStatus::kRevoked) return Revoked(p);
    if (c.access_level) ROSTER_RETURN_IF_ERROR(CheckPartnerLevel(*c.access_level));
    ROSTER_RETURN_IF_ERROR(ValidateList(c.assign_sets, "assign_sets"));
    ROSTER_RETURN_IF_ERROR(ValidateList(c.revoke_sets, "revoke_sets"));
    for (const auto& s : c.assign_sets) {
      if (std::find(c.revoke_sets.begin(), c.revoke_sets.end(), s) != c.revoke_sets.end()) {
        return Fail(ErrorCode::kInvalidField,
                    "assign_sets: set " + Quoted(s) + " is also listed in revoke_sets");
      }
    }
    Decision d;
    if (c.access_level && *c.access_level != p.access_level) {
      d.events.push_back(
          events::PartnerAccessChanged{p.workspace_id, p.partner_id, p.access_level, *c.access_level});
    }
    std::vector<std::string> assign;
    for (const auto& s : Dedup(c.assign_sets)) {
      if (std::find(p.sets.begin(), p.sets.end(), s) == p.sets.end()) assign.push_back(s);
    }
    if (!assign.empty()) {
      d.events.push_back(events::PartnerSetsAssigned{p.workspace_id, p.partner_id, assign});
    }
    std::vector<std::string> revoke;
    for (const auto& s : Dedup(c.revoke_sets)) {
      if (std::find(p.sets.begin(), p.sets.end(), s) != p.sets.end()) revoke.push_back(s);
    }
    if (!revoke.empty()) {
      d.events.push_back(events::PartnerSetsRevoked{p.workspace_id, p.partner_id, revoke});
    }
    return WithPartnerOut(std::move(d), p, PartnerStatusName(p.status));
  }

  Result<Decision> operator()(const SuspendPartner& c) {
    auto found = GetManagedPartner(c.partner_id);
    if (!found) return found.error();
    const Partner& p = **found;
    ROSTER_RETURN_IF_ERROR(ValidateReason(c.reason));
    ROSTER_RETURN_IF_ERROR(CheckPartnerStatus(p, PartnerStatus::kActive, "suspended"));
    Decision d;
    d.events.push_back(events::PartnerSuspended{p.workspace_id, p.partner_id, c.reason});
    return WithPartnerOut(std::move(d), p, "suspended");
  }

  Result<Decision> operator()(const ResumePartner& c) {
    auto found = GetManagedPartner(c.partner_id);
    if (!found) return found.error();
    const Partner& p = **found;
    ROSTER_RETURN_IF_ERROR(ValidateReason(c.reason));
    ROSTER_RETURN_IF_ERROR(CheckPartnerStatus(p, PartnerStatus::kSuspended, "resumed"));
    Decision d;
    d.events.push_back(events::PartnerResumed{p.workspace_id, p.partner_id, c.reason});
    return WithPartnerOut(std::move(d), p, "active");
  }

  Result<Decision> operator()(const RevokePartner& c) {
    auto found = GetManagedPartner(c.partner_id);
    if (!found) return found.error();
    const Partner& p = **found;
    ROSTER_RETURN_IF_ERROR(ValidateReason(c.reason));
    if (p.status == PartnerStatus::kRevoked) return Revoked(p);
    Decision d;
    d.events.push_back(events::PartnerRevoked{p.workspace_id, p.partner_id, c.reason});
    return WithPartnerOut(std::move(d), p, "revoked");
  }

  // ---- shared access ----
  Result<Decision> operator()(const GrantShare& c) {
    ROSTER_RETURN_IF_ERROR(RequireAccount(s_, c.account_id));
    ROSTER_RETURN_IF_ERROR(RequireAccountManager(s_, a_));
    ROSTER_RETURN_IF_ERROR(ValidateText(c.grantee_user_id, "grantee_user_id", 128));
    ROSTER_RETURN_IF_ERROR(ValidateText(c.grantee_account_id, "grantee_account_id", 128));
    if (!c.all_containers) ROSTER_RETURN_IF_ERROR(ValidateList(c.containers, "containers"));
    if (c.grantee_account_id == s_.account_id) {
      return Fail(ErrorCode::kInvalidField,
                  "grantee_account_id: an account cannot share access with itself");
    }
    auto info = ctx_.accounts ? ctx_.accounts->FindAccount(c.grantee_account_id) : std::nullopt;
    if (!info) {
      return Fail(ErrorCode::kNotFound, "grantee_account_id: no account " + c.grantee_account_id);
    }
    if (info->plan != "standard") {
      return Fail(ErrorCode::kPlanNotEligible,
                  "grantee_account_id: account " + c.grantee_account_id + " is on the " +
                      info->plan + " plan; shared access goes only to standard accounts");
    }
    if (info->region != s_.region) {
      return Fail(ErrorCode::kRegionMismatch, "grantee_account_id: account " +
                                                  c.grantee_account_id + " is in region " +
                                                  info->region + ", account " + s_.account_id +
                                                  " in " + s_.region);
    }
    if (s_.shares.count(c.grantee_user_id) > 0) {
      return Fail(ErrorCode::kAlreadyExists, "grantee_user_id: " + c.grantee_user_id +
                                                 " already has shared access to account " +
                                                 s_.account_id);
    }
    Decision d;
    d.events.push_back(events::SharedAccessGranted{
        c.grantee_user_id, c.grantee_account_id, c.all_containers,
        c.all_containers ? std::vector<std::string>{} : Dedup(c.containers), c.billing});
    d.out.account_id = s_.account_id;
    return d;
  }

  Result<Decision> operator()(const RemoveShare& c) {
    ROSTER_RETURN_IF_ERROR(RequireAccount(s_, c.account_id));
    ROSTER_RETURN_IF_ERROR(RequireAccountManager(s_, a_));
    ROSTER_RETURN_IF_ERROR(RequireGrant(c.grantee_user_id));
    Decision d;
    d.events.push_back(events::SharedAccessRemoved{c.grantee_user_id});
    d.out.account_id = s_.account_id;
    return d;
  }

  Result<Decision> operator()(const RetireShare& c) {
    ROSTER_RETURN_IF_ERROR(RequireAccount(s_, c.account_id));
    if (a_.is_user() && a_.user_id != c.grantee_user_id) {
      return Fail(ErrorCode::kForbidden,
                  "actor: only the grantee (" + c.grantee_user_id + ") retires shared access");
    }
    ROSTER_RETURN_IF_ERROR(RequireGrant(c.grantee_user_id));
    Decision d;
    d.events.push_back(events::SharedAccessRetired{c.grantee_user_id});
    d.out.account_id = s_.account_id;
    return d;
  }

  Result<Decision> operator()(const EraseSubject&) {
    return Fail(ErrorCode::kInternal, "EraseSubject is carried out by the CommandHandler");
  }

 private:
  Status CheckAccountRole(const std::string& role) {
    if (policy::AccountRole(role) != nullptr) return Status::Ok();
    return Fail(ErrorCode::kUnknownRole,
                "role: unknown account role " + Quoted(role) + " (owner, admin, viewer)");
  }

  // Rule 10 at account level: an account keeps at least one owner or admin. `target`
  // changes to a role that manages (`manages_after`) or not, or leaves (false).
  Status CheckAccountKeepsManager(const AccountMember& target, bool manages_after) {
    if (!AccountRoleManages(target.role) || manages_after) return Status::Ok();
    for (const auto& [uid, m] : s_.members) {
      if (uid != target.user_id && AccountRoleManages(m.role)) return Status::Ok();
    }
    return Fail(ErrorCode::kLastAdmin, "user_id: " + target.user_id +
                                           " is the last owner or admin of account " +
                                           s_.account_id);
  }

  // The workspace and the workspace-level member a member command targets, after rule 1,
  // rule 8 (self) and rule 9 (account members), in that order.
  Result<std::pair<const Workspace*, const WorkspaceMember*>> GetMutableTarget(
      const std::string& workspace_id, const std::string& user_id, std::string_view self_what) {
    auto ws = GetWorkspace(s_, workspace_id);
    if (!ws) return ws.error();
    const Workspace& w = **ws;
    ROSTER_RETURN_IF_ERROR(RequireWorkspaceManager(s_, w, a_));
    if (a_.is_user() && a_.user_id == user_id) {
      return Fail(ErrorCode::kCannotModifySelf, "user_id: you cannot " + std::string(self_what));
    }
    if (s_.FindAccountMember(user_id) != nullptr) {
      return Fail(ErrorCode::kAccountMemberImmutable,
                  "user_id: " + user_id + " is a member of account " + s_.account_id +
                      "; their access is managed at the account level");
    }
    auto it = w.members.find(user_id);
    if (it == w.members.end()) {
      return Fail(ErrorCode::kNotFound,
                  "user_id: no member " + user_id + " in workspace " + w.workspace_id);
    }
    return std::make_pair(&w, &it->second);
  }

  Result<std::pair<const Invitation*, const Workspace*>> GetManagedInvitation(
      const std::string& invitation_id) {
    auto it = s_.invitations.find(invitation_id);
    if (it == s_.invitations.end()) {
      return Fail(ErrorCode::kNotFound, "invitation_id: no invitation " + invitation_id);
    }
    auto ws = GetWorkspace(s_, it->second.workspace_id);
    if (!ws) return ws.error();
    ROSTER_RETURN_IF_ERROR(RequireWorkspaceManager(s_, **ws, a_));
    return std::make_pair(&it->second, *ws);
  }

  Result<const Workspace*> GetLinkWorkspace(const std::string& workspace_id) {
    auto ws = GetWorkspace(s_, workspace_id);
    if (!ws) return ws.error();
    ROSTER_RETURN_IF_ERROR(RequireWorkspaceManager(s_, **ws, a_));
    if (!(*ws)->link || !(*ws)->link->enabled) {
      return Fail(ErrorCode::kNotFound,
                  "workspace_id: workspace " + workspace_id + " has no enabled invite link");
    }
    return *ws;
  }

  Result<const Partner*> GetPartner(const std::string& partner_id) {
    auto it = s_.partners.find(partner_id);
    if (it == s_.partners.end()) {
      return Fail(ErrorCode::kNotFound, "partner_id: no partner " + partner_id);
    }
    return &it->second;
  }

  Result<const Partner*> GetManagedPartner(const std::string& partner_id) {
    auto p = GetPartner(partner_id);
    if (!p) return p.error();
    auto ws = GetWorkspace(s_, (*p)->workspace_id);
    if (!ws) return ws.error();
    ROSTER_RETURN_IF_ERROR(RequireWorkspaceManager(s_, **ws, a_));
    return *p;
  }

  static Status Revoked(const Partner& p) {
    return Fail(ErrorCode::kPartnerRevoked,
                "partner_id: partner " + p.partner_id + " is revoked; revocation is final");
  }

  // Rule 13: a transition from `required` only; any transition of a revoked partner is
  // partner_revoked.
  static Status CheckPartnerStatus(const Partner& p, PartnerStatus required, std::string_view to) {
    if (p.status == PartnerStatus::kRevoked) return Revoked(p);
    if (p.status != required) {
      return Fail(ErrorCode::kPartnerNotActive,
                  "partner_id: partner " + p.partner_id + " is " +
                      std::string(PartnerStatusName(p.status)) + "; only a " +
                      std::string(PartnerStatusName(required)) + " partner can be " +
                      std::string(to));
    }
    return Status::Ok();
  }

  static Status CheckPartnerLevel(const std::string& level) {
    if (policy::ValidPartnerLevel(level)) return Status::Ok();
    return Fail(ErrorCode::kInvalidAccess,
                "access_level: unknown level " + Quoted(level) + " (view, download, edit)");
  }

  static Status ValidateReason(const std::string& reason) {
    if (reason.empty()) return Status::Ok();
    return ValidateText(reason, "reason", 500);
  }

  static Decision WithPartnerOut(Decision d, const Partner& p, std::string_view status) {
    d.out.workspace_id = p.workspace_id;
    d.out.partner_id = p.partner_id;
    d.out.status = std::string(status);
    return d;
  }

  Status RequireGrant(const std::string& grantee_user_id) {
    if (s_.shares.count(grantee_user_id) > 0) return Status::Ok();
    return Fail(ErrorCode::kNotFound, "grantee_user_id: no shared access for " +
                                          grantee_user_id + " in account " + s_.account_id);
  }

  const AccountState& s_;
  const DecideContext& ctx_;
  const Actor& a_;
};

std::string RandomHex(size_t digits) {
  std::string hex = ToHex(BufferedRandomBytes((digits + 1) / 2));
  hex.resize(digits);
  return hex;
}

}  // namespace

std::string RandomIdSource::NewId(std::string_view prefix, size_t hex_digits) {
  return std::string(prefix) + RandomHex(hex_digits);
}

std::string RandomIdSource::NewToken() { return Base64UrlEncode(BufferedRandomBytes(32)); }

std::string SequentialIdSource::NewId(std::string_view prefix, size_t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06llu", static_cast<unsigned long long>(next_++));
  return std::string(prefix) + buf;
}

std::string SequentialIdSource::NewToken() { return "token-" + std::to_string(next_++); }

events::Bytes TokenHash(std::string_view token) {
  Hash256 h = Sha256(token);
  return events::Bytes{std::string(AsBytes(h))};
}

Status ValidateId(std::string_view id, std::string_view field) {
  bool ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
  if (ok) return Status::Ok();
  return Error(ErrorCode::kInvalidField,
               std::string(field) + ": expected 1..64 characters of [A-Za-z0-9_-]");
}

Result<Decision> DecideWithOutputs(const AccountState& state, const Command& command,
                                   const DecideContext& ctx) {
  assert(ctx.actor != nullptr);
  Decider decider(state, ctx);
  return std::visit(decider, command);
}

Result<std::vector<events::Event>> Decide(const AccountState& state, const Command& command,
                                          const DecideContext& ctx) {
  auto d = DecideWithOutputs(state, command, ctx);
  if (!d) return d.error();
  return std::move(d->events);
}

}  // namespace roster::commands
