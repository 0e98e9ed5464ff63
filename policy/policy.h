// Permissions: role templates, permission patterns, per-module access overrides and
// scope. The one place that answers "does this grant allow permission P here?" — the
// deciders (commands/) and the access projections (projections/) both ask it, so a
// command and a later check can never disagree.
//
// Pure functions over plain data; no I/O, no locks; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "events/event_types.h"

namespace roster::policy {

using Patterns = std::vector<std::string>;

// Permission patterns are "module.action". A pattern may use "*" for the whole
// permission ("*"), the action ("module.*") or the module ("*.view"); a leading "-"
// makes it an exclusion. A permission is allowed iff some non-excluding pattern matches
// it and no excluding pattern does.
bool PatternMatches(std::string_view pattern, std::string_view permission);
bool PatternsAllow(const Patterns& patterns, std::string_view permission);

// Syntax check of a pattern ("-"? (module|*) "." (action|*) | "*"); invalid_field naming
// `field` otherwise. Names are [a-z0-9_], 1..64 characters.
Status ValidatePattern(std::string_view pattern, std::string_view field);
// Syntax check of a permission being asked about ("module.action", no wildcards).
Status ValidatePermission(std::string_view permission, std::string_view field);

// Module access levels: none < view < edit < manage.
enum class Level : uint8_t { kNone = 0, kView = 1, kEdit = 2, kManage = 3 };
std::optional<Level> ParseLevel(std::string_view name);
std::string_view LevelName(Level level);

// Whether a module override level grants `action` in its module: view grants "view",
// edit adds "edit", manage grants every action.
bool LevelAllows(Level level, std::string_view action);

struct Template {
  std::string name;
  std::vector<std::pair<std::string, Patterns>> roles;  // in catalogue order
  std::vector<std::string> modules;                     // module catalogue
  int64_t default_invite_ttl_seconds;
};

// The three templates of DESIGN.md: "standard", "orders", "partner_program"; nullptr
// for an unknown name.
const Template* FindTemplate(std::string_view name);
const std::vector<Template>& Templates();

// Account-level roles (owner | admin | viewer), valid in every workspace of the account.
const Patterns* AccountRole(std::string_view role);

// Everything that decides one principal's access in one workspace.
struct Grant {
  const Patterns* role = nullptr;          // the role's patterns; nullptr = no access
  const events::AccessMap* access = nullptr;  // per-module overrides; may be null
  const events::Scope* scope = nullptr;       // scope restriction; null = unrestricted
};

// Where a check is asked. Empty = not specified.
struct Where {
  std::string_view market;
  std::string_view set;
  std::string_view group;
};

// The permission decision without scope: the module override when the permission's
// module has one, else the role's patterns.
bool GrantAllowsPermission(const Grant& grant, std::string_view permission);

// A scope dimension restricts when its list is non-empty: then the check must name a
// value in the list. A check that leaves a restricted dimension unspecified is denied
// (least privilege: "may approve orders somewhere" is not "may approve orders").
bool ScopeAllows(const events::Scope* scope, const Where& where);

// The full decision: permission and scope.
inline bool Allows(const Grant& grant, std::string_view permission, const Where& where = {}) {
  return GrantAllowsPermission(grant, permission) && ScopeAllows(grant.scope, where);
}

// The permissions a grant holds, listed against a module catalogue: for each module,
// the actions it reaches among `actions` (the union of actions the template's roles
// name, plus view/edit/manage). Used for "every permission of a user".
std::vector<std::string> ListPermissions(const Grant& grant, const Template& tmpl);

// Partner relationships: the permissions an active partner's members hold on assigned
// sets, by access level (view | download | edit). Empty for an unknown level.
Patterns PartnerPermissions(std::string_view access_level);
bool ValidPartnerLevel(std::string_view access_level);

// Shared access: "containers.view", "containers.edit" (+ "billing.view", "billing.edit").
Patterns SharePermissions(bool billing);

// The module part of "module.action" (everything before the first '.').
std::string_view ModuleOf(std::string_view permission);
std::string_view ActionOf(std::string_view permission);

// Validates an access-override map against a template's catalogue: unknown module or
// level → invalid_access naming "access.<module>". `allow_inherit` admits "inherit".
Status ValidateAccess(const std::map<std::string, std::string>& access, const Template& tmpl,
                      bool allow_inherit);

}  // namespace roster::policy
