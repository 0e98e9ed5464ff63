// Members, invitations and the invite link over HTTP, with every team rule code.
#include "tests/api/api_fixture.h"

namespace roster::testing {
namespace {

class Team : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure()) return;
    OpenAccount("acme");
    CreateWorkspace("acme", "w1");
  }
  HeaderList Ana() { return As("ana", EmailOf("ana")); }
};

json::object FindMember(const json::object& list, std::string_view user) {
  for (const auto& m : list.at("members").as_array()) {
    if (Str(m.as_object().at("user_id")) == user) return m.as_object();
  }
  return {};
}

TEST_F(Team, InvitationLifecycleAndItsRuleCodes) {
  AddMember("w1", "ana", "admin");  // ana holds team.manage in w1

  HttpResult sent = Post("/v1/workspaces/w1/invitations",
                         {{"email", "Bob@Example.com"},
                          {"role", "editor"},
                          {"access", {{"products", "view"}}},
                          {"scope", {{"markets", json::array{"DE"}}}}},
                         Ana());
  ASSERT_STATUS(sent, 201);
  json::object inv = Obj(sent);
  std::string id = Str(inv["invitation_id"]);
  std::string token = Str(inv["token"]);
  EXPECT_FALSE(id.empty());
  EXPECT_FALSE(token.empty());
  // RFC 3339 with exactly six fractional digits.
  std::string expires = Str(inv["expires_at"]);
  ASSERT_EQ(expires.size(), 27u) << expires;
  EXPECT_EQ(expires[19], '.');
  EXPECT_EQ(expires.back(), 'Z');
  EXPECT_EQ(inv["events"].as_array()[0].as_object()["type"], "InviteSent");

  // Rule 2: invite_pending carries the existing invitation id (case-insensitive address).
  HttpResult dup = Post("/v1/workspaces/w1/invitations", {{"email", "bob@example.com"}, {"role", "viewer"}},
                        Ana());
  EXPECT_PROBLEM(dup, 409, "invite_pending");
  EXPECT_EQ(Str(Obj(dup)["invitation_id"]), id);
  // Rule 3 before rule 4: ana invites herself.
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", {{"email", EmailOf("ana")}, {"role", "viewer"}},
                      Ana()),
                 422, "cannot_invite_self");
  // Rule 4: already a member (workspace member) / account member.
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", {{"email", EmailOf("ana")}, {"role", "viewer"}}),
                 409, "already_member");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations",
                      {{"email", EmailOf("acme-owner")}, {"role", "viewer"}}),
                 409, "already_member");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", {{"email", "c@example.com"}, {"role", "boss"}}),
                 422, "unknown_role");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", {{"email", "not an email"}, {"role", "viewer"}}),
                 422, "invalid_email");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations",
                      {{"email", "c@example.com"}, {"role", "viewer"}, {"access", {{"rockets", "view"}}}}),
                 422, "invalid_access");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations",
                      {{"email", "c@example.com"}, {"role", "viewer"}, {"access", {{"products", "god"}}}}),
                 422, "invalid_access");
  EXPECT_PROBLEM(Post("/v1/workspaces/nope/invitations", {{"email", "c@example.com"}, {"role", "viewer"}}),
                 404, "not_found");
  // Rule 1: a viewer may not invite.
  AddMember("w1", "vic", "viewer");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", {{"email", "c@example.com"}, {"role", "viewer"}},
                      As("vic", EmailOf("vic"))),
                 403, "forbidden");

  // The list shows no token; ?status filters; bad status → invalid_field naming it.
  HttpResult list = Get("/v1/workspaces/w1/invitations?status=pending");
  ASSERT_STATUS(list, 200);
  EXPECT_EQ(list.body.find(token), std::string::npos);
  json::array pending = Obj(list)["invitations"].as_array();
  ASSERT_EQ(pending.size(), 1u) << list.body;
  json::object row = pending[0].as_object();
  EXPECT_EQ(Str(row["invitation_id"]), id);
  EXPECT_EQ(row["email"], "Bob@Example.com");
  EXPECT_EQ(row["status"], "pending");
  EXPECT_EQ(row["role"], "editor");
  EXPECT_EQ(row["invited_by"], "ana");
  EXPECT_EQ(row["access"].as_object()["products"], "view");
  EXPECT_EQ(row["scope"].as_object()["markets"].as_array()[0], "DE");
  EXPECT_TRUE(Obj(list)["next_cursor"].is_null());
  EXPECT_TRUE(Obj(list).contains("position"));
  HttpResult all = Get("/v1/workspaces/w1/invitations");
  EXPECT_EQ(Obj(all)["invitations"].as_array().size(), 3u);  // ana's, vic's (accepted), bob's
  HttpResult bogus = Get("/v1/workspaces/w1/invitations?status=bogus");
  EXPECT_PROBLEM(bogus, 422, "invalid_field");
  EXPECT_NE(Str(Obj(bogus)["detail"]).find("status"), std::string::npos);
  // The single-invitation view (an extra route).
  HttpResult one = Get("/v1/invitations/" + id);
  ASSERT_STATUS(one, 200);
  EXPECT_EQ(Obj(one)["status"], "pending");
  EXPECT_FALSE(Obj(one).contains("token"));

  // Rule 6: resend issues a fresh token; the old one is invalid_token.
  HttpResult resent = Post("/v1/invitations/" + id + "/resend", json::object{}, Ana());
  ASSERT_STATUS(resent, 200);
  std::string token2 = Str(Obj(resent)["token"]);
  EXPECT_NE(token2, token);
  EXPECT_EQ(Str(Obj(resent)["invitation_id"]), id);
  EXPECT_FALSE(Str(Obj(resent)["expires_at"]).empty());
  HeaderList bob = As("bob", "bob@example.com");
  EXPECT_PROBLEM(Post("/v1/invitations/accept", {{"token", token}}, bob), 404, "invalid_token");
  EXPECT_PROBLEM(Post("/v1/invitations/accept", {{"token", "no-such-token"}}, bob), 404,
                 "invalid_token");
  // The address must match (case-insensitive).
  EXPECT_PROBLEM(Post("/v1/invitations/accept", {{"token", token2}}, As("mallory", "m@example.com")),
                 403, "invite_email_mismatch");
  HttpResult accepted = Post("/v1/invitations/accept", {{"token", token2}}, bob);
  ASSERT_STATUS(accepted, 200);
  EXPECT_EQ(Obj(accepted)["workspace_id"], "w1");
  EXPECT_EQ(Obj(accepted)["role"], "editor");
  EXPECT_TRUE(Obj(accepted).contains("position"));
  // Accepting again: the token is known but not pending.
  EXPECT_PROBLEM(Post("/v1/invitations/accept", {{"token", token2}}, bob), 409, "invite_not_pending");

  // Bob is a member with source invite, overrides and scope.
  json::object members = Obj(Get("/v1/workspaces/w1/members"));
  json::object b = FindMember(members, "bob");
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b["source"], "invite");
  EXPECT_EQ(b["role"], "editor");
  // The vault keeps the address as first written (the invitation's spelling).
  EXPECT_EQ(b["email"], "Bob@Example.com");
  EXPECT_EQ(b["access"].as_object()["products"], "view");

  // Cancel: the token stops working (invite_not_pending); cancelling twice is a no-op or 409.
  json::object carol = Invite("w1", "carol@example.com", "viewer", Ana());
  HttpResult cancelled = Delete("/v1/invitations/" + Str(carol["invitation_id"]), Ana());
  ASSERT_STATUS(cancelled, 200);
  EXPECT_EQ(Obj(cancelled)["events"].as_array()[0].as_object()["type"], "InviteCancelled");
  EXPECT_PROBLEM(Post("/v1/invitations/accept", {{"token", carol["token"]}},
                      As("carol", "carol@example.com")),
                 409, "invite_not_pending");
  EXPECT_PROBLEM(Delete("/v1/invitations/inv_nope"), 404, "not_found");
  HttpResult cancelled_list = Get("/v1/workspaces/w1/invitations?status=cancelled");
  EXPECT_EQ(Obj(cancelled_list)["invitations"].as_array().size(), 1u) << cancelled_list.body;

  // Accepting needs a user actor.
  EXPECT_PROBLEM(Post("/v1/invitations/accept", {{"token", token2}}), 403, "forbidden");
}

