// Raw events, the SSE stream, the ledger head and verification, and erasure.
#include "tests/api/api_fixture.h"

namespace roster::testing {
namespace {

using namespace std::chrono_literals;

class Events : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure()) return;
    OpenAccount("acme");
    CreateWorkspace("acme", "w1");
  }
};

TEST_F(Events, EventsPageThroughTheLogAsEnvelopes) {
  for (int i = 0; i < 3; ++i) Invite("w1", "g" + std::to_string(i) + "@example.com", "viewer");
  HttpResult first = Get("/v1/events?limit=2");
  ASSERT_STATUS(first, 200);
  json::object page = Obj(first);
  ASSERT_EQ(page["events"].as_array().size(), 2u);
  json::object e1 = page["events"].as_array()[0].as_object();
  EXPECT_EQ(e1["position"], 1);
  EXPECT_EQ(e1["type"], "AccountOpened");
  EXPECT_EQ(e1["stream"], "account-acme");
  EXPECT_EQ(e1["version"], 1);
  EXPECT_EQ(Str(e1["hash"]).size(), 64u);
  EXPECT_EQ(Str(e1["prev_hash"]), std::string(64, '0'));
  EXPECT_TRUE(e1["payload"].is_object());
  EXPECT_EQ(page["position"], 5);
  EXPECT_EQ(page["next_from_position"], 3);
  ASSERT_FALSE(page["next_cursor"].is_null());
  HttpResult rest = Get("/v1/events?limit=1000&cursor=" + Str(page["next_cursor"]));
  ASSERT_STATUS(rest, 200);
  EXPECT_EQ(Obj(rest)["events"].as_array().size(), 3u);
  EXPECT_TRUE(Obj(rest)["next_cursor"].is_null());
  HttpResult from = Get("/v1/events?from_position=5");
  EXPECT_EQ(Obj(from)["events"].as_array().size(), 1u);
  HttpResult beyond = Get("/v1/events?from_position=99");
  ASSERT_STATUS(beyond, 200);
  EXPECT_TRUE(Obj(beyond)["events"].as_array().empty());
  EXPECT_PROBLEM(Get("/v1/events?from_position=0"), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/events?from_position=x"), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/events?limit=1001"), 422, "invalid_field");
  // Delegation keeps the service credential: allowed.
  EXPECT_STATUS(Get("/v1/events", As("ana", "ana@example.com")), 200);

  HttpResult head = Get("/v1/ledger/head");
  ASSERT_STATUS(head, 200);
  EXPECT_EQ(Obj(head)["position"], 5);
  EXPECT_EQ(Obj(head)["hash"], Obj(from)["events"].as_array()[0].as_object()["hash"]);
  HttpResult verify = Get("/v1/ledger/verify");
  ASSERT_STATUS(verify, 200);
  EXPECT_EQ(Obj(verify)["ok"], true);
  EXPECT_EQ(Obj(verify)["checked"], 5);
  EXPECT_EQ(Obj(verify)["head_hash"], Obj(head)["hash"]);
}

TEST_F(Events, StreamCatchesUpThenGoesLiveWithHeartbeatsAndResumes) {
  SseReader sse(server().port(), "/v1/events/stream?from_position=1", Service());
  ASSERT_TRUE(sse.connected());
  const auto& caught_up = sse.WaitForEvents(2, 10s);
  ASSERT_EQ(caught_up.size(), 2u);
  EXPECT_EQ(sse.status(), 200);
  EXPECT_EQ(caught_up[0].id, "1");
  EXPECT_EQ(caught_up[0].event, "AccountOpened");
  EXPECT_EQ(caught_up[1].id, "2");
  EXPECT_EQ(caught_up[1].event, "WorkspaceCreated");
  json::object data = json::parse(caught_up[1].data).as_object();
  EXPECT_EQ(data["position"], 2);
  EXPECT_EQ(data["stream"], "account-acme");

  // Live: a command appended now arrives with id = its position.
  json::object inv = Invite("w1", "bob@example.com", "viewer");
  uint64_t position = inv["position"].to_number<uint64_t>();
  const auto& live = sse.WaitForEvents(3, 10s);
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(live[2].id, std::to_string(position));
  EXPECT_EQ(live[2].event, "InviteSent");
  // Silence → a heartbeat comment (the test server beats every 300 ms).
  EXPECT_TRUE(sse.WaitForComment("heartbeat", 5s));

  // Last-Event-ID resumes after the last event seen.
  SseReader resumed(server().port(), "/v1/events/stream", With(Service(), "Last-Event-ID", "2"));
  const auto& after = resumed.WaitForEvents(1, 10s);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, "3");
  SseReader bad(server().port(), "/v1/events/stream", With(Service(), "Last-Event-ID", "banana"));
  bad.WaitForEnd(5s);
  EXPECT_EQ(bad.status(), 422);
  EXPECT_PROBLEM(Get("/v1/events/stream?from_position=abc"), 422, "invalid_field");
  EXPECT_PROBLEM(Get("/v1/events/stream", Bearer(UserJwt("u", "u@example.com"))), 403, "forbidden");

  // On shutdown the stream ends and the server exits cleanly.
  EXPECT_EQ(server().Terminate(), 0) << server().Log();
  EXPECT_TRUE(sse.WaitForEnd(5s));
}

