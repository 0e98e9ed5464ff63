#include "policy/policy.h"

#include <algorithm>
#include <set>

namespace roster::policy {
namespace {

bool NameOk(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Patterns Cross(std::initializer_list<const char*> modules,
               std::initializer_list<const char*> actions) {
  Patterns out;
  for (const char* m : modules) {
    for (const char* a : actions) out.push_back(std::string(m) + "." + a);
  }
  return out;
}

Patterns Concat(Patterns a, const Patterns& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<Template> BuildTemplates() {
  Patterns editor = Cross({"content", "products", "assets", "keywords", "integrations"},
                          {"view", "edit", "approve", "publish"});
  editor.push_back("team.view");
  Patterns reviewer = {"orders.view", "orders.confirm_lines", "orders.flag"};
  Patterns approver = Concat(reviewer, {"orders.approve"});
  Patterns orders_admin =
      Concat(approver, {"customers.manage", "catalog.manage", "channels.manage", "team.manage",
                        "team.view", "settings.view", "audit.view"});
  Patterns teammate = {"financial.*", "customers.*", "partners.*"};
  return {
      Template{"standard",
               {{"owner", {"*"}},
                {"admin", {"*", "-billing.*", "-workspace.delete"}},
                {"editor", editor},
                {"viewer", {"*.view"}}},
               {"workspace", "team", "billing", "settings", "content", "products", "assets",
                "share_links", "keywords", "integrations", "audit"},
               7 * 24 * 3600},
      Template{"orders",
               {{"reviewer", reviewer}, {"approver", approver}, {"admin", orders_admin}},
               {"orders", "customers", "catalog", "channels", "team", "settings", "audit"},
               72 * 3600},
      Template{"partner_program",
               {{"administrator", {"*"}},
                {"teammate", teammate},
                {"technical_teammate", Concat(teammate, {"integrations.*"})},
                {"program_manager", {"customers.*", "partners.*"}},
                {"read_only", {"*.view"}},
                {"custom", {}}},
               {"financial", "customers", "partners", "integrations", "team", "settings", "audit"},
               7 * 24 * 3600},
  };
}

bool Contains(const events::StringList& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

bool DimensionAllows(const events::StringList& allowed, std::string_view asked) {
  if (allowed.empty()) return true;
  if (asked.empty()) return false;
  return Contains(allowed, asked);
}

}  // namespace

std::string_view ModuleOf(std::string_view permission) {
  auto dot = permission.find('.');
  return dot == std::string_view::npos ? permission : permission.substr(0, dot);
}

std::string_view ActionOf(std::string_view permission) {
  auto dot = permission.find('.');
  return dot == std::string_view::npos ? std::string_view() : permission.substr(dot + 1);
}

bool PatternMatches(std::string_view pattern, std::string_view permission) {
  if (pattern == "*") return true;
  std::string_view pm = ModuleOf(pattern), pa = ActionOf(pattern);
  std::string_view m = ModuleOf(permission), a = ActionOf(permission);
  return (pm == "*" || pm == m) && (pa == "*" || pa == a);
}

bool PatternsAllow(const Patterns& patterns, std::string_view permission) {
  bool allowed = false;
  for (const auto& p : patterns) {
    if (!p.empty() && p[0] == '-') {
      if (PatternMatches(std::string_view(p).substr(1), permission)) return false;
    } else if (!allowed && PatternMatches(p, permission)) {
      allowed = true;
    }
  }
  return allowed;
}

Status ValidatePattern(std::string_view pattern, std::string_view field) {
  std::string_view p = pattern;
  if (!p.empty() && p[0] == '-') p.remove_prefix(1);
  if (p == "*") return Status::Ok();
  auto dot = p.find('.');
  bool ok = dot != std::string_view::npos;
  if (ok) {
    std::string_view m = p.substr(0, dot), a = p.substr(dot + 1);
    ok = (m == "*" || NameOk(m)) && (a == "*" || NameOk(a));
  }
  if (ok) return Status::Ok();
  return Error(ErrorCode::kInvalidField,
               std::string(field) + ": \"" + std::string(pattern.substr(0, 80)) +
                   "\" is not a permission pattern (module.action, * wildcards, - to exclude)");
}

Status ValidatePermission(std::string_view permission, std::string_view field) {
  auto dot = permission.find('.');
  if (dot != std::string_view::npos && NameOk(permission.substr(0, dot)) &&
      NameOk(permission.substr(dot + 1))) {
    return Status::Ok();
  }
  return Error(ErrorCode::kInvalidField,
               std::string(field) + ": expected a permission \"module.action\"");
}

std::optional<Level> ParseLevel(std::string_view name) {
  if (name == "none") return Level::kNone;
  if (name == "view") return Level::kView;
  if (name == "edit") return Level::kEdit;
  if (name == "manage") return Level::kManage;
  return std::nullopt;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kNone: return "none";
    case Level::kView: return "view";
    case Level::kEdit: return "edit";
    case Level::kManage: return "manage";
  }
  return "none";
}

bool LevelAllows(Level level, std::string_view action) {
  switch (level) {
    case Level::kNone: return false;
    case Level::kView: return action == "view";
    case Level::kEdit: return action == "view" || action == "edit";
    case Level::kManage: return true;
  }
  return false;
}

const std::vector<Template>& Templates() {
  static const std::vector<Template> templates = BuildTemplates();
  return templates;
}

const Template* FindTemplate(std::string_view name) {
  for (const auto& t : Templates()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const Patterns* AccountRole(std::string_view role) {
  // Account roles use the standard template's definitions of the same names.
  if (role != "owner" && role != "admin" && role != "viewer") return nullptr;
  for (const auto& [name, patterns] : Templates().front().roles) {
    if (name == role) return &patterns;
  }
  return nullptr;
}

bool GrantAllowsPermission(const Grant& grant, std::string_view permission) {
  if (grant.role == nullptr) return false;
  if (grant.access != nullptr && !grant.access->empty()) {
    auto it = grant.access->find(std::string(ModuleOf(permission)));
    if (it != grant.access->end()) {
      auto level = ParseLevel(it->second);
      return level && LevelAllows(*level, ActionOf(permission));
    }
  }
  return PatternsAllow(*grant.role, permission);
}

bool ScopeAllows(const events::Scope* scope, const Where& where) {
  if (scope == nullptr) return true;
  return DimensionAllows(scope->markets, where.market) && DimensionAllows(scope->sets, where.set) &&
         DimensionAllows(scope->groups, where.group);
}

std::vector<std::string> ListPermissions(const Grant& grant, const Template& tmpl) {
  std::set<std::string> actions = {"view", "edit", "manage"};
  for (const auto& [name, patterns] : tmpl.roles) {
    for (const auto& p : patterns) {
      std::string_view a = ActionOf(std::string_view(p));
      if (!a.empty() && a != "*") actions.insert(std::string(a));
    }
  }
  std::vector<std::string> out;
  for (const auto& m : tmpl.modules) {
    for (const auto& a : actions) {
      std::string perm = m + "." + a;
      if (GrantAllowsPermission(grant, perm)) out.push_back(std::move(perm));
    }
  }
  return out;
}

Patterns PartnerPermissions(std::string_view level) {
  if (level == "view") return {"assets.view", "products.view"};
  if (level == "download") {
    return {"assets.view", "assets.download", "products.view", "products.download"};
  }
  if (level == "edit") {
    return {"assets.view", "assets.download", "assets.edit",
            "products.view", "products.download", "products.edit"};
  }
  return {};
}

bool ValidPartnerLevel(std::string_view level) {
  return level == "view" || level == "download" || level == "edit";
}

Patterns SharePermissions(bool billing) {
  Patterns p = {"containers.view", "containers.edit"};
  if (billing) {
    p.push_back("billing.view");
    p.push_back("billing.edit");
  }
  return p;
}

Status ValidateAccess(const std::map<std::string, std::string>& access, const Template& tmpl,
                      bool allow_inherit) {
  for (const auto& [module, level] : access) {
    if (std::find(tmpl.modules.begin(), tmpl.modules.end(), module) == tmpl.modules.end()) {
      return Error(ErrorCode::kInvalidAccess, "access." + module + ": unknown module for the " +
                                                  tmpl.name + " template");
    }
    if (!(ParseLevel(level) || (allow_inherit && level == "inherit"))) {
      return Error(ErrorCode::kInvalidAccess,
                   "access." + module + ": unknown level \"" + level.substr(0, 40) +
                       "\" (none, view, edit, manage" + (allow_inherit ? ", inherit)" : ")"));
    }
  }
  return Status::Ok();
}

}  // namespace roster::policy
