// Partner organisations and account-level shared access over HTTP.
#include "tests/api/api_fixture.h"

namespace roster::testing {
namespace {

class PartnersShares : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure()) return;
    OpenAccount("acme");
    CreateWorkspace("acme", "w1");
  }
  bool Allowed(const std::string& query) {
    HttpResult r = Get("/v1/check?" + query);
    EXPECT_STATUS(r, 200);
    return Obj(r)["allowed"] == true;
  }
};

TEST_F(PartnersShares, PartnerLifecycleAndItsRuleCodes) {
  OpenAccount("pa", "partner");
  OpenAccount("plain", "standard");
  HeaderList pa_owner = As("pa-owner", EmailOf("pa-owner"));

  EXPECT_PROBLEM(Post("/v1/workspaces/w1/partners",
                      {{"partner_account_id", "plain"}, {"access_level", "view"}, {"sets", json::array{}}}),
                 422, "not_partner_account");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/partners",
                      {{"partner_account_id", "ghost"}, {"access_level", "view"}, {"sets", json::array{}}}),
                 404, "not_found");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/partners",
                      {{"partner_account_id", "pa"}, {"access_level", "admin"}, {"sets", json::array{}}}),
                 422, "invalid_access");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/partners",
                      {{"partner_account_id", "pa"}, {"access_level", "view"}, {"sets", "s1"}}),
                 422, "invalid_field");

  HttpResult invited = Post("/v1/workspaces/w1/partners", {{"partner_account_id", "pa"},
                                                           {"access_level", "download"},
                                                           {"sets", json::array{"s1"}}});
  ASSERT_STATUS(invited, 201);
  std::string id = Str(Obj(invited)["partner_id"]);
  EXPECT_EQ(Obj(invited)["status"], "invited");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/partners",
                      {{"partner_account_id", "pa"}, {"access_level", "view"}, {"sets", json::array{}}}),
                 409, "already_exists");
  EXPECT_FALSE(Allowed("principal=pa-owner&permission=assets.view&workspace=w1&set=s1"));

  // Accept: a team.manage member of the partner account only.
  EXPECT_PROBLEM(Post("/v1/partners/" + id + "/accept", json::object{}, As("eve", "eve@example.com")),
                 403, "forbidden");
  EXPECT_PROBLEM(Post("/v1/partners/" + id + "/suspend", json::object{}), 409, "partner_not_active");
  HttpResult accepted = Post("/v1/partners/" + id + "/accept", json::object{}, pa_owner);
  ASSERT_STATUS(accepted, 200);
  EXPECT_EQ(Obj(accepted)["status"], "active");
  EXPECT_PROBLEM(Post("/v1/partners/" + id + "/accept", json::object{}, pa_owner), 409,
                 "partner_not_active");
  EXPECT_PROBLEM(Post("/v1/partners/prt_nope/accept", json::object{}, pa_owner), 404, "not_found");

  // Access: download level, only for the assigned sets.
  EXPECT_TRUE(Allowed("principal=pa-owner&permission=assets.download&workspace=w1&set=s1"));
  EXPECT_FALSE(Allowed("principal=pa-owner&permission=assets.download&workspace=w1"));
  EXPECT_FALSE(Allowed("principal=pa-owner&permission=assets.edit&workspace=w1&set=s1"));
  HttpResult why = Get("/v1/check?principal=pa-owner&permission=products.view&workspace=w1&set=s1");
  EXPECT_EQ(Obj(why)["reason"].as_object()["via"], "partner");

  // PATCH: level and sets.
  HttpResult patched = Patch("/v1/partners/" + id, {{"access_level", "edit"},
                                                    {"assign_sets", json::array{"s2"}},
                                                    {"revoke_sets", json::array{"s1"}}});
  ASSERT_STATUS(patched, 200);
  EXPECT_EQ(Obj(patched)["events"].as_array().size(), 3u) << patched.body;
  EXPECT_TRUE(Allowed("principal=pa-owner&permission=assets.edit&workspace=w1&set=s2"));
  EXPECT_FALSE(Allowed("principal=pa-owner&permission=assets.view&workspace=w1&set=s1"));

  // Detail and list.
  HttpResult detail = Get("/v1/partners/" + id);
  ASSERT_STATUS(detail, 200);
  json::object d = Obj(detail);
  EXPECT_EQ(d["workspace_id"], "w1");
  EXPECT_EQ(d["partner_account_id"], "pa");
  EXPECT_EQ(d["status"], "active");
  EXPECT_EQ(d["access_level"], "edit");
  EXPECT_EQ(d["sets"].as_array().size(), 1u);
  EXPECT_GE(d["history"].as_array().size(), 4u);
  HttpResult list = Get("/v1/workspaces/w1/partners");
  ASSERT_STATUS(list, 200);
  EXPECT_EQ(Obj(list)["partners"].as_array().size(), 1u);
  // The partner account's owner may read the relationship; a stranger may not.
  EXPECT_STATUS(Get("/v1/partners/" + id, Bearer(UserJwt("pa-owner", EmailOf("pa-owner")))), 200);
  EXPECT_PROBLEM(Get("/v1/partners/" + id, Bearer(UserJwt("eve", "eve@example.com"))), 403,
                 "forbidden");
  EXPECT_PROBLEM(Get("/v1/partners/prt_nope"), 404, "not_found");

  // Suspend / resume / revoke (rule 13).
  HttpResult suspended = Post("/v1/partners/" + id + "/suspend", {{"reason", "audit"}});
  ASSERT_STATUS(suspended, 200);
  EXPECT_EQ(Obj(suspended)["status"], "suspended");
  EXPECT_FALSE(Allowed("principal=pa-owner&permission=assets.view&workspace=w1&set=s2"));
  EXPECT_PROBLEM(Post("/v1/partners/" + id + "/suspend", json::object{}), 409, "partner_not_active");
  HttpResult resumed = Call("POST", "/v1/partners/" + id + "/resume");  // no body at all
  ASSERT_STATUS(resumed, 200);
  EXPECT_EQ(Obj(resumed)["status"], "active");
  EXPECT_PROBLEM(Post("/v1/partners/" + id + "/resume", json::object{}), 409, "partner_not_active");
  EXPECT_PROBLEM(Post("/v1/partners/" + id + "/suspend", {{"reason", 5}}), 422, "invalid_field");
  HttpResult revoked = Post("/v1/partners/" + id + "/revoke", {{"reason", "contract ended"}});
  ASSERT_STATUS(revoked, 200);
  EXPECT_EQ(Obj(revoked)["status"], "revoked");
  EXPECT_PROBLEM(Post("/v1/partners/" + id + "/resume", json::object{}), 409, "partner_revoked");
  EXPECT_PROBLEM(Post("/v1/partners/" + id + "/suspend", json::object{}), 409, "partner_revoked");
  EXPECT_PROBLEM(Patch("/v1/partners/" + id, {{"access_level", "view"}}), 409, "partner_revoked");
  EXPECT_EQ(Obj(Get("/v1/partners/" + id))["status"], "revoked");
}

