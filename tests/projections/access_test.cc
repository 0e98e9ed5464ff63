// Access projection: each way of holding access, each way of losing it, the explanation,
// and as-of checks before and after every change.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "projections/engine.h"
#include "projections/json.h"
#include "tests/projections/ledger_builder.h"

namespace roster::projections {
namespace {

using testing::LedgerBuilder;
namespace ev = roster::events;

class AccessTest : public ::testing::Test {
 protected:
  AccessTest() : engine_(b_.store(), EngineOptions{.snapshots = false}) {}

  void SetUp() override {
    b_.Account("acme", "Acme", "ana", "ana@acme.io");             // 1
    b_.Workspace("acme", "w1", "Spring Catalogue");                // 2
    b_.Workspace("acme", "w2", "Orders", "orders", 72 * 3600);    // 3
    Sync();
  }

  void Sync() { ASSERT_TRUE(engine_.CatchUp().ok()); }

  bool Allowed(const std::string& user, const std::string& perm, const std::string& ws,
               Where where = {}, AsOf at = AsOf::Live()) {
    return engine_.Check(user, perm, ws, where, at).allowed;
  }

  LedgerBuilder b_;
  Engine engine_;
};

TEST_F(AccessTest, AccountOwnerReachesEveryWorkspaceWithReason) {
  Decision d = engine_.Check("ana", "billing.edit", "w1");
  ASSERT_TRUE(d.allowed);
  ASSERT_TRUE(d.reason);
  EXPECT_EQ(d.reason->via, Via::kAccountMember);
  EXPECT_EQ(d.reason->role, "owner");
  EXPECT_EQ(d.reason->granted_position, 1u);
  EXPECT_EQ(d.reason->granted_by, "service");
  EXPECT_EQ(d.reason->granted_at, testing::kStart + kMicrosPerSecond);
  EXPECT_EQ(d.position, 3u);
  EXPECT_TRUE(Allowed("ana", "orders.approve", "w2"));
  // A workspace created later is reached too.
  b_.Workspace("acme", "w3", "Later");
  Sync();
  EXPECT_TRUE(Allowed("ana", "team.manage", "w3"));
  // Unknown principal / workspace: denied, reason null.
  Decision none = engine_.Check("nobody", "team.view", "w1");
  EXPECT_FALSE(none.allowed);
  EXPECT_FALSE(none.reason);
  EXPECT_FALSE(Allowed("ana", "team.view", "nope"));
}

TEST_F(AccessTest, AccountRolesAdminAndViewer) {
  b_.AccountMember("acme", "al", "al@acme.io", "admin", "user:ana");
  b_.AccountMember("acme", "vi", "vi@acme.io", "viewer", "user:ana");
  Sync();
  EXPECT_TRUE(Allowed("al", "team.manage", "w1"));
  EXPECT_FALSE(Allowed("al", "billing.view", "w1"));
  EXPECT_FALSE(Allowed("al", "workspace.delete", "w1"));
  EXPECT_TRUE(Allowed("vi", "content.view", "w1"));
  EXPECT_FALSE(Allowed("vi", "content.edit", "w1"));
  Decision d = engine_.Check("al", "team.manage", "w2");
  EXPECT_EQ(d.reason->granted_by, "ana");
  // Role change at account level, then removal: closes in every workspace.
  uint64_t changed =
      b_.Append("acme", ev::AccountMemberRoleChanged{"vi", "viewer", "admin"}, "user:ana");
  Sync();
  EXPECT_TRUE(Allowed("vi", "content.edit", "w2"));
  EXPECT_EQ(engine_.Check("vi", "content.edit", "w1").reason->granted_position, changed);
  uint64_t removed = b_.Append("acme", ev::AccountMemberRemoved{"vi", "admin"}, "user:ana");
  Sync();
  EXPECT_FALSE(Allowed("vi", "content.view", "w1"));
  EXPECT_FALSE(Allowed("vi", "content.view", "w2"));
  EXPECT_TRUE(Allowed("vi", "content.view", "w1", {}, AsOf::Position(removed - 1)));
  EXPECT_FALSE(Allowed("vi", "content.edit", "w1", {}, AsOf::Position(changed - 1)));
  auto h = engine_.AccessHistory("w1", "vi");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->intervals.size(), 2u);
  EXPECT_EQ(h->intervals[0].role, "viewer");
  EXPECT_EQ(h->intervals[0].to_position, changed);
  EXPECT_EQ(h->intervals[1].role, "admin");
  EXPECT_EQ(h->intervals[1].to_position, removed);
  EXPECT_EQ(h->intervals[1].revoked_by, "ana");
}

TEST_F(AccessTest, WorkspaceMemberByInviteRoleOverridesScopeAndRemoval) {
  uint64_t joined = b_.Join("acme", "w1", "bo", "bo@acme.io", "editor");
  Sync();
  Decision d = engine_.Check("bo", "products.edit", "w1");
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.reason->via, Via::kWorkspaceMember);
  EXPECT_EQ(d.reason->role, "editor");
  EXPECT_EQ(d.reason->granted_position, joined);
  EXPECT_EQ(d.reason->granted_by, "bo");
  EXPECT_FALSE(Allowed("bo", "settings.edit", "w1"));
  EXPECT_FALSE(Allowed("bo", "products.edit", "w2"));  // other workspace