TEST_F(Events, ErasureHidesTheAddressEverywhereAndTheChainStillVerifies) {
  AddMember("w1", "bob", "viewer");  // bob@example.com
  ASSERT_STATUS(Post("/v1/accounts/acme/members",
                     {{"user_id", "bob"}, {"email", "bob@example.com"}, {"role", "viewer"}}),
                201);
  Invite("w1", "carl@example.com", "viewer");
  uint64_t head_before = Head();

  HttpResult erased = Post("/v1/privacy/erase", {{"email", "BOB@example.com"}});
  ASSERT_STATUS(erased, 200);
  json::object e = Obj(erased);
  EXPECT_EQ(e["erased"], true);
  EXPECT_GE(e["subjects"].to_number<int64_t>(), 1);
  EXPECT_EQ(e["position"], head_before + 1);
  EXPECT_EQ(e["events"].as_array()[0].as_object()["type"], "SubjectErased");
  HttpResult unknown = Post("/v1/privacy/erase", {{"email", "nobody@example.com"}});
  ASSERT_STATUS(unknown, 200);
  EXPECT_EQ(Obj(unknown)["subjects"], 0);
  EXPECT_PROBLEM(Post("/v1/privacy/erase", {{"email", "not-an-email"}}), 422, "invalid_email");

  // Members (workspace and account), invitations, audit entries and exports.
  for (const auto& m : json::array(Obj(Get("/v1/workspaces/w1/members"))["members"].as_array())) {
    if (m.as_object().at("user_id") != "bob") continue;
    EXPECT_TRUE(m.as_object().at("email").is_null());
    EXPECT_EQ(m.as_object().at("email_erased"), true);
  }
  for (const auto& m : json::array(Obj(Get("/v1/accounts/acme"))["members"].as_array())) {
    if (m.as_object().at("user_id") != "bob") continue;
    EXPECT_TRUE(m.as_object().at("email").is_null());
    EXPECT_EQ(m.as_object().at("email_erased"), true);
  }
  HttpResult invitations = Get("/v1/workspaces/w1/invitations");
  EXPECT_EQ(invitations.body.find("bob@example.com"), std::string::npos) << invitations.body;
  EXPECT_NE(invitations.body.find("carl@example.com"), std::string::npos);
  EXPECT_NE(invitations.body.find("\"email_erased\":true"), std::string::npos);
  for (const char* path : {"/v1/audit?limit=1000", "/v1/audit/export?format=jsonl",
                           "/v1/audit/export?format=csv", "/v1/events?limit=1000",
                           "/v1/users/bob/activity"}) {
    HttpResult r = Get(path);
    ASSERT_STATUS(r, 200);
    EXPECT_EQ(r.body.find("bob@example.com"), std::string::npos) << path;
    EXPECT_EQ(r.body.find("BOB@example.com"), std::string::npos) << path;
  }
  EXPECT_NE(Get("/v1/audit?limit=1000").body.find("\"email_erased\":true"), std::string::npos);

  // Nothing was rewritten; the chain verifies; address rules still work by email key.
  HttpResult verify = Get("/v1/ledger/verify");
  EXPECT_EQ(Obj(verify)["ok"], true);
  EXPECT_EQ(Obj(verify)["checked"], head_before + 2);
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", {{"email", "bob@example.com"}, {"role", "viewer"}}),
                 409, "already_member");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", {{"email", "Carl@example.com"}, {"role", "viewer"}}),
                 409, "invite_pending");
}

}  // namespace
}  // namespace roster::testing