TEST_F(Team, InvitationsExpireSupersedeAndExpiredTokensAnswer410) {
  CreateWorkspace("acme", "short", "standard", 60);
  json::object first = Invite("short", "dan@example.com", "viewer");
  // Move the server's clock past the 60 s TTL (test route).
  HttpResult tick = Post("/_test/clock", {{"advance_seconds", 120}});
  ASSERT_STATUS(tick, 200);
  EXPECT_PROBLEM(Post("/v1/invitations/accept", {{"token", first["token"]}},
                      As("dan", "dan@example.com")),
                 410, "invite_expired");
  HttpResult expired = Get("/v1/workspaces/short/invitations?status=expired");
  ASSERT_STATUS(expired, 200);
  ASSERT_EQ(Obj(expired)["invitations"].as_array().size(), 1u) << expired.body;
  EXPECT_EQ(Obj(expired)["invitations"].as_array()[0].as_object()["status"], "expired");
  EXPECT_TRUE(Obj(Get("/v1/workspaces/short/invitations?status=pending"))["invitations"]
                  .as_array()
                  .empty());
  // Rule 7: inviting the address again creates a fresh invitation and supersedes the old.
  HttpResult again = Post("/v1/workspaces/short/invitations",
                          {{"email", "dan@example.com"}, {"role", "viewer"}});
  ASSERT_STATUS(again, 201);
  bool superseded = false;
  for (const auto& e : json::array(Obj(again)["events"].as_array())) {
    if (e.as_object().at("type") == "InviteSuperseded") superseded = true;
  }
  EXPECT_TRUE(superseded) << again.body;
  EXPECT_PROBLEM(Post("/v1/invitations/accept", {{"token", first["token"]}},
                      As("dan", "dan@example.com")),
                 409, "invite_not_pending");
  EXPECT_STATUS(Post("/v1/invitations/accept", {{"token", Obj(again)["token"]}},
                     As("dan", "dan@example.com")),
                200);
}