  uint64_t role = b_.Append("acme", ev::RoleChanged{"w1", "bo", "editor", "viewer"}, "user:ana");
  Sync();
  EXPECT_FALSE(Allowed("bo", "products.edit", "w1"));
  EXPECT_TRUE(Allowed("bo", "settings.view", "w1"));
  EXPECT_EQ(engine_.Check("bo", "settings.view", "w1").reason->granted_position, role);
  EXPECT_EQ(engine_.Check("bo", "settings.view", "w1").reason->granted_by, "ana");

  uint64_t access =
      b_.Append("acme", ev::AccessChanged{"w1", "bo", {{"products", "edit"}, {"settings", "none"}}},
                "user:ana");
  Sync();
  EXPECT_TRUE(Allowed("bo", "products.edit", "w1"));
  EXPECT_FALSE(Allowed("bo", "products.publish", "w1"));  // edit level: view + edit only
  EXPECT_FALSE(Allowed("bo", "settings.view", "w1"));     // none replaces the role's view
  EXPECT_TRUE(Allowed("bo", "content.view", "w1"));       // other modules keep the role

  uint64_t scope = b_.Append("acme", ev::ScopeChanged{"w1", "bo", {{"DE"}, {}, {}}}, "user:ana");
  Sync();
  EXPECT_FALSE(Allowed("bo", "products.edit", "w1"));  // market unspecified: denied
  EXPECT_TRUE(Allowed("bo", "products.edit", "w1", {.market = "DE"}));
  EXPECT_FALSE(Allowed("bo", "products.edit", "w1", {.market = "FR"}));
  // Overrides survive a scope change.
  EXPECT_FALSE(Allowed("bo", "settings.view", "w1", {.market = "DE"}));

  uint64_t removed = b_.Append("acme", ev::MemberRemoved{"w1", "bo", "viewer"}, "user:ana");
  Sync();
  EXPECT_FALSE(Allowed("bo", "content.view", "w1", {.market = "DE"}));

