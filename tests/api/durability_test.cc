// Restarts and crashes: nothing acknowledged is lost, idempotent repeats survive a
// restart, and the projections after a crash equal the ones rebuilt and reloaded.
#include <signal.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "tests/api/api_fixture.h"

namespace roster::testing {
namespace {

using namespace std::chrono_literals;

class Durability : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure()) return;
    OpenAccount("acme");
    CreateWorkspace("acme", "w1");
  }

  // Every invitation of w1 (all pages), as one JSON array.
  json::array AllInvitations() {
    json::array all;
    std::string cursor;
    for (int pages = 0; pages < 1000; ++pages) {
      HttpResult r = Get("/v1/workspaces/w1/invitations?limit=1000" +
                         (cursor.empty() ? "" : "&cursor=" + cursor));
      EXPECT_STATUS(r, 200);
      json::object o = Obj(r);
      for (auto& i : o["invitations"].as_array()) all.push_back(i);
      if (!o["next_cursor"].is_string()) break;
      cursor = Str(o["next_cursor"]);
    }
    return all;
  }
};

TEST_F(Durability, GracefulRestartLosesNothingAndRepeatsStillAnswerTheFirstResponse) {
  AddMember("w1", "ana", "admin");
  HeaderList keyed = With(As("ana", EmailOf("ana")), "Idempotency-Key", "restart-key");
  json::object body{{"email", "bob@example.com"}, {"role", "editor"}};
  HttpResult first = Post("/v1/workspaces/w1/invitations", body, keyed);
  ASSERT_STATUS(first, 201);
  HttpResult link = Put("/v1/workspaces/w1/invite-link", {{"role", "viewer"}});
  ASSERT_STATUS(link, 200);
  uint64_t head = Head();
  std::string members = Get("/v1/workspaces/w1/members").body;
  std::string invitations = Get("/v1/workspaces/w1/invitations").body;
  std::string audit = Get("/v1/audit?limit=1000").body;

  ASSERT_TRUE(Restart()) << server().Log();
  EXPECT_EQ(Head(), head);
  EXPECT_EQ(Get("/v1/workspaces/w1/members").body, members);
  EXPECT_EQ(Get("/v1/workspaces/w1/invitations").body, invitations);
  EXPECT_EQ(Get("/v1/audit?limit=1000").body, audit);
  // The repeat after the restart: the first response, token included; nothing appended.
  HttpResult repeat = Post("/v1/workspaces/w1/invitations", body, keyed);
  ASSERT_STATUS(repeat, 201);
  EXPECT_EQ(repeat.Json(), first.Json());
  EXPECT_EQ(Head(), head);
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", {{"email", "x@example.com"}, {"role", "viewer"}},
                      keyed),
                 422, "idempotency_key_reused");
  // Tokens issued before the restart still work; new commands append after the head.
  EXPECT_STATUS(Post("/v1/invite-links/join", {{"token", Obj(link)["token"]}}, As("jo", EmailOf("jo"))),
                200);
  HttpResult accepted = Post("/v1/invitations/accept", {{"token", Obj(first)["token"]}},
                             As("bob", "bob@example.com"));
  ASSERT_STATUS(accepted, 200);
  EXPECT_EQ(Obj(accepted)["position"], head + 2);
  EXPECT_EQ(Obj(Get("/v1/ledger/verify"))["ok"], true);
}

TEST_F(Durability, KillDashNineUnderLoadKeepsEveryAcknowledgedCommand) {
  struct Ack {
    std::string invitation_id;
    uint64_t position;
  };
  std::mutex mu;
  std::vector<Ack> acks;
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::vector<std::thread> threads;
  const uint16_t port = server().port();
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(port, "127.0.0.1", 10s);
      for (int i = 0; !stop.load(); ++i) {
        json::object body{{"email", "t" + std::to_string(t) + "-" + std::to_string(i) + "@example.com"},
                          {"role", "viewer"}};
        HeaderList h = Service();
        h.emplace_back("Content-Type", "application/json");
        HttpResult r = c.Request("POST", "/v1/workspaces/w1/invitations", json::serialize(body), h);
        if (r.status == 0) {
          if (stop.load()) return;
          std::this_thread::sleep_for(5ms);
          continue;
        }
        ++sent;
        if (r.status == 201) {
          json::object o = Obj(r);
          std::lock_guard lock(mu);
          acks.push_back({Str(o["invitation_id"]), o["position"].to_number<uint64_t>()});
        }
      }
    });
  }
  // Let the load run, then kill -9 in the middle of it.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (sent.load() < 60 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  server().Signal(SIGKILL);
  std::this_thread::sleep_for(50ms);
  stop = true;
  for (auto& t : threads) t.join();
  std::vector<Ack> acknowledged;
  {
    std::lock_guard lock(mu);
    acknowledged = acks;
  }
  ASSERT_GE(acknowledged.size(), 30u);

  ASSERT_TRUE(KillAndRestart()) << server().Log();
  EXPECT_STATUS(Get("/ready", {}), 200);
  HttpResult verify = Get("/v1/ledger/verify");
  ASSERT_STATUS(verify, 200);
  EXPECT_EQ(Obj(verify)["ok"], true) << verify.body;
  uint64_t head = Head();
  EXPECT_EQ(Obj(verify)["checked"], head);

  // Every acknowledged command is in the log at its position and in the views.
  json::array invitations = AllInvitations();
  std::set<std::string> listed;
  for (const auto& i : invitations) listed.insert(Str(i.as_object().at("invitation_id")));
  for (const Ack& a : acknowledged) {
    EXPECT_TRUE(listed.count(a.invitation_id)) << a.invitation_id;
    EXPECT_LE(a.position, head);
    HttpResult e = Get("/v1/events?from_position=" + std::to_string(a.position) + "&limit=1");
    json::object ev = Obj(e)["events"].as_array().at(0).as_object();
    EXPECT_EQ(ev["type"], "InviteSent");
    EXPECT_EQ(Str(ev["payload"].as_object()["invitation_id"]), a.invitation_id);
  }

  // The views after the crash (rebuilt from the log) equal the views after a clean
  // restart (loaded from the final snapshot).
  std::string members = Get("/v1/workspaces/w1/members").body;
  std::string audit_tail = Get("/v1/audit?workspace=w1&limit=1000").body;
  ASSERT_TRUE(Restart()) << server().Log();
  EXPECT_EQ(AllInvitations(), invitations);
  EXPECT_EQ(Get("/v1/workspaces/w1/members").body, members);
  EXPECT_EQ(Get("/v1/audit?workspace=w1&limit=1000").body, audit_tail);
  EXPECT_EQ(Head(), head);
  // And the ledger keeps working.
  EXPECT_STATUS(Post("/v1/workspaces/w1/invitations", {{"email", "after@example.com"}, {"role", "viewer"}}),
                201);
}

}  // namespace
}  // namespace roster::testing