TEST_F(Team, MembersArePatchedAndRemovedWithTheirRules) {
  AddMember("w1", "ana", "admin");
  AddMember("w1", "bob", "editor");
  HttpResult listed = Get("/v1/workspaces/w1/members");
  ASSERT_STATUS(listed, 200);
  json::object list = Obj(listed);
  EXPECT_EQ(list["members"].as_array().size(), 3u);  // owner (account) + ana + bob
  EXPECT_EQ(FindMember(list, "acme-owner")["source"], "account");
  json::object ana = FindMember(list, "ana");
  EXPECT_EQ(ana["joined_position"], 4) << listed.body;
  EXPECT_EQ(Str(ana["joined_at"]).size(), 27u);

  // role + access + scope in one PATCH: three events.
  HttpResult patched = Patch("/v1/workspaces/w1/members/bob",
                             {{"role", "viewer"},
                              {"access", {{"products", "edit"}, {"assets", "none"}}},
                              {"scope", {{"markets", json::array{"DE", "FR"}}}}},
                             Ana());
  ASSERT_STATUS(patched, 200);
  json::array events = Obj(patched)["events"].as_array();
  ASSERT_EQ(events.size(), 3u) << patched.body;
  EXPECT_EQ(events[0].as_object()["type"], "RoleChanged");
  EXPECT_EQ(events[1].as_object()["type"], "AccessChanged");
  EXPECT_EQ(events[2].as_object()["type"], "ScopeChanged");
  EXPECT_EQ(Obj(patched)["position"], events[2].as_object()["position"]);
  json::object bob = FindMember(Obj(Get("/v1/workspaces/w1/members")), "bob");
  EXPECT_EQ(bob["role"], "viewer");
  EXPECT_EQ(bob["access"].as_object()["products"], "edit");
  EXPECT_EQ(bob["scope"].as_object()["markets"].as_array().size(), 2u);
  // inherit drops an override; an empty list means unrestricted.
  ASSERT_STATUS(Patch("/v1/workspaces/w1/members/bob",
                      {{"access", {{"products", "inherit"}}}, {"scope", {{"markets", json::array{}}}}}),
                200);
  bob = FindMember(Obj(Get("/v1/workspaces/w1/members")), "bob");
  EXPECT_FALSE(bob["access"].as_object().contains("products"));
  EXPECT_TRUE(bob["access"].as_object().contains("assets"));
  EXPECT_TRUE(bob["scope"].as_object()["markets"].as_array().empty());
  // A PATCH that changes nothing: events [] and the current version.
  HttpResult noop = Patch("/v1/workspaces/w1/members/bob", {{"role", "viewer"}});
  ASSERT_STATUS(noop, 200);
  EXPECT_TRUE(Obj(noop)["events"].as_array().empty());

  EXPECT_PROBLEM(Patch("/v1/workspaces/w1/members/bob", {{"role", "boss"}}), 422, "unknown_role");
  EXPECT_PROBLEM(Patch("/v1/workspaces/w1/members/bob", {{"access", {{"products", "superuser"}}}}), 422,
                 "invalid_access");
  EXPECT_PROBLEM(Patch("/v1/workspaces/w1/members/bob", {{"access", {{"products", 3}}}}), 422,
                 "invalid_field");
  EXPECT_PROBLEM(Patch("/v1/workspaces/w1/members/bob", {{"scope", {{"markets", "DE"}}}}), 422,
                 "invalid_field");
  EXPECT_PROBLEM(Patch("/v1/workspaces/w1/members/nobody", {{"role", "viewer"}}), 404, "not_found");
  // Rule 8, rule 9, rule 10, rule 1.
  EXPECT_PROBLEM(Patch("/v1/workspaces/w1/members/ana", {{"role", "viewer"}}, Ana()), 422,
                 "cannot_modify_self");
  EXPECT_PROBLEM(Delete("/v1/workspaces/w1/members/ana", Ana()), 422, "cannot_modify_self");
  EXPECT_PROBLEM(Patch("/v1/workspaces/w1/members/acme-owner", {{"role", "viewer"}}), 409,
                 "account_member_immutable");
  EXPECT_PROBLEM(Delete("/v1/workspaces/w1/members/acme-owner"), 409, "account_member_immutable");
  EXPECT_PROBLEM(Patch("/v1/workspaces/w1/members/ana", {{"role", "viewer"}}), 409, "last_admin");
  EXPECT_PROBLEM(Delete("/v1/workspaces/w1/members/ana"), 409, "last_admin");
  EXPECT_PROBLEM(Delete("/v1/workspaces/w1/members/ana", As("bob", EmailOf("bob"))), 403,
                 "forbidden");

  HttpResult removed = Delete("/v1/workspaces/w1/members/bob", Ana());
  ASSERT_STATUS(removed, 200);
  EXPECT_EQ(Obj(removed)["events"].as_array()[0].as_object()["type"], "MemberRemoved");
  EXPECT_TRUE(FindMember(Obj(Get("/v1/workspaces/w1/members")), "bob").empty());
  HttpResult check = Get("/v1/check?principal=bob&permission=products.view&workspace=w1");
  EXPECT_EQ(Obj(check)["allowed"], false);
}