  // As of each step.
  EXPECT_FALSE(Allowed("bo", "products.edit", "w1", {}, AsOf::Position(joined - 1)));
  EXPECT_TRUE(Allowed("bo", "products.edit", "w1", {}, AsOf::Position(joined)));
  EXPECT_TRUE(Allowed("bo", "products.edit", "w1", {}, AsOf::Position(role - 1)));
  EXPECT_FALSE(Allowed("bo", "products.edit", "w1", {}, AsOf::Position(role)));
  EXPECT_TRUE(Allowed("bo", "products.edit", "w1", {}, AsOf::Position(access)));
  EXPECT_FALSE(Allowed("bo", "products.edit", "w1", {}, AsOf::Position(scope)));
  EXPECT_TRUE(Allowed("bo", "products.edit", "w1", {.market = "DE"}, AsOf::Position(scope)));
  EXPECT_FALSE(Allowed("bo", "products.edit", "w1", {.market = "DE"}, AsOf::Position(removed)));
  Decision past = engine_.Check("bo", "products.edit", "w1", {}, AsOf::Position(access));
  EXPECT_EQ(past.position, access);
  EXPECT_EQ(past.reason->granted_position, access);
  // By time: the clock moves 1 s per event.
  Micros t_joined = testing::kStart + static_cast<Micros>(joined) * kMicrosPerSecond;
  EXPECT_TRUE(Allowed("bo", "products.edit", "w1", {}, AsOf::Time(t_joined)));
  EXPECT_TRUE(Allowed("bo", "products.edit", "w1", {}, AsOf::Time(t_joined + 999'999)));
  EXPECT_FALSE(Allowed("bo", "products.edit", "w1", {}, AsOf::Time(t_joined - 1)));
  EXPECT_EQ(engine_.Check("bo", "products.edit", "w1", {}, AsOf::Time(t_joined - 1)).position,
            joined - 1);

  auto h = engine_.AccessHistory("w1", "bo");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->intervals.size(), 4u);
  EXPECT_EQ(h->intervals[0].role, "editor");
  EXPECT_EQ(h->intervals[0].from_position, joined);
  EXPECT_EQ(h->intervals[0].to_position, role);
  EXPECT_EQ(h->intervals[0].granted_by, "bo");
  EXPECT_EQ(h->intervals[0].revoked_by, "ana");
  EXPECT_EQ(h->intervals[2].access.at("products"), "edit");
  EXPECT_EQ(h->intervals[3].scope.markets, std::vector<std::string>{"DE"});
  EXPECT_EQ(h->intervals[3].to_position, removed);
  // History as of a past position shows the then-open interval as open.
  auto h_past = engine_.AccessHistory("w1", "bo", AsOf::Position(role));
  ASSERT_EQ(h_past->intervals.size(), 2u);
  EXPECT_FALSE(h_past->intervals[1].to_position);
}

TEST_F(AccessTest, LinkJoinAndDisabledLinkKeepsMembers) {
  b_.Append("acme", ev::LinkCreated{"w1", "viewer", ev::Bytes{"h"}}, "user:ana");
  uint64_t joined = b_.LinkJoin("acme", "w1", "cy", "cy@acme.io", "viewer");
  b_.Append("acme", ev::LinkDisabled{"w1"}, "user:ana");
  Sync();
  Decision d = engine_.Check("cy", "content.view", "w1");
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.reason->granted_position, joined);
  EXPECT_FALSE(Allowed("cy", "content.edit", "w1"));
}

TEST_F(AccessTest, CustomRolesAreVersionedForAsOfChecks) {
  uint64_t v1 = b_.Append("acme", ev::RoleDefined{"w1", "auditor", {"audit.view"}}, "user:ana");
  b_.Join("acme", "w1", "du", "du@acme.io", "auditor");
  uint64_t v2 =
      b_.Append("acme", ev::RoleDefined{"w1", "auditor", {"audit.view", "team.view"}}, "user:ana");
  Sync();
  EXPECT_TRUE(Allowed("du", "team.view", "w1"));
  EXPECT_FALSE(Allowed("du", "team.view", "w1", {}, AsOf::Position(v2 - 1)));
  EXPECT_TRUE(Allowed("du", "audit.view", "w1", {}, AsOf::Position(v2 - 1)));
  EXPECT_GT(v2, v1);
  auto ws = engine_.Workspace("w1");
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(ws->roles.at("auditor"), (policy::Patterns{"audit.view", "team.view"}));
  EXPECT_EQ(ws->roles.count("editor"), 1u);
  // Redefining a template role shadows it from then on.
  uint64_t shadow = b_.Append("acme", ev::RoleDefined{"w1", "viewer", {"content.view"}});
  b_.Join("acme", "w1", "vy", "vy@acme.io", "viewer");
  Sync();
  EXPECT_FALSE(Allowed("vy", "settings.view", "w1"));
  EXPECT_TRUE(Allowed("vy", "content.view", "w1"));
  EXPECT_GT(shadow, v2);
}

class PartnerTest : public AccessTest {
 protected:
  void SetUp() override {
    AccessTest::SetUp();
    b_.Account("dist", "Distributor", "pa", "pa@dist.io", "partner");
    b_.AccountMember("dist", "pu", "pu@dist.io", "viewer", "user:pa");
    invited_ = b_.Append("acme", ev::PartnerInvited{"w1", "p1", "dist", "view", {"s1", "s2"}},
                         "user:ana");
    Sync();
  }
  uint64_t invited_ = 0;
};

TEST_F(PartnerTest, EveryTransition) {
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s1"}));  // invited, not active
  uint64_t accepted = b_.Append("acme", ev::PartnerAccepted{"w1", "p1", "pa"}, "user:pa");
  Sync();
  Decision d = engine_.Check("pu", "assets.view", "w1", {.set = "s1"});
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.reason->via, Via::kPartner);
  EXPECT_EQ(d.reason->role, "view");
  EXPECT_EQ(d.reason->granted_position, accepted);
  EXPECT_EQ(d.reason->granted_by, "pa");
  EXPECT_TRUE(Allowed("pa", "products.view", "w1", {.set = "s2"}));
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1"));                   // no set: denied
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s9"}));    // unassigned set
  EXPECT_FALSE(Allowed("pu", "assets.download", "w1", {.set = "s1"}));  // level view
  EXPECT_FALSE(Allowed("pu", "assets.view", "w2", {.set = "s1"}));    // other workspace

