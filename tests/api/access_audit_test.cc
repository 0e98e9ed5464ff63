// Access queries (live and as of the past), access reviews, the audit trail with filters,
// cursors and exports, a user's activity and notifications.
#include "tests/api/api_fixture.h"

namespace roster::testing {
namespace {

class AccessAudit : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure()) return;
    OpenAccount("acme");
    CreateWorkspace("acme", "w1");
  }
  std::string RecordedAt(uint64_t position) {
    HttpResult r = Get("/v1/events?from_position=" + std::to_string(position) + "&limit=1");
    return Str(Obj(r)["events"].as_array().at(0).as_object()["recorded_at"]);
  }
  uint64_t Pos(const HttpResult& r) { return Obj(r)["position"].to_number<uint64_t>(); }
};

TEST_F(AccessAudit, CheckExplainsWhyAndAnswersAsOfThePast) {
  AddMember("w1", "ana", "admin");
  uint64_t before_bob = Head();
  json::object inv = Invite("w1", "bob@example.com", "editor", As("ana", EmailOf("ana")));
  HttpResult accepted = Post("/v1/invitations/accept", {{"token", inv["token"]}},
                             As("bob", "bob@example.com"));
  ASSERT_STATUS(accepted, 200);
  uint64_t joined = Pos(accepted);

  HttpResult live = Get("/v1/check?principal=bob&permission=products.edit&workspace=w1");
  ASSERT_STATUS(live, 200);
  json::object d = Obj(live);
  EXPECT_EQ(d["allowed"], true);
  json::object why = d["reason"].as_object();
  EXPECT_EQ(why["via"], "workspace_member");
  EXPECT_EQ(why["role"], "editor");
  EXPECT_EQ(why["granted_position"], joined);
  EXPECT_EQ(Str(why["granted_at"]).size(), 27u);
  EXPECT_FALSE(Str(why["granted_by"]).empty());
  EXPECT_EQ(d["position"], joined);

  HttpResult denied = Get("/v1/check?principal=bob&permission=billing.view&workspace=w1");
  EXPECT_EQ(Obj(denied)["allowed"], false);
  EXPECT_TRUE(Obj(denied)["reason"].is_null());
  // Account members are allowed via account_member.
  HttpResult owner = Get("/v1/check?principal=acme-owner&permission=billing.edit&workspace=w1");
  EXPECT_EQ(Obj(owner)["reason"].as_object()["via"], "account_member");

  // Bob is removed; the past still says yes.
  HttpResult removed = Delete("/v1/workspaces/w1/members/bob");
  ASSERT_STATUS(removed, 200);
  EXPECT_EQ(Obj(Get("/v1/check?principal=bob&permission=products.edit&workspace=w1"))["allowed"], false);
  HttpResult at_joined = Get("/v1/check?principal=bob&permission=products.edit&workspace=w1&at_position=" +
                             std::to_string(joined));
  ASSERT_STATUS(at_joined, 200);
  EXPECT_EQ(Obj(at_joined)["allowed"], true);
  EXPECT_EQ(Obj(at_joined)["position"], joined);
  EXPECT_EQ(Obj(Get("/v1/check?principal=bob&permission=products.edit&workspace=w1&at_position=" +
                    std::to_string(joined - 1)))["allowed"],
            false);
  std::string t_joined = RecordedAt(joined);
  HttpResult at_time = Get("/v1/check?principal=bob&permission=products.edit&workspace=w1&at=" + t_joined);
  ASSERT_STATUS(at_time, 200);
  EXPECT_EQ(Obj(at_time)["allowed"], true);
  EXPECT_EQ(Obj(Get("/v1/check?principal=bob&permission=products.edit&workspace=w1&at=2001-01-01T00:00:00Z"))
                ["allowed"],
            false);

  // Parameter errors name the parameter.
  auto expect_param = [&](const std::string& query, const std::string& name) {
    HttpResult r = Get("/v1/check?" + query);
    EXPECT_PROBLEM(r, 422, "invalid_field");
    EXPECT_NE(Str(Obj(r)["detail"]).find(name), std::string::npos) << query << " " << r.body;
  };
  expect_param("permission=products.edit&workspace=w1", "principal");
  expect_param("principal=bob&workspace=w1", "permission");
  expect_param("principal=bob&permission=products.edit", "workspace");
  expect_param("principal=bob&permission=products&workspace=w1", "permission");
  expect_param("principal=bob&permission=products.edit&workspace=w1&at=yesterday", "at");
  expect_param("principal=bob&permission=products.edit&workspace=w1&at_position=-3", "at_position");
  expect_param("principal=bob&permission=products.edit&workspace=w1&at_position=3&at=" + t_joined,
               "at_position");
  expect_param("principal=bob&permission=products.edit&workspace=w1&account=acme", "account");

  // Users: their own checks always; others' only with team.view in the workspace.
  HeaderList bob = Bearer(UserJwt("bob", "bob@example.com"));
  HeaderList eve = Bearer(UserJwt("eve", "eve@example.com"));
  EXPECT_STATUS(Get("/v1/check?principal=bob&permission=products.edit&workspace=w1", bob), 200);
  EXPECT_PROBLEM(Get("/v1/check?principal=ana&permission=products.edit&workspace=w1", eve), 403,
                 "forbidden");
  EXPECT_STATUS(Get("/v1/check?principal=bob&permission=products.edit&workspace=w1",
                    Bearer(UserJwt("ana", EmailOf("ana")))),
                200);
  (void)before_bob;
}