TEST_F(Team, MemberListsPaginateWithOpaqueCursors) {
  for (int i = 0; i < 5; ++i) AddMember("w1", "m" + std::to_string(i), "viewer");
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    std::string target = "/v1/workspaces/w1/members?limit=2";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    HttpResult page = Get(target);
    ASSERT_STATUS(page, 200);
    json::object o = Obj(page);
    EXPECT_LE(o["members"].as_array().size(), 2u);
    for (const auto& m : o["members"].as_array()) seen.push_back(Str(m.as_object().at("user_id")));
    cursor = o["next_cursor"].is_null() ? "" : Str(o["next_cursor"]);
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen.size(), 6u);  // the owner + 5
  EXPECT_EQ(pages, 3);
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/members?limit=0"), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/members?limit=1001"), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/members?limit=ten"), 422, "invalid_field");
  HttpResult bad_cursor = Get("/v1/workspaces/w1/members?cursor=garbage!");
  EXPECT_PROBLEM(bad_cursor, 422, "invalid_field");
  EXPECT_NE(Str(Obj(bad_cursor)["detail"]).find("cursor"), std::string::npos);
  EXPECT_PROBLEM(Get("/v1/workspaces/nope/members"), 404, "not_found");
}

TEST_F(Team, ReadsOfTeamViewsNeedTeamView) {
  CreateWorkspace("acme", "shop", "orders");
  AddMember("shop", "rev", "reviewer");  // orders reviewer: no team.view
  AddMember("w1", "vic", "viewer");      // standard viewer: *.view
  HeaderList rev = Bearer(UserJwt("rev", EmailOf("rev")));
  HeaderList vic = Bearer(UserJwt("vic", EmailOf("vic")));
  for (const char* path : {"/v1/workspaces/shop/members", "/v1/workspaces/shop/invitations",
                           "/v1/workspaces/shop/invite-link", "/v1/workspaces/shop/partners"}) {
    EXPECT_PROBLEM(Get(path, rev), 403, "forbidden");
    EXPECT_PROBLEM(Get(path, vic), 403, "forbidden");  // vic has nothing in shop
  }
  EXPECT_STATUS(Get("/v1/workspaces/w1/members", vic), 200);
  EXPECT_STATUS(Get("/v1/workspaces/w1/invitations", vic), 200);
  EXPECT_STATUS(Get("/v1/workspaces/w1/partners", vic), 200);
  // The account owner reaches every workspace (account member).
  EXPECT_STATUS(Get("/v1/workspaces/shop/members", Bearer(UserJwt("acme-owner", EmailOf("acme-owner")))),
                200);
}