  uint64_t level = b_.Append("acme", ev::PartnerAccessChanged{"w1", "p1", "view", "download"},
                             "user:ana");
  Sync();
  EXPECT_TRUE(Allowed("pu", "assets.download", "w1", {.set = "s1"}));
  EXPECT_FALSE(Allowed("pu", "assets.edit", "w1", {.set = "s1"}));
  EXPECT_EQ(engine_.Check("pu", "assets.view", "w1", {.set = "s1"}).reason->granted_position,
            level);

  uint64_t sets_revoked = b_.Append("acme", ev::PartnerSetsRevoked{"w1", "p1", {"s1"}}, "user:ana");
  uint64_t sets_assigned =
      b_.Append("acme", ev::PartnerSetsAssigned{"w1", "p1", {"s3"}}, "user:ana");
  Sync();
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s1"}));
  EXPECT_TRUE(Allowed("pu", "assets.view", "w1", {.set = "s3"}));

  uint64_t suspended = b_.Append("acme", ev::PartnerSuspended{"w1", "p1", "late"}, "user:ana");
  Sync();
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s2"}));
  auto partner = engine_.Partner("p1");
  ASSERT_TRUE(partner.ok());
  EXPECT_EQ(partner->status, "suspended");
  EXPECT_EQ(partner->access_level, "download");  // kept while suspended
  EXPECT_EQ(partner->sets, (std::vector<std::string>{"s2", "s3"}));

  uint64_t resumed = b_.Append("acme", ev::PartnerResumed{"w1", "p1", "paid"}, "user:ana");
  Sync();
  EXPECT_TRUE(Allowed("pu", "assets.download", "w1", {.set = "s2"}));
  EXPECT_EQ(engine_.Check("pu", "assets.view", "w1", {.set = "s2"}).reason->granted_position,
            resumed);

  // A partner account member who joins later: granted by their own membership.
  uint64_t newcomer = b_.AccountMember("dist", "px", "px@dist.io", "viewer", "user:pa");
  Sync();
  EXPECT_EQ(engine_.Check("px", "assets.view", "w1", {.set = "s2"}).reason->granted_position,
            newcomer);

  uint64_t revoked = b_.Append("acme", ev::PartnerRevoked{"w1", "p1", "over"}, "user:ana");
  Sync();
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s2"}));

  // As of every step.
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s1"}, AsOf::Position(accepted - 1)));
  EXPECT_TRUE(Allowed("pu", "assets.view", "w1", {.set = "s1"}, AsOf::Position(accepted)));
  EXPECT_FALSE(Allowed("pu", "assets.download", "w1", {.set = "s1"}, AsOf::Position(level - 1)));
  EXPECT_TRUE(Allowed("pu", "assets.download", "w1", {.set = "s1"}, AsOf::Position(level)));
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s1"}, AsOf::Position(sets_revoked)));
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s3"}, AsOf::Position(sets_revoked)));
  EXPECT_TRUE(Allowed("pu", "assets.view", "w1", {.set = "s3"}, AsOf::Position(sets_assigned)));
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s2"}, AsOf::Position(suspended)));
  EXPECT_TRUE(Allowed("pu", "assets.view", "w1", {.set = "s2"}, AsOf::Position(resumed)));
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s2"}, AsOf::Position(revoked)));