TEST_F(AccessAudit, BulkChecksWhoHasUserAccessHistoryAndReview) {
  AddMember("w1", "ana", "admin");
  AddMember("w1", "bob", "editor");
  uint64_t p1 = Head();
  std::string t1 = RecordedAt(p1);
  ASSERT_STATUS(Patch("/v1/workspaces/w1/members/bob", {{"role", "viewer"}}), 200);
  AddMember("w1", "cy", "viewer");
  ASSERT_STATUS(Delete("/v1/workspaces/w1/members/ana"), 409);  // last admin stays
  ASSERT_STATUS(Patch("/v1/workspaces/w1/members/cy", {{"role", "admin"}}), 200);
  ASSERT_STATUS(Delete("/v1/workspaces/w1/members/ana"), 200);
  uint64_t p2 = Head();
  std::string t2 = RecordedAt(p2);

  // Bulk: answers in order, at one position.
  json::array checks;
  checks.push_back({{"principal", "bob"}, {"workspace", "w1"}, {"permission", "products.view"}});
  checks.push_back({{"principal", "bob"}, {"workspace", "w1"}, {"permission", "products.edit"}});
  checks.push_back({{"principal", "ana"}, {"workspace", "w1"}, {"permission", "team.manage"}});
  checks.push_back({{"principal", "cy"}, {"workspace", "w1"}, {"permission", "team.manage"},
                    {"market", "DE"}});
  HttpResult bulk = Post("/v1/check/bulk", {{"checks", checks}});
  ASSERT_STATUS(bulk, 200);
  json::array results = Obj(bulk)["results"].as_array();
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].as_object()["allowed"], true);
  EXPECT_EQ(results[1].as_object()["allowed"], false);
  EXPECT_EQ(results[2].as_object()["allowed"], false);
  EXPECT_EQ(results[3].as_object()["allowed"], true);
  EXPECT_EQ(Obj(bulk)["position"], p2);
  json::array too_many;
  for (int i = 0; i < 1001; ++i) {
    too_many.push_back({{"principal", "bob"}, {"workspace", "w1"}, {"permission", "products.view"}});
  }
  EXPECT_PROBLEM(Post("/v1/check/bulk", {{"checks", too_many}}), 422, "invalid_field");
  json::array bad;
  bad.push_back({{"principal", "bob"}, {"workspace", "w1"}, {"permission", "products.view"}});
  bad.push_back({{"principal", "bob"}, {"workspace", "w1"}});
  HttpResult bad_r = Post("/v1/check/bulk", {{"checks", bad}});
  EXPECT_PROBLEM(bad_r, 422, "invalid_field");
  EXPECT_NE(Str(Obj(bad_r)["detail"]).find("checks[1].permission"), std::string::npos) << bad_r.body;
  EXPECT_PROBLEM(Post("/v1/check/bulk", {{"checks", "all"}}), 422, "invalid_field");
  EXPECT_PROBLEM(Post("/v1/check/bulk", {{"checks", checks}}, Bearer(UserJwt("eve", "eve@example.com"))),
                 403, "forbidden");

  // Who holds a permission.
  HttpResult who = Get("/v1/workspaces/w1/access?permission=team.manage");
  ASSERT_STATUS(who, 200);
  std::vector<std::string> holders;
  for (const auto& h : json::array(Obj(who)["principals"].as_array())) holders.push_back(Str(h.as_object().at("user_id")));
  EXPECT_EQ(holders, (std::vector<std::string>{"acme-owner", "cy"}));
  HttpResult who_then = Get("/v1/workspaces/w1/access?permission=team.manage&at=" + t1);
  ASSERT_STATUS(who_then, 200);
  EXPECT_EQ(Obj(who_then)["principals"].as_array().size(), 2u);  // owner + ana
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/access"), 422, "invalid_field");

  // A user's access: themself or the service.
  HttpResult bob_access = Get("/v1/users/bob/access", Bearer(UserJwt("bob", EmailOf("bob"))));
  ASSERT_STATUS(bob_access, 200);
  json::object ws = Obj(bob_access)["workspaces"].as_array().at(0).as_object();
  EXPECT_EQ(ws["workspace_id"], "w1");
  EXPECT_EQ(ws["account_id"], "acme");
  EXPECT_EQ(ws["role"], "viewer");
  EXPECT_EQ(ws["via"], "workspace_member");
  EXPECT_FALSE(ws["permissions"].as_array().empty());
  HttpResult bob_then = Get("/v1/users/bob/access?at_position=" + std::to_string(p1));
  EXPECT_EQ(Obj(bob_then)["workspaces"].as_array().at(0).as_object()["role"], "editor");
  EXPECT_PROBLEM(Get("/v1/users/bob/access", Bearer(UserJwt("eve", "eve@example.com"))), 403,
                 "forbidden");

  // Access history: intervals of ana's grant.
  HttpResult history = Get("/v1/workspaces/w1/access-history?user_id=bob");
  ASSERT_STATUS(history, 200);
  json::array intervals = Obj(history)["intervals"].as_array();
  ASSERT_EQ(intervals.size(), 2u) << history.body;
  EXPECT_EQ(intervals[0].as_object()["role"], "editor");
  EXPECT_FALSE(intervals[0].as_object()["to_position"].is_null());
  EXPECT_EQ(intervals[1].as_object()["role"], "viewer");
  EXPECT_TRUE(intervals[1].as_object()["to_position"].is_null());
  HttpResult ana_history = Get("/v1/workspaces/w1/access-history?user_id=ana");
  json::object ana_iv = Obj(ana_history)["intervals"].as_array().at(0).as_object();
  EXPECT_FALSE(ana_iv["to_position"].is_null());
  EXPECT_FALSE(ana_iv["revoked_by"].is_null());
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/access-history"), 422, "invalid_field");
  EXPECT_STATUS(Get("/v1/workspaces/w1/access-history?user_id=bob", Bearer(UserJwt("bob", EmailOf("bob")))),
                200);
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/access-history?user_id=bob",
                     Bearer(UserJwt("eve", "eve@example.com"))),
                 403, "forbidden");

  // Access review between t1 and t2: cy gained, ana lost, bob changed.
  HttpResult review = Get("/v1/workspaces/w1/access-review?from=" + t1 + "&to=" + t2);
  ASSERT_STATUS(review, 200);
  json::object rv = Obj(review);
  ASSERT_EQ(rv["gained"].as_array().size(), 1u) << review.body;
  EXPECT_EQ(rv["gained"].as_array()[0].as_object()["user_id"], "cy");
  EXPECT_EQ(rv["gained"].as_array()[0].as_object()["role"], "admin");
  ASSERT_EQ(rv["lost"].as_array().size(), 1u);
  EXPECT_EQ(rv["lost"].as_array()[0].as_object()["user_id"], "ana");
  ASSERT_EQ(rv["changed"].as_array().size(), 1u);
  EXPECT_EQ(rv["changed"].as_array()[0].as_object()["user_id"], "bob");
  EXPECT_EQ(rv["changed"].as_array()[0].as_object()["from_role"], "editor");
  EXPECT_EQ(rv["changed"].as_array()[0].as_object()["to_role"], "viewer");
  HttpResult by_position = Get("/v1/workspaces/w1/access-review?from_position=" + std::to_string(p1) +
                               "&to_position=" + std::to_string(p2));
  EXPECT_EQ(Obj(by_position)["gained"], rv["gained"]);
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/access-review?from=" + t1), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/access-review?from=" + t2 + "&to=" + t1), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/access-review?from=x&to=" + t2), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/workspaces/nope/access-review?from=" + t1 + "&to=" + t2), 404, "not_found");
  // audit.view: a standard viewer has it (*.view); a stranger does not.
  EXPECT_STATUS(Get("/v1/workspaces/w1/access-review?from=" + t1 + "&to=" + t2,
                    Bearer(UserJwt("bob", EmailOf("bob")))),
                200);
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/access-review?from=" + t1 + "&to=" + t2,
                     Bearer(UserJwt("eve", "eve@example.com"))),
                 403, "forbidden");
}