TEST_F(PartnersShares, SharedAccessGrantsRemovesAndRetires) {
  OpenAccount("beta", "standard", "global");
  OpenAccount("agency", "agency", "global");
  OpenAccount("euro", "standard", "eu");

  EXPECT_PROBLEM(Post("/v1/accounts/acme/shares", {{"grantee_user_id", "agency-owner"},
                                                   {"grantee_account_id", "agency"},
                                                   {"containers", "all"},
                                                   {"billing", false}}),
                 422, "plan_not_eligible");
  EXPECT_PROBLEM(Post("/v1/accounts/acme/shares", {{"grantee_user_id", "euro-owner"},
                                                   {"grantee_account_id", "euro"},
                                                   {"containers", "all"},
                                                   {"billing", false}}),
                 422, "region_mismatch");
  EXPECT_PROBLEM(Post("/v1/accounts/acme/shares", {{"grantee_user_id", "beta-owner"},
                                                   {"grantee_account_id", "beta"},
                                                   {"containers", "some"},
                                                   {"billing", false}}),
                 422, "invalid_field");

  HttpResult granted = Post("/v1/accounts/acme/shares", {{"grantee_user_id", "beta-owner"},
                                                         {"grantee_account_id", "beta"},
                                                         {"containers", json::array{"c1", "c2"}},
                                                         {"billing", true}});
  ASSERT_STATUS(granted, 201);
  EXPECT_EQ(Obj(granted)["events"].as_array()[0].as_object()["type"], "SharedAccessGranted");
  EXPECT_PROBLEM(Post("/v1/accounts/acme/shares", {{"grantee_user_id", "beta-owner"},
                                                   {"grantee_account_id", "beta"},
                                                   {"containers", "all"},
                                                   {"billing", false}}),
                 409, "already_exists");

  EXPECT_TRUE(Allowed("principal=beta-owner&permission=containers.edit&account=acme&resource=c1"));
  EXPECT_FALSE(Allowed("principal=beta-owner&permission=containers.edit&account=acme&resource=c9"));
  EXPECT_TRUE(Allowed("principal=beta-owner&permission=billing.view&account=acme"));
  HttpResult why = Get("/v1/check?principal=beta-owner&permission=containers.view&account=acme&resource=c2");
  EXPECT_EQ(Obj(why)["reason"].as_object()["via"], "shared_access");

  HttpResult given = Get("/v1/accounts/acme/shares");
  ASSERT_STATUS(given, 200);
  ASSERT_EQ(Obj(given)["shares"].as_array().size(), 1u);
  EXPECT_EQ(Obj(given)["shares"].as_array()[0].as_object()["grantee_user_id"], "beta-owner");
  EXPECT_EQ(Obj(given)["shares"].as_array()[0].as_object()["billing"], true);
  HttpResult received = Get("/v1/users/beta-owner/shares", Bearer(UserJwt("beta-owner", EmailOf("beta-owner"))));
  ASSERT_STATUS(received, 200);
  EXPECT_EQ(Obj(received)["shares"].as_array().size(), 1u);
  EXPECT_PROBLEM(Get("/v1/users/beta-owner/shares", Bearer(UserJwt("eve", "eve@example.com"))), 403,
                 "forbidden");
  EXPECT_PROBLEM(Get("/v1/accounts/acme/shares", Bearer(UserJwt("beta-owner", EmailOf("beta-owner")))),
                 403, "forbidden");

  // Only the grantee retires; the owner removes.
  EXPECT_PROBLEM(Post("/v1/accounts/acme/shares/beta-owner/retire", json::object{},
                      As("eve", "eve@example.com")),
                 403, "forbidden");
  HttpResult retired = Post("/v1/accounts/acme/shares/beta-owner/retire", json::object{},
                            As("beta-owner", EmailOf("beta-owner")));
  ASSERT_STATUS(retired, 200);
  EXPECT_EQ(Obj(retired)["events"].as_array()[0].as_object()["type"], "SharedAccessRetired");
  EXPECT_FALSE(Allowed("principal=beta-owner&permission=containers.view&account=acme&resource=c1"));
  EXPECT_PROBLEM(Post("/v1/accounts/acme/shares/beta-owner/retire", json::object{}), 404, "not_found");

  ASSERT_STATUS(Post("/v1/accounts/acme/shares", {{"grantee_user_id", "beta-owner"},
                                                  {"grantee_account_id", "beta"},
                                                  {"containers", "all"},
                                                  {"billing", false}}),
                201);
  EXPECT_TRUE(Allowed("principal=beta-owner&permission=containers.view&account=acme&resource=later"));
  EXPECT_FALSE(Allowed("principal=beta-owner&permission=billing.view&account=acme"));
  EXPECT_PROBLEM(Delete("/v1/accounts/acme/shares/beta-owner", As("beta-owner", EmailOf("beta-owner"))),
                 403, "forbidden");
  HttpResult removed = Delete("/v1/accounts/acme/shares/beta-owner",
                              As("acme-owner", EmailOf("acme-owner")));
  ASSERT_STATUS(removed, 200);
  EXPECT_EQ(Obj(removed)["events"].as_array()[0].as_object()["type"], "SharedAccessRemoved");
  EXPECT_TRUE(Obj(Get("/v1/accounts/acme/shares"))["shares"].as_array().empty());
}

}  // namespace
}  // namespace roster::testing