  // History: one interval per active stretch of the relationship, per grant.
  auto h = engine_.AccessHistory("w1", "pu");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->intervals.size(), 5u);  // accept, level, revoke sets, assign sets, resume
  EXPECT_EQ(h->intervals[0].via, Via::kPartner);
  EXPECT_EQ(h->intervals[0].from_position, accepted);
  EXPECT_EQ(h->intervals[0].to_position, level);
  EXPECT_EQ(h->intervals[3].to_position, suspended);
  EXPECT_EQ(h->intervals[4].from_position, resumed);
  EXPECT_EQ(h->intervals[4].to_position, revoked);
  EXPECT_EQ(h->intervals[4].partner_id, "p1");
  EXPECT_EQ(partner->history.size(), 6u);
  EXPECT_GT(invited_, 0u);
}

TEST_F(PartnerTest, RemovedPartnerAccountMemberLosesAccess) {
  b_.Append("acme", ev::PartnerAccepted{"w1", "p1", "pa"}, "user:pa");
  b_.Append("dist", ev::AccountMemberRemoved{"pu", "viewer"}, "user:pa");
  Sync();
  EXPECT_FALSE(Allowed("pu", "assets.view", "w1", {.set = "s1"}));
  EXPECT_TRUE(Allowed("pa", "assets.view", "w1", {.set = "s1"}));
}

TEST_F(AccessTest, SharedAccessWorkspaceAndAccountForms) {
  b_.Account("solo", "Solo", "sam", "sam@solo.io");
  uint64_t granted = b_.Append(
      "acme", ev::SharedAccessGranted{"sam", "solo", false, {"w1", "c9"}, false}, "user:ana");
  Sync();
  Decision d = engine_.CheckAccount("sam", "containers.edit", "acme", "c9");
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.reason->via, Via::kSharedAccess);
  EXPECT_EQ(d.reason->role, "shared");
  EXPECT_EQ(d.reason->granted_position, granted);
  EXPECT_FALSE(engine_.CheckAccount("sam", "containers.view", "acme", "c8").allowed);
  EXPECT_FALSE(engine_.CheckAccount("sam", "billing.view", "acme", "").allowed);
  EXPECT_TRUE(Allowed("sam", "containers.view", "w1"));
  EXPECT_FALSE(Allowed("sam", "containers.view", "w2"));
  EXPECT_FALSE(Allowed("sam", "content.view", "w1"));
  // The owner holds billing at account level through the account role.
  EXPECT_EQ(engine_.CheckAccount("ana", "billing.edit", "acme", "").reason->via,
            Via::kAccountMember);

  // Re-grant: all containers (including later ones) and billing.
  b_.Append("acme", ev::SharedAccessGranted{"sam", "solo", true, {}, true}, "user:ana");
  b_.Workspace("acme", "w9", "Later");
  Sync();
  EXPECT_TRUE(Allowed("sam", "containers.edit", "w9"));
  EXPECT_TRUE(engine_.CheckAccount("sam", "containers.view", "acme", "anything").allowed);
  EXPECT_EQ(engine_.CheckAccount("sam", "billing.edit", "acme", "").reason->role,
            "shared_billing");
  auto given = engine_.SharesGiven("acme");
  ASSERT_TRUE(given.ok());
  ASSERT_EQ(given->shares.size(), 1u);
  EXPECT_TRUE(given->shares[0].all_containers);
  EXPECT_EQ(engine_.SharesReceived("sam").shares.size(), 1u);

  uint64_t removed = b_.Append("acme", ev::SharedAccessRemoved{"sam"}, "user:ana");
  Sync();
  EXPECT_FALSE(engine_.CheckAccount("sam", "billing.view", "acme", "").allowed);
  EXPECT_TRUE(engine_.CheckAccount("sam", "billing.view", "acme", "", AsOf::Position(removed - 1))
                  .allowed);
  EXPECT_TRUE(engine_.SharesGiven("acme")->shares.empty());

  b_.Append("acme", ev::SharedAccessGranted{"sam", "solo", false, {"c1"}, false}, "user:ana");
  Sync();
  EXPECT_TRUE(engine_.CheckAccount("sam", "containers.view", "acme", "c1").allowed);
  b_.Append("acme", ev::SharedAccessRetired{"sam"}, "user:sam");
  Sync();
  EXPECT_FALSE(engine_.CheckAccount("sam", "containers.view", "acme", "c1").allowed);
}