TEST_F(AccessAudit, AuditFiltersCursorsAndExports) {
  AddMember("w1", "ana", "admin");
  CreateWorkspace("acme", "w2");
  ASSERT_STATUS(Post("/v1/workspaces/w2/invitations", {{"email", "zed@example.com"}, {"role", "viewer"}}),
                201);
  for (int i = 0; i < 3; ++i) {
    Invite("w1", "guest" + std::to_string(i) + "@example.com", "viewer", As("ana", EmailOf("ana")));
  }
  uint64_t head = Head();

  // Everything in log order.
  HttpResult all = Get("/v1/audit?limit=1000");
  ASSERT_STATUS(all, 200);
  json::array entries = Obj(all)["entries"].as_array();
  EXPECT_EQ(entries.size(), head);
  EXPECT_TRUE(Obj(all)["next_cursor"].is_null());
  EXPECT_EQ(Obj(all)["position"], head);
  json::object first = entries[0].as_object();
  for (const char* field : {"position", "recorded_at", "type", "actor", "subject", "account_id",
                            "workspace_id", "summary", "data", "hash"}) {
    EXPECT_TRUE(first.contains(field)) << field;
  }
  for (size_t i = 1; i < entries.size(); ++i) {
    EXPECT_LT(entries[i - 1].as_object()["position"].to_number<uint64_t>(),
              entries[i].as_object()["position"].to_number<uint64_t>());
  }

  // Filters.
  HttpResult by_type = Get("/v1/audit?type=InviteSent&workspace=w1");
  EXPECT_EQ(Obj(by_type)["entries"].as_array().size(), 4u) << by_type.body;  // ana + 3 guests
  HttpResult by_actor = Get("/v1/audit?actor=ana");
  EXPECT_EQ(Obj(by_actor)["entries"].as_array().size(), 4u);  // accepted + 3 invites
  HttpResult by_ws = Get("/v1/audit?workspace=w2");
  EXPECT_EQ(Obj(by_ws)["entries"].as_array().size(), 2u);  // created + invite
  HttpResult by_subject = Get("/v1/audit?subject=ana");
  EXPECT_GE(Obj(by_subject)["entries"].as_array().size(), 1u);
  HttpResult by_time = Get("/v1/audit?to=2001-01-01T00:00:00Z");
  EXPECT_TRUE(Obj(by_time)["entries"].as_array().empty());
  EXPECT_PROBLEM(Get("/v1/audit?type=Bogus"), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/audit?from=noon"), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/audit?limit=5000"), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/audit?cursor=zzz"), 422, "invalid_field");

  // Cursor pagination walks everything exactly once.
  std::vector<uint64_t> walked;
  std::string cursor;
  for (int pages = 0; pages < 20; ++pages) {
    HttpResult page = Get("/v1/audit?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_STATUS(page, 200);
    for (const auto& e : json::array(Obj(page)["entries"].as_array())) {
      walked.push_back(e.as_object().at("position").to_number<uint64_t>());
    }
    if (Obj(page)["next_cursor"].is_null()) break;
    cursor = Str(Obj(page)["next_cursor"]);
  }
  ASSERT_EQ(walked.size(), head);
  for (size_t i = 0; i < walked.size(); ++i) EXPECT_EQ(walked[i], i + 1);

  // Exports: JSON Lines and CSV, streamed.
  HttpResult jsonl = Get("/v1/audit/export?format=jsonl&workspace=w1");
  ASSERT_STATUS(jsonl, 200);
  EXPECT_EQ(jsonl.Header("content-type"), "application/x-ndjson");
  EXPECT_TRUE(jsonl.chunked);
  size_t lines = std::count(jsonl.body.begin(), jsonl.body.end(), '\n');
  EXPECT_EQ(lines, Obj(Get("/v1/audit?workspace=w1&limit=1000"))["entries"].as_array().size());
  json::value line0 = json::parse(jsonl.body.substr(0, jsonl.body.find('\n')));
  EXPECT_EQ(line0.as_object()["workspace_id"], "w1");
  HttpResult csv = Get("/v1/audit/export?format=csv");
  ASSERT_STATUS(csv, 200);
  EXPECT_EQ(csv.Header("content-type").rfind("text/csv", 0), 0u);
  EXPECT_EQ(csv.body.rfind("position,recorded_at,type", 0), 0u) << csv.body.substr(0, 100);
  EXPECT_EQ(static_cast<uint64_t>(std::count(csv.body.begin(), csv.body.end(), '\n')), head + 1);
  EXPECT_PROBLEM(Get("/v1/audit/export?format=xml"), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/audit/export?type=Nope"), 422, "invalid_field");

  // Users: only with audit.view, and only narrowed to a workspace or account.
  HeaderList ana = Bearer(UserJwt("ana", EmailOf("ana")));
  EXPECT_STATUS(Get("/v1/audit?workspace=w1", ana), 200);
  EXPECT_PROBLEM(Get("/v1/audit", ana), 403, "forbidden");
  EXPECT_PROBLEM(Get("/v1/audit?workspace=w2", ana), 403, "forbidden");
  EXPECT_PROBLEM(Get("/v1/audit?account=acme", ana), 403, "forbidden");
  EXPECT_STATUS(Get("/v1/audit?account=acme", Bearer(UserJwt("acme-owner", EmailOf("acme-owner")))), 200);
  EXPECT_STATUS(Get("/v1/audit/export?workspace=w1", ana), 200);
  EXPECT_PROBLEM(Get("/v1/audit/export", ana), 403, "forbidden");
}

TEST_F(AccessAudit, ActivityAndNotifications) {
  AddMember("w1", "ana", "admin");
  Invite("w1", "bob@example.com", "viewer", As("ana", EmailOf("ana")));
  HttpResult activity = Get("/v1/users/ana/activity");
  ASSERT_STATUS(activity, 200);
  json::array done = Obj(activity)["entries"].as_array();
  ASSERT_EQ(done.size(), 2u) << activity.body;  // accepted her invitation, invited bob
  EXPECT_EQ(done[0].as_object()["type"], "InviteSent");  // newest first
  EXPECT_EQ(done[1].as_object()["type"], "InviteAccepted");
  EXPECT_STATUS(Get("/v1/users/ana/activity", Bearer(UserJwt("ana", EmailOf("ana")))), 200);
  EXPECT_PROBLEM(Get("/v1/users/ana/activity", Bearer(UserJwt("bob", "bob@example.com"))), 403,
                 "forbidden");
  EXPECT_PROBLEM(Get("/v1/users/ana/activity?limit=-1"), 422, "invalid_field");

  ASSERT_STATUS(Patch("/v1/workspaces/w1/members/ana", {{"role", "editor"}}), 409);  // last admin
  AddMember("w1", "cy", "admin");
  ASSERT_STATUS(Patch("/v1/workspaces/w1/members/ana", {{"role", "editor"}}), 200);
  HttpResult notes = Get("/v1/users/ana/notifications", Bearer(UserJwt("ana", EmailOf("ana"))));
  ASSERT_STATUS(notes, 200);
  json::array list = Obj(notes)["notifications"].as_array();
  ASSERT_FALSE(list.empty()) << notes.body;
  for (const char* field : {"position", "kind", "text", "recorded_at"}) {
    EXPECT_TRUE(list[0].as_object().contains(field)) << field;
  }
  EXPECT_TRUE(Obj(notes).contains("position"));
  EXPECT_PROBLEM(Get("/v1/users/ana/notifications", Bearer(UserJwt("cy", EmailOf("cy")))), 403,
                 "forbidden");
}

}  // namespace
}  // namespace roster::testing