TEST_F(Team, InviteLinkLifecycle) {
  AddMember("w1", "ana", "admin");
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/invite-link"), 404, "not_found");
  // Rule 11: an admin-capable role needs confirm_admin.
  EXPECT_PROBLEM(Put("/v1/workspaces/w1/invite-link", {{"role", "admin"}}, Ana()), 422,
                 "admin_link_unconfirmed");
  EXPECT_PROBLEM(Put("/v1/workspaces/w1/invite-link", {{"role", "boss"}}, Ana()), 422, "unknown_role");
  EXPECT_PROBLEM(Put("/v1/workspaces/w1/invite-link", {{"role", "viewer"}, {"confirm_admin", "yes"}}),
                 422, "invalid_field");
  HttpResult created = Put("/v1/workspaces/w1/invite-link", {{"role", "viewer"}}, Ana());
  ASSERT_STATUS(created, 200);
  std::string token = Str(Obj(created)["token"]);
  EXPECT_FALSE(token.empty());
  EXPECT_EQ(Obj(created)["enabled"], true);
  EXPECT_EQ(Obj(created)["role"], "viewer");
  // Changing the role keeps the token (not returned).
  HttpResult changed = Put("/v1/workspaces/w1/invite-link", {{"role", "admin"}, {"confirm_admin", true}},
                           Ana());
  ASSERT_STATUS(changed, 200);
  EXPECT_FALSE(Obj(changed).contains("token"));
  EXPECT_EQ(Obj(changed)["events"].as_array()[0].as_object()["type"], "LinkRoleChanged");
  ASSERT_STATUS(Put("/v1/workspaces/w1/invite-link", {{"role", "editor"}}, Ana()), 200);
  HttpResult card = Get("/v1/workspaces/w1/invite-link");
  ASSERT_STATUS(card, 200);
  EXPECT_EQ(Obj(card)["role"], "editor");
  EXPECT_EQ(Obj(card)["enabled"], true);
  EXPECT_EQ(Obj(card)["created_by"], "ana");
  EXPECT_EQ(Str(Obj(card)["created_at"]).size(), 27u);
  EXPECT_EQ(card.body.find(token), std::string::npos);

  // Join (actor = the joining user); a second join adds nothing.
  HttpResult joined = Post("/v1/invite-links/join", {{"token", token}}, As("jo", EmailOf("jo")));
  ASSERT_STATUS(joined, 200);
  EXPECT_EQ(Obj(joined)["joined"], true);
  EXPECT_EQ(Obj(joined)["role"], "editor");
  EXPECT_EQ(Obj(joined)["workspace_id"], "w1");
  HttpResult again = Post("/v1/invite-links/join", {{"token", token}}, As("jo", EmailOf("jo")));
  ASSERT_STATUS(again, 200);
  EXPECT_EQ(Obj(again)["joined"], false);
  EXPECT_TRUE(Obj(again)["events"].as_array().empty());
  // Rule 12: the account owner joining adds no duplicate.
  HttpResult owner = Post("/v1/invite-links/join", {{"token", token}},
                          Bearer(UserJwt("acme-owner", EmailOf("acme-owner"))));
  ASSERT_STATUS(owner, 200);
  EXPECT_EQ(Obj(owner)["joined"], false);
  json::object jo = FindMember(Obj(Get("/v1/workspaces/w1/members")), "jo");
  EXPECT_EQ(jo["source"], "link");

  // Regenerate: the old token stops at once.
  HttpResult regen = Post("/v1/workspaces/w1/invite-link/regenerate", json::object{}, Ana());
  ASSERT_STATUS(regen, 200);
  std::string token2 = Str(Obj(regen)["token"]);
  EXPECT_NE(token2, token);
  EXPECT_PROBLEM(Post("/v1/invite-links/join", {{"token", token}}, As("kim", EmailOf("kim"))), 404,
                 "invalid_token");
  EXPECT_STATUS(Post("/v1/invite-links/join", {{"token", token2}}, As("kim", EmailOf("kim"))), 200);
  // Disable: the link stops; members keep access.
  HttpResult disabled = Delete("/v1/workspaces/w1/invite-link", Ana());
  ASSERT_STATUS(disabled, 200);
  EXPECT_EQ(Obj(disabled)["enabled"], false);
  EXPECT_PROBLEM(Post("/v1/invite-links/join", {{"token", token2}}, As("lu", EmailOf("lu"))), 404,
                 "invalid_token");
  EXPECT_EQ(Obj(Get("/v1/workspaces/w1/invite-link"))["enabled"], false);
  EXPECT_EQ(Obj(Get("/v1/check?principal=kim&permission=products.view&workspace=w1"))["allowed"], true);
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invite-link/regenerate", json::object{}), 404, "not_found");
  EXPECT_PROBLEM(Post("/v1/invite-links/join", {{"token", token2}}), 403, "forbidden");  // no user
}

}  // namespace
}  // namespace roster::testing
