#include <gtest/gtest.h>

#include "policy/policy.h"

namespace roster::policy {
namespace {

const Patterns& Role(std::string_view tmpl, std::string_view role) {
  for (const auto& [name, p] : FindTemplate(tmpl)->roles) {
    if (name == role) return p;
  }
  ADD_FAILURE() << "no role " << role;
  static Patterns none;
  return none;
}

struct PatternCase {
  const char* pattern;
  const char* permission;
  bool matches;
};

TEST(Patterns, WildcardsMatchTheirPart) {
  const PatternCase cases[] = {
      {"*", "orders.approve", true},          {"orders.*", "orders.approve", true},
      {"orders.*", "customers.view", false},  {"*.view", "orders.view", true},
      {"*.view", "orders.approve", false},    {"orders.view", "orders.view", true},
      {"orders.view", "orders.viewer", false}, {"team.manage", "team.view", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(PatternMatches(c.pattern, c.permission), c.matches) << c.pattern << " " << c.permission;
  }
}

TEST(Patterns, ExclusionsWinOverGrants) {
  Patterns admin = {"*", "-billing.*", "-workspace.delete"};
  EXPECT_TRUE(PatternsAllow(admin, "team.manage"));
  EXPECT_FALSE(PatternsAllow(admin, "billing.view"));
  EXPECT_FALSE(PatternsAllow(admin, "workspace.delete"));
  EXPECT_TRUE(PatternsAllow(admin, "workspace.view"));
  EXPECT_FALSE(PatternsAllow({}, "team.view"));
  EXPECT_FALSE(PatternsAllow({"-team.view"}, "team.view"));
}

TEST(Patterns, Validation) {
  EXPECT_TRUE(ValidatePattern("*", "p").ok());
  EXPECT_TRUE(ValidatePattern("-billing.*", "p").ok());
  EXPECT_TRUE(ValidatePattern("*.view", "p").ok());
  EXPECT_FALSE(ValidatePattern("billing", "p").ok());
  EXPECT_FALSE(ValidatePattern("Billing.view", "p").ok());
  EXPECT_FALSE(ValidatePattern("a.b.c", "p").ok());
  EXPECT_EQ(ValidatePattern("", "permissions[0]").code(), ErrorCode::kInvalidField);
  EXPECT_NE(ValidatePattern("x", "permissions[3]").message().find("permissions[3]"), std::string::npos);
  EXPECT_TRUE(ValidatePermission("orders.approve", "permission").ok());
  EXPECT_FALSE(ValidatePermission("orders.*", "permission").ok());
}

TEST(Templates, StandardRolesFollowTheSeed) {
  EXPECT_TRUE(PatternsAllow(Role("standard", "owner"), "billing.edit"));
  EXPECT_FALSE(PatternsAllow(Role("standard", "admin"), "billing.view"));
  EXPECT_TRUE(PatternsAllow(Role("standard", "admin"), "team.manage"));
  EXPECT_TRUE(PatternsAllow(Role("standard", "editor"), "content.publish"));
  EXPECT_TRUE(PatternsAllow(Role("standard", "editor"), "team.view"));
  EXPECT_FALSE(PatternsAllow(Role("standard", "editor"), "settings.edit"));
  EXPECT_FALSE(PatternsAllow(Role("standard", "editor"), "team.manage"));
  EXPECT_TRUE(PatternsAllow(Role("standard", "viewer"), "settings.view"));
  EXPECT_FALSE(PatternsAllow(Role("standard", "viewer"), "content.edit"));
  EXPECT_EQ(FindTemplate("standard")->default_invite_ttl_seconds, 7 * 24 * 3600);
}

TEST(Templates, OrdersRolesFollowTheSeedTable) {
  EXPECT_TRUE(PatternsAllow(Role("orders", "reviewer"), "orders.flag"));
  EXPECT_FALSE(PatternsAllow(Role("orders", "reviewer"), "orders.approve"));
  EXPECT_TRUE(PatternsAllow(Role("orders", "approver"), "orders.approve"));
  EXPECT_FALSE(PatternsAllow(Role("orders", "approver"), "team.manage"));
  EXPECT_TRUE(PatternsAllow(Role("orders", "admin"), "team.manage"));
  EXPECT_TRUE(PatternsAllow(Role("orders", "admin"), "orders.confirm_lines"));
  EXPECT_EQ(FindTemplate("orders")->default_invite_ttl_seconds, 72 * 3600);
}

TEST(Templates, PartnerProgramRolesFollowTheSeed) {
  EXPECT_TRUE(PatternsAllow(Role("partner_program", "teammate"), "financial.payouts"));
  EXPECT_FALSE(PatternsAllow(Role("partner_program", "teammate"), "integrations.edit"));
  EXPECT_TRUE(PatternsAllow(Role("partner_program", "technical_teammate"), "integrations.edit"));
  EXPECT_FALSE(PatternsAllow(Role("partner_program", "program_manager"), "financial.view"));
  EXPECT_TRUE(PatternsAllow(Role("partner_program", "read_only"), "partners.view"));
  EXPECT_FALSE(PatternsAllow(Role("partner_program", "custom"), "partners.view"));
  EXPECT_EQ(FindTemplate("nope"), nullptr);
}

TEST(Grants, ModuleOverrideReplacesTheRoleInThatModuleOnly) {
  events::AccessMap access{{"products", "view"}, {"assets", "none"}, {"settings", "manage"}};
  Grant g{&Role("standard", "editor"), &access, nullptr};
  EXPECT_TRUE(GrantAllowsPermission(g, "products.view"));
  EXPECT_FALSE(GrantAllowsPermission(g, "products.edit"));  // editor could; override says view
  EXPECT_FALSE(GrantAllowsPermission(g, "assets.view"));
  EXPECT_TRUE(GrantAllowsPermission(g, "settings.delete"));  // manage grants m.*
  EXPECT_TRUE(GrantAllowsPermission(g, "content.publish"));   // untouched module: role
  events::AccessMap edit{{"content", "edit"}};
  Grant e{&Role("standard", "viewer"), &edit, nullptr};
  EXPECT_TRUE(GrantAllowsPermission(e, "content.edit"));
  EXPECT_TRUE(GrantAllowsPermission(e, "content.view"));
  EXPECT_FALSE(GrantAllowsPermission(e, "content.publish"));
  EXPECT_FALSE(GrantAllowsPermission(Grant{}, "content.view"));
}

TEST(Grants, ScopeRestrictsOnlyListedDimensionsAndNeedsThemNamed) {
  events::Scope scope{{"DE", "FR"}, {}, {}};
  Grant g{&Role("orders", "approver"), nullptr, &scope};
  EXPECT_TRUE(Allows(g, "orders.approve", {.market = "DE"}));
  EXPECT_FALSE(Allows(g, "orders.approve", {.market = "US"}));
  EXPECT_FALSE(Allows(g, "orders.approve", {}));
  EXPECT_TRUE(Allows(g, "orders.approve", {.market = "FR", .set = "anything"}));
  Grant open{&Role("orders", "approver"), nullptr, nullptr};
  EXPECT_TRUE(Allows(open, "orders.approve", {}));
}

TEST(Grants, ListPermissionsEnumeratesTheCatalogue) {
  Grant g{&Role("orders", "reviewer"), nullptr, nullptr};
  auto perms = ListPermissions(g, *FindTemplate("orders"));
  EXPECT_EQ(perms, (std::vector<std::string>{"orders.confirm_lines", "orders.flag", "orders.view"}));
}

TEST(Levels, ParseAndAllow) {
  EXPECT_EQ(ParseLevel("edit"), Level::kEdit);
  EXPECT_FALSE(ParseLevel("inherit").has_value());
  EXPECT_TRUE(LevelAllows(Level::kEdit, "view"));
  EXPECT_FALSE(LevelAllows(Level::kView, "edit"));
  EXPECT_FALSE(LevelAllows(Level::kNone, "view"));
}

TEST(Access, ValidateNamesTheOffendingModule) {
  const Template& t = *FindTemplate("standard");
  EXPECT_TRUE(ValidateAccess({{"products", "edit"}}, t, false).ok());
  Status bad = ValidateAccess({{"orders", "edit"}}, t, false);
  EXPECT_EQ(bad.code(), ErrorCode::kInvalidAccess);
  EXPECT_NE(bad.message().find("access.orders"), std::string::npos);
  EXPECT_EQ(ValidateAccess({{"products", "admin"}}, t, false).code(), ErrorCode::kInvalidAccess);
  EXPECT_FALSE(ValidateAccess({{"products", "inherit"}}, t, false).ok());
  EXPECT_TRUE(ValidateAccess({{"products", "inherit"}}, t, true).ok());
}

TEST(PartnersAndShares, PermissionsByLevel) {
  EXPECT_EQ(PartnerPermissions("view").size(), 2u);
  EXPECT_TRUE(PatternsAllow(PartnerPermissions("download"), "assets.download"));
  EXPECT_FALSE(PatternsAllow(PartnerPermissions("download"), "assets.edit"));
  EXPECT_TRUE(PatternsAllow(PartnerPermissions("edit"), "products.edit"));
  EXPECT_TRUE(PartnerPermissions("admin").empty());
  EXPECT_FALSE(PatternsAllow(SharePermissions(false), "billing.view"));
  EXPECT_TRUE(PatternsAllow(SharePermissions(true), "billing.edit"));
  EXPECT_NE(AccountRole("owner"), nullptr);
  EXPECT_EQ(AccountRole("editor"), nullptr);
}

}  // namespace
}  // namespace roster::policy