TEST_F(AccessTest, PreferenceOrderWhenSeveralPathsAllow) {
  b_.Join("acme", "w1", "bo", "bo@acme.io", "editor");
  b_.AccountMember("acme", "bo", "bo@acme.io", "viewer", "user:ana");
  Sync();
  // Both allow content.view: account_member wins; only the workspace role allows edit.
  EXPECT_EQ(engine_.Check("bo", "content.view", "w1").reason->via, Via::kAccountMember);
  EXPECT_EQ(engine_.Check("bo", "content.edit", "w1").reason->via, Via::kWorkspaceMember);
  auto access = engine_.UserAccess("bo");
  int in_w1 = 0;
  for (const auto& w : access.workspaces) in_w1 += w.workspace_id == "w1";
  EXPECT_EQ(in_w1, 2);  // one entry per path
}

TEST_F(AccessTest, WhoHasAndUserAccess) {
  b_.Join("acme", "w1", "bo", "bo@acme.io", "editor");
  b_.Join("acme", "w2", "bo", "bo@acme.io", "approver");
  b_.Join("acme", "w2", "ru", "ru@acme.io", "reviewer", {}, {{"DE"}, {}, {}});
  b_.Join("acme", "w2", "rf", "rf@acme.io", "approver", {}, {{"FR"}, {}, {}});
  Sync();
  auto who = engine_.WhoHas("w2", "orders.approve");
  ASSERT_TRUE(who.ok());
  std::vector<std::string> ids;
  for (const auto& h : who->principals) ids.push_back(h.user_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"ana", "bo", "rf"}));
  auto de = engine_.WhoHas("w2", "orders.approve", {.market = "DE"});
  ids.clear();
  for (const auto& h : de->principals) ids.push_back(h.user_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"ana", "bo"}));
  EXPECT_FALSE(engine_.WhoHas("nope", "orders.approve").ok());

  UserAccessResult ua = engine_.UserAccess("bo");
  ASSERT_EQ(ua.workspaces.size(), 2u);
  EXPECT_EQ(ua.workspaces[0].workspace_id, "w1");
  EXPECT_EQ(ua.workspaces[0].role, "editor");
  EXPECT_EQ(ua.workspaces[1].role, "approver");
  EXPECT_EQ(ua.workspaces[1].account_id, "acme");
  auto& perms = ua.workspaces[1].permissions;
  EXPECT_NE(std::find(perms.begin(), perms.end(), "orders.approve"), perms.end());
  EXPECT_EQ(std::find(perms.begin(), perms.end(), "team.manage"), perms.end());
  auto json = boost::json::serialize(UserAccessToJson(ua));
  EXPECT_NE(json.find("\"via\":\"workspace_member\""), std::string::npos);
}

TEST_F(AccessTest, AccessReviewGainedLostChanged) {
  b_.Join("acme", "w1", "bo", "bo@acme.io", "editor");
  b_.Join("acme", "w1", "cy", "cy@acme.io", "viewer");
  Micros t1 = b_.Now();
  b_.Append("acme", ev::MemberRemoved{"w1", "cy", "viewer"}, "user:ana");
  b_.Append("acme", ev::RoleChanged{"w1", "bo", "editor", "admin"}, "user:ana");
  b_.Join("acme", "w1", "di", "di@acme.io", "viewer");
  Micros t2 = b_.Now();
  b_.Join("acme", "w1", "ed", "ed@acme.io", "viewer");  // after t2: not in the review
  Sync();
  auto r = engine_.AccessReview("w1", AsOf::Time(t1), AsOf::Time(t2));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->gained.size(), 1u);
  EXPECT_EQ(r->gained[0].user_id, "di");
  ASSERT_EQ(r->lost.size(), 1u);
  EXPECT_EQ(r->lost[0].user_id, "cy");
  EXPECT_EQ(r->lost[0].role, "viewer");
  ASSERT_EQ(r->changed.size(), 1u);
  EXPECT_EQ(r->changed[0].user_id, "bo");
  EXPECT_EQ(r->changed[0].from_role, "editor");
  EXPECT_EQ(r->changed[0].to_role, "admin");
}

