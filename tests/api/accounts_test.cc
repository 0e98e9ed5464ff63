// Accounts, account members, workspaces and custom roles over HTTP.
#include "tests/api/api_fixture.h"

namespace roster::testing {
namespace {

class Accounts : public ApiTest {};

TEST_F(Accounts, OpenAccountAnswers201AndTheAccountReadsBack) {
  HttpResult r = Post("/v1/accounts", {{"account_id", "acme"},
                                       {"name", "Acme"},
                                       {"plan", "standard"},
                                       {"region", "eu"},
                                       {"owner", {{"user_id", "olga"}, {"email", "Olga@Example.com"}}}});
  ASSERT_STATUS(r, 201);
  json::object o = Obj(r);
  EXPECT_EQ(o["account_id"], "acme");
  EXPECT_EQ(o["position"], 1);
  EXPECT_EQ(o["version"], 1);
  ASSERT_EQ(o["events"].as_array().size(), 1u);
  EXPECT_EQ(o["events"].as_array()[0].as_object()["type"], "AccountOpened");
  EXPECT_EQ(o["events"].as_array()[0].as_object()["position"], 1);
  EXPECT_EQ(r.Header("etag"), "\"1\"");

  // Read-your-writes: the account is there at once.
  HttpResult get = Get("/v1/accounts/acme");
  ASSERT_STATUS(get, 200);
  json::object a = Obj(get);
  EXPECT_EQ(a["name"], "Acme");
  EXPECT_EQ(a["plan"], "standard");
  EXPECT_EQ(a["region"], "eu");
  EXPECT_EQ(a["position"], 1);
  ASSERT_EQ(a["members"].as_array().size(), 1u);
  json::object owner = a["members"].as_array()[0].as_object();
  EXPECT_EQ(owner["user_id"], "olga");
  EXPECT_EQ(owner["role"], "owner");
  EXPECT_EQ(owner["email"], "Olga@Example.com");
  EXPECT_EQ(owner["email_erased"], false);
  EXPECT_TRUE(a["workspaces"].as_array().empty());

  // A generated id when none is given.
  HttpResult gen = Post("/v1/accounts", {{"name", "Gen"}, {"plan", "agency"}, {"region", "global"},
                                         {"owner", {{"user_id", "g"}, {"email", "g@example.com"}}}});
  ASSERT_STATUS(gen, 201);
  EXPECT_FALSE(Str(Obj(gen)["account_id"]).empty());

  // already_exists (409).
  HttpResult again = Post("/v1/accounts", {{"account_id", "acme"}, {"name", "Acme 2"},
                                           {"plan", "standard"}, {"region", "eu"},
                                           {"owner", {{"user_id", "x"}, {"email", "x@example.com"}}}});
  EXPECT_PROBLEM(again, 409, "already_exists");
}

TEST_F(Accounts, OpenAccountValidatesItsFields) {
  // Missing owner.email → invalid_field naming it.
  HttpResult missing = Post("/v1/accounts", {{"name", "A"}, {"plan", "standard"}, {"region", "eu"},
                                             {"owner", {{"user_id", "o"}}}});
  EXPECT_PROBLEM(missing, 422, "invalid_field");
  EXPECT_NE(Str(Obj(missing)["detail"]).find("owner.email"), std::string::npos) << missing.body;
  // Wrong type.
  HttpResult wrong = Post("/v1/accounts", {{"name", 7}, {"plan", "standard"}, {"region", "eu"},
                                           {"owner", {{"user_id", "o"}, {"email", "o@example.com"}}}});
  EXPECT_PROBLEM(wrong, 422, "invalid_field");
  EXPECT_NE(Str(Obj(wrong)["detail"]).find("name"), std::string::npos);
  // Unknown plan.
  HttpResult plan = Post("/v1/accounts", {{"name", "A"}, {"plan", "gold"}, {"region", "eu"},
                                          {"owner", {{"user_id", "o"}, {"email", "o@example.com"}}}});
  EXPECT_PROBLEM(plan, 422, "invalid_field");
  EXPECT_NE(Str(Obj(plan)["detail"]).find("plan"), std::string::npos);
  // Bad owner email → invalid_email.
  HttpResult email = Post("/v1/accounts", {{"name", "A"}, {"plan", "standard"}, {"region", "eu"},
                                           {"owner", {{"user_id", "o"}, {"email", "nope"}}}});
  EXPECT_PROBLEM(email, 422, "invalid_email");
  // Service only: a user JWT gets 403, and so does a delegated user (acting as the user).
  HttpResult user = Post("/v1/accounts",
                         {{"name", "A"}, {"plan", "standard"}, {"region", "eu"},
                          {"owner", {{"user_id", "o"}, {"email", "o@example.com"}}}},
                         Bearer(UserJwt("o", "o@example.com")));
  EXPECT_PROBLEM(user, 403, "forbidden");
  HttpResult delegated = Post("/v1/accounts",
                              {{"name", "A"}, {"plan", "standard"}, {"region", "eu"},
                               {"owner", {{"user_id", "o"}, {"email", "o@example.com"}}}},
                              As("o", "o@example.com"));
  EXPECT_PROBLEM(delegated, 403, "forbidden");
  EXPECT_EQ(Head(), 0u);
}

TEST_F(Accounts, AccountMembersAreAddedChangedAndRemovedWithAccountRules) {
  OpenAccount("acme");
  HttpResult add = Post("/v1/accounts/acme/members",
                        {{"user_id", "ada"}, {"email", "ada@example.com"}, {"role", "admin"}});
  ASSERT_STATUS(add, 201);
  EXPECT_EQ(Obj(add)["user_id"], "ada");
  EXPECT_EQ(Obj(add)["version"], 2);
  EXPECT_EQ(Obj(add)["events"].as_array()[0].as_object()["type"], "AccountMemberAdded");

  EXPECT_PROBLEM(Post("/v1/accounts/acme/members",
                      {{"user_id", "ada"}, {"email", "ada@example.com"}, {"role", "admin"}}),
                 409, "already_member");
  EXPECT_PROBLEM(Post("/v1/accounts/acme/members",
                      {{"user_id", "bo"}, {"email", "bo@example.com"}, {"role", "king"}}),
                 422, "unknown_role");
  EXPECT_PROBLEM(Post("/v1/accounts/nope/members",
                      {{"user_id", "bo"}, {"email", "bo@example.com"}, {"role", "viewer"}}),
                 404, "not_found");

  // Account members reach every workspace with their role.
  CreateWorkspace("acme", "w1");
  HttpResult members = Get("/v1/workspaces/w1/members");
  ASSERT_STATUS(members, 200);
  bool saw_ada = false;
  for (const auto& m : json::array(Obj(members)["members"].as_array())) {
    if (m.as_object().at("user_id") == "ada") {
      saw_ada = true;
      EXPECT_EQ(m.as_object().at("source"), "account");
      EXPECT_EQ(m.as_object().at("role"), "admin");
    }
  }
  EXPECT_TRUE(saw_ada) << members.body;

  // Rule 8 at account level: ada cannot change herself.
  EXPECT_PROBLEM(Patch("/v1/accounts/acme/members/ada", {{"role", "viewer"}},
                       As("ada", "ada@example.com")),
                 422, "cannot_modify_self");
  HttpResult change = Patch("/v1/accounts/acme/members/ada", {{"role", "viewer"}});
  ASSERT_STATUS(change, 200);
  EXPECT_EQ(Obj(change)["role"], "viewer");
  EXPECT_EQ(Obj(change)["events"].as_array()[0].as_object()["type"], "AccountMemberRoleChanged");

  // Rule 10 at account level: the only owner stays.
  EXPECT_PROBLEM(Delete("/v1/accounts/acme/members/acme-owner"), 409, "last_admin");
  HttpResult removed = Delete("/v1/accounts/acme/members/ada");
  ASSERT_STATUS(removed, 200);
  EXPECT_EQ(Obj(removed)["events"].as_array()[0].as_object()["type"], "AccountMemberRemoved");
  EXPECT_PROBLEM(Delete("/v1/accounts/acme/members/ada"), 404, "not_found");
}

TEST_F(Accounts, WorkspacesAndCustomRoles) {
  OpenAccount("acme");
  HttpResult ws = Post("/v1/accounts/acme/workspaces",
                       {{"workspace_id", "shop"}, {"name", "Shop"}, {"template", "orders"}});
  ASSERT_STATUS(ws, 201);
  EXPECT_EQ(Obj(ws)["workspace_id"], "shop");
  EXPECT_EQ(Obj(ws)["version"], 2);
  HttpResult gen = Post("/v1/accounts/acme/workspaces", {{"name", "Gen"}, {"template", "standard"}});
  ASSERT_STATUS(gen, 201);
  EXPECT_FALSE(Str(Obj(gen)["workspace_id"]).empty());
  EXPECT_PROBLEM(Post("/v1/accounts/acme/workspaces",
                      {{"workspace_id", "shop"}, {"name", "Shop"}, {"template", "orders"}}),
                 409, "already_exists");
  EXPECT_PROBLEM(Post("/v1/accounts/acme/workspaces",
                      {{"workspace_id", "x"}, {"name", "X"}, {"template", "fancy"}}),
                 422, "invalid_field");
  EXPECT_PROBLEM(Post("/v1/accounts/acme/workspaces",
                      {{"workspace_id", "x"}, {"name", "X"}, {"template", "standard"},
                       {"invite_ttl_seconds", "soon"}}),
                 422, "invalid_field");

  HttpResult get = Get("/v1/workspaces/shop");
  ASSERT_STATUS(get, 200);
  json::object w = Obj(get);
  EXPECT_EQ(w["account_id"], "acme");
  EXPECT_EQ(w["template"], "orders");
  EXPECT_EQ(w["invite_ttl_seconds"], 72 * 3600);
  EXPECT_TRUE(w["roles"].as_object().contains("approver")) << get.body;
  EXPECT_GE(w["position"].to_number<int64_t>(), 2);
  EXPECT_PROBLEM(Get("/v1/workspaces/nope"), 404, "not_found");

  HttpResult role = Put("/v1/workspaces/shop/roles/auditor",
                        {{"permissions", json::array{"audit.view", "orders.view"}}});
  ASSERT_STATUS(role, 200);
  EXPECT_EQ(Obj(role)["events"].as_array()[0].as_object()["type"], "RoleDefined");
  json::object roles = Obj(Get("/v1/workspaces/shop"))["roles"].as_object();
  ASSERT_TRUE(roles.contains("auditor"));
  EXPECT_EQ(roles["auditor"].as_array().size(), 2u);
  // Same definition again: a no-op answers events: [] with the current position and version.
  HttpResult same = Put("/v1/workspaces/shop/roles/auditor",
                        {{"permissions", json::array{"audit.view", "orders.view"}}});
  ASSERT_STATUS(same, 200);
  EXPECT_TRUE(Obj(same)["events"].as_array().empty());
  EXPECT_EQ(Obj(same)["version"], Obj(role)["version"]);
  EXPECT_EQ(Obj(same)["position"], Obj(role)["position"]);
  // An unknown module → invalid_access; a malformed pattern → invalid_field.
  EXPECT_PROBLEM(Put("/v1/workspaces/shop/roles/odd", {{"permissions", json::array{"rockets.fly"}}}),
                 422, "invalid_access");
  EXPECT_PROBLEM(Put("/v1/workspaces/shop/roles/odd", {{"permissions", json::array{"no dots"}}}),
                 422, "invalid_field");
  EXPECT_PROBLEM(Put("/v1/workspaces/shop/roles/odd", {{"permissions", "audit.view"}}), 422,
                 "invalid_field");
}

TEST_F(Accounts, UsersReadAccountsAndWorkspacesOnlyThroughMembership) {
  OpenAccount("acme");
  CreateWorkspace("acme", "w1");
  AddMember("w1", "vic", "viewer");  // viewer: *.view includes team.view
  OpenAccount("other");
  HeaderList owner = Bearer(UserJwt("acme-owner", EmailOf("acme-owner")));
  HeaderList stranger = Bearer(UserJwt("stranger", "s@example.com"));
  EXPECT_STATUS(Get("/v1/accounts/acme", owner), 200);
  EXPECT_PROBLEM(Get("/v1/accounts/acme", stranger), 403, "forbidden");
  EXPECT_PROBLEM(Get("/v1/accounts/acme", Bearer(UserJwt("vic", EmailOf("vic")))), 403, "forbidden");
  EXPECT_STATUS(Get("/v1/workspaces/w1", Bearer(UserJwt("vic", EmailOf("vic")))), 200);
  EXPECT_PROBLEM(Get("/v1/workspaces/w1", stranger), 403, "forbidden");
  // An unknown workspace is forbidden to a user (no existence leak), not_found to the service.
  EXPECT_PROBLEM(Get("/v1/workspaces/nope", stranger), 403, "forbidden");
  // The owner of another account cannot act here.
  EXPECT_PROBLEM(Post("/v1/accounts/acme/members",
                      {{"user_id", "z"}, {"email", "z@example.com"}, {"role", "viewer"}},
                      Bearer(UserJwt("other-owner", EmailOf("other-owner")))),
                 403, "forbidden");
  // The account owner (a JWT user) may act directly.
  EXPECT_STATUS(Post("/v1/accounts/acme/members",
                     {{"user_id", "z"}, {"email", "z@example.com"}, {"role", "viewer"}}, owner),
                201);
}

}  // namespace
}  // namespace roster::testing