// Every live answer recorded after each event equals the as-of answer at that position,
// asked at the end (by position and by time).
TEST_F(AccessTest, AsOfEqualsLiveAtEveryPosition) {
  std::vector<std::function<void()>> steps = {
      [&] { b_.Join("acme", "w1", "bo", "bo@acme.io", "editor"); },
      [&] { b_.Append("acme", ev::RoleDefined{"w1", "ops", {"products.*"}}); },
      [&] { b_.Append("acme", ev::RoleChanged{"w1", "bo", "editor", "ops"}); },
      [&] { b_.Append("acme", ev::AccessChanged{"w1", "bo", {{"assets", "manage"}}}); },
      [&] { b_.Append("acme", ev::ScopeChanged{"w1", "bo", {{}, {"s1"}, {}}}); },
      [&] { b_.Append("acme", ev::RoleDefined{"w1", "ops", {"products.view"}}); },
      [&] { b_.AccountMember("acme", "al", "al@acme.io", "admin"); },
      [&] { b_.Account("dist", "D", "pa", "pa@d.io", "partner"); },
      [&] { b_.Append("acme", ev::PartnerInvited{"w1", "p1", "dist", "edit", {"s1"}}); },
      [&] { b_.Append("acme", ev::PartnerAccepted{"w1", "p1", "pa"}); },
      [&] { b_.Append("acme", ev::SharedAccessGranted{"pa", "dist", true, {}, true}); },
      [&] { b_.Append("acme", ev::PartnerSuspended{"w1", "p1", ""}); },
      [&] { b_.Append("acme", ev::MemberRemoved{"w1", "bo", "ops"}); },
      [&] { b_.Append("acme", ev::AccountMemberRemoved{"al", "admin"}); },
      [&] { b_.Append("acme", ev::SharedAccessRetired{"pa"}); },
  };
  const std::vector<std::string> users = {"ana", "bo", "al", "pa", "zz"};
  const std::vector<std::string> perms = {"products.edit", "assets.edit", "products.view",
                                          "containers.view", "billing.view", "team.manage"};
  const std::vector<Where> wheres = {{}, {.set = "s1"}, {.market = "DE", .set = "s1"}};
  auto snapshot = [&](AsOf at) {
    std::string out;
    for (const auto& u : users) {
      for (const auto& p : perms) {
        for (const auto& w : wheres) {
          out += boost::json::serialize(DecisionToJson(engine_.Check(u, p, "w1", w, at)));
        }
        out += boost::json::serialize(
            DecisionToJson(engine_.CheckAccount(u, p, "acme", "c1", at)));
      }
      out += boost::json::serialize(UserAccessToJson(engine_.UserAccess(u, at)));
      out += boost::json::serialize(AccessHistoryToJson(*engine_.AccessHistory("w1", u, at)));
    }
    for (const auto& p : perms) {
      out += boost::json::serialize(WhoHasToJson(*engine_.WhoHas("w1", p, {}, at)));
    }
    return out;
  };
  std::vector<std::pair<uint64_t, std::string>> recorded;
  for (auto& step : steps) {
    step();
    Sync();
    recorded.emplace_back(engine_.position(), snapshot(AsOf::Live()));
  }
  for (const auto& [p, live] : recorded) {
    EXPECT_EQ(snapshot(AsOf::Position(p)), live) << "at position " << p;
    Micros t = testing::kStart + static_cast<Micros>(p) * kMicrosPerSecond;
    EXPECT_EQ(snapshot(AsOf::Time(t)), live) << "at time of position " << p;
  }
}

}  // namespace
}  // namespace roster::projections
