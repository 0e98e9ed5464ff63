// Team views: members, invitations (derived expiry), the invite link card, partners,
// shares, account and workspace detail, notifications; erasure shows everywhere.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "projections/engine.h"
#include "projections/json.h"
#include "tests/projections/ledger_builder.h"

namespace roster::projections {
namespace {

using testing::LedgerBuilder;
namespace ev = roster::events;
namespace json = boost::json;

constexpr Micros kDay = 24 * 3600 * kMicrosPerSecond;

class TeamTest : public ::testing::Test {
 protected:
  TeamTest() : engine_(b_.store(), EngineOptions{.snapshots = false}) {}

  void SetUp() override {
    b_.Account("acme", "Acme", "ana", "ana@acme.io");
    b_.Workspace("acme", "w1", "Spring Catalogue");
  }
  void Sync() { ASSERT_TRUE(engine_.CatchUp().ok()); }

  LedgerBuilder b_;
  Engine engine_;
};

TEST_F(TeamTest, MembersListsAccountAndWorkspaceMembersWithSources) {
  b_.AccountMember("acme", "al", "al@acme.io", "admin", "user:ana");
  uint64_t bo = b_.Join("acme", "w1", "bo", "bo@acme.io", "editor", {{"products", "view"}},
                        {{"DE"}, {}, {}});
  uint64_t cy = b_.LinkJoin("acme", "w1", "cy", "cy@acme.io", "viewer");
  b_.Join("acme", "w1", "gone", "gone@acme.io", "viewer");
  b_.Append("acme", ev::MemberRemoved{"w1", "gone", "viewer"}, "user:ana");
  Sync();
  auto m = engine_.Members("w1");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->members.size(), 4u);
  EXPECT_EQ(m->members[0].user_id, "ana");
  EXPECT_EQ(m->members[0].source, "account");
  EXPECT_EQ(m->members[0].role, "owner");
  EXPECT_EQ(m->members[0].email.email, "ana@acme.io");
  EXPECT_EQ(m->members[1].user_id, "al");
  EXPECT_EQ(m->members[2].user_id, "bo");
  EXPECT_EQ(m->members[2].source, "invite");
  EXPECT_EQ(m->members[2].joined_position, bo);
  EXPECT_EQ(m->members[2].access.at("products"), "view");
  EXPECT_EQ(m->members[2].scope.markets, std::vector<std::string>{"DE"});
  EXPECT_EQ(m->members[3].source, "link");
  EXPECT_EQ(m->members[3].joined_position, cy);
  EXPECT_EQ(m->position, engine_.position());

  json::object o = MembersToJson(*m);
  const auto& first = o.at("members").as_array()[0].as_object();
  EXPECT_EQ(first.at("email").as_string(), "ana@acme.io");
  EXPECT_EQ(first.at("email_erased").as_bool(), false);
  EXPECT_TRUE(first.at("joined_at").as_string().ends_with("Z"));
  EXPECT_TRUE(o.at("next_cursor").is_null());

  // Pagination by cursor covers everyone once.
  auto p1 = engine_.Members("w1", {.limit = 3});
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->members.size(), 3u);
  ASSERT_TRUE(p1->next_cursor);
  auto p2 = engine_.Members("w1", {.limit = 3, .cursor = *p1->next_cursor});
  ASSERT_EQ(p2->members.size(), 1u);
  EXPECT_EQ(p2->members[0].user_id, "cy");
  EXPECT_FALSE(p2->next_cursor);
  EXPECT_EQ(engine_.Members("w1", {.cursor = "garbage!"}).status().code(),
            ErrorCode::kInvalidField);
  EXPECT_EQ(engine_.Members("nope").status().code(), ErrorCode::kNotFound);
}

TEST_F(TeamTest, InvitationsDeriveStatusAndNeverShowTokens) {
  Micros now = b_.Now();
  b_.Invite("acme", "w1", "i1", "bo@acme.io", "editor", now + 7 * kDay, "user:ana");
  b_.Invite("acme", "w1", "i2", "cy@acme.io", "viewer", now + 2 * kDay, "user:ana");
  b_.Invite("acme", "w1", "i3", "di@acme.io", "viewer", now + 7 * kDay, "user:ana");
  b_.Invite("acme", "w1", "i4", "ed@acme.io", "viewer", now + 1 * kDay, "user:ana");
  b_.Append("acme", ev::InviteCancelled{"w1", "i3"}, "user:ana");
  b_.Join("acme", "w1", "bo", "bo@acme.io", "editor", {}, {}, "i1");
  b_.Invite("acme", "w1", "i5", "ed@acme.io", "viewer", now + 9 * kDay, "user:ana");
  b_.Append("acme", ev::InviteSuperseded{"w1", "i4", "i5"}, "user:ana");
  Sync();

  Micros later = now + 3 * kDay;  // i2 expired
  auto all = engine_.Invitations("w1", InviteStatusFilter::kAll, later);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->invitations.size(), 5u);
  std::map<std::string, std::string> status;
  for (const auto& v : all->invitations) status[v.invitation_id] = v.status;
  EXPECT_EQ(status["i1"], "accepted");
  EXPECT_EQ(status["i2"], "expired");
  EXPECT_EQ(status["i3"], "cancelled");
  EXPECT_EQ(status["i4"], "superseded");
  EXPECT_EQ(status["i5"], "pending");

  auto pending = engine_.Invitations("w1", InviteStatusFilter::kPending, later);
  ASSERT_EQ(pending->invitations.size(), 1u);
  EXPECT_EQ(pending->invitations[0].invitation_id, "i5");
  EXPECT_EQ(pending->invitations[0].email.email, "ed@acme.io");
  EXPECT_EQ(pending->invitations[0].invited_by, "ana");
  auto expired = engine_.Invitations("w1", InviteStatusFilter::kExpired, later);
  ASSERT_EQ(expired->invitations.size(), 1u);
  EXPECT_EQ(expired->invitations[0].invitation_id, "i2");
  // Before the expiry, i2 is pending.
  EXPECT_EQ(engine_.Invitations("w1", InviteStatusFilter::kPending, now)->invitations.size(), 2u);

  // Resend moves sent_at and the expiry: i2 is pending again at `later`.
  b_.Append("acme", ev::InviteResent{"w1", "i2", ev::Bytes{"h2"}, later + kDay}, "user:ana");
  Sync();
  auto i2 = engine_.Invitation("i2", later);
  ASSERT_TRUE(i2.ok());
  EXPECT_EQ(i2->status, "pending");
  EXPECT_EQ(i2->expires_at, later + kDay);
  EXPECT_GT(i2->sent_at, i2->first_sent_at);

  std::string text = json::serialize(InvitationsToJson(*all));
  EXPECT_EQ(text.find("token"), std::string::npos);
  json::object first = InvitationToJson(all->invitations[0]);
  for (const char* field : {"invitation_id", "email", "role", "access", "scope", "status",
                            "invited_by", "sent_at", "expires_at"}) {
    EXPECT_TRUE(first.contains(field)) << field;
  }
  InviteStatusFilter f;
  EXPECT_TRUE(ParseInviteStatus("expired", &f));
  EXPECT_EQ(f, InviteStatusFilter::kExpired);
  EXPECT_FALSE(ParseInviteStatus("bogus", &f));
}

// A page starts where its cursor points (a binary search into the workspace's list), and
// following the cursors, with or without a status filter, yields the unpaged list exactly.
TEST_F(TeamTest, InvitationPagesFollowTheirCursorsAcrossStatuses) {
  b_.Workspace("acme", "w2", "Autumn Catalogue");
  Micros now = b_.Now();
  std::vector<uint64_t> w1_positions;
  uint64_t between = 0;  // a position of w2, which no w1 invitation has
  for (int i = 0; i < 30; ++i) {
    std::string id = "i" + std::to_string(i);
    w1_positions.push_back(b_.Invite("acme", "w1", id, id + "@acme.io", "viewer",
                                     now + 7 * kDay, "user:ana"));
    uint64_t p = b_.Invite("acme", "w2", "o" + std::to_string(i), id + "@acme.io", "viewer",
                           now + 7 * kDay, "user:ana");
    if (i == 11) between = p;
    if (i % 3 == 0) b_.Append("acme", ev::InviteCancelled{"w1", id}, "user:ana");
  }
  Sync();

  auto ids_of = [&](InviteStatusFilter filter, size_t limit, std::string cursor) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = engine_.Invitations("w1", filter, now, {.limit = limit, .cursor = cursor});
      EXPECT_TRUE(page.ok());
      if (!page.ok()) break;
      EXPECT_LE(page->invitations.size(), limit);
      for (const auto& v : page->invitations) ids.push_back(v.invitation_id);
      if (!page->next_cursor) break;
      cursor = *page->next_cursor;
    }
    return ids;
  };
  for (InviteStatusFilter filter :
       {InviteStatusFilter::kAll, InviteStatusFilter::kPending, InviteStatusFilter::kCancelled}) {
    auto whole = engine_.Invitations("w1", filter, now, {.limit = 1000});
    ASSERT_TRUE(whole.ok());
    std::vector<std::string> expected;
    for (const auto& v : whole->invitations) expected.push_back(v.invitation_id);
    EXPECT_EQ(expected.size(), filter == InviteStatusFilter::kAll         ? 30u
                               : filter == InviteStatusFilter::kPending ? 20u
                                                                        : 10u);
    for (size_t limit : {1u, 4u, 7u, 30u}) {
      EXPECT_EQ(ids_of(filter, limit, ""), expected) << "limit " << limit;
    }
  }
  // A cursor at a position between two of w1's invitations starts at the next one; one past
  // the last gives an empty page.
  auto from_between = ids_of(InviteStatusFilter::kAll, 5, EncodeCursor(between));
  ASSERT_FALSE(from_between.empty());
  EXPECT_EQ(from_between.front(), "i12");
  EXPECT_EQ(from_between.size(), 18u);
  auto past = engine_.Invitations("w1", InviteStatusFilter::kAll, now,
                                  {.cursor = EncodeCursor(w1_positions.back() + 1)});
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->invitations.empty());
  EXPECT_FALSE(past->next_cursor);
}

TEST_F(TeamTest, InviteLinkCard) {
  Sync();
  EXPECT_EQ(engine_.InviteLink("w1").status().code(), ErrorCode::kNotFound);
  b_.Append("acme", ev::LinkCreated{"w1", "viewer", ev::Bytes{"h"}}, "user:ana");
  Micros created = b_.Now();
  b_.Append("acme", ev::LinkRoleChanged{"w1", "viewer", "editor"}, "user:ana");
  b_.Append("acme", ev::LinkRegenerated{"w1", ev::Bytes{"h2"}}, "user:ana");
  b_.LinkJoin("acme", "w1", "cy", "cy@acme.io", "editor");
  Sync();
  auto link = engine_.InviteLink("w1");
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->role, "editor");
  EXPECT_TRUE(link->enabled);
  EXPECT_EQ(link->created_at, created);
  EXPECT_EQ(link->created_by, "ana");
  b_.Append("acme", ev::LinkDisabled{"w1"}, "user:ana");
  Sync();
  EXPECT_FALSE(engine_.InviteLink("w1")->enabled);
  json::object o = LinkToJson(*engine_.InviteLink("w1"));
  EXPECT_FALSE(o.contains("token"));
  EXPECT_EQ(o.at("enabled").as_bool(), false);
  // Members who joined by link keep their access.
  EXPECT_EQ(engine_.Members("w1")->members.back().user_id, "cy");
}

TEST_F(TeamTest, PartnersListAndDetailWithHistory) {
  b_.Account("dist", "Distributor", "pa", "pa@dist.io", "partner");
  b_.Append("acme", ev::PartnerInvited{"w1", "p1", "dist", "view", {"s1"}}, "user:ana");
  b_.Append("acme", ev::PartnerAccepted{"w1", "p1", "pa"}, "user:pa");
  b_.Append("acme", ev::PartnerSuspended{"w1", "p1", "late payment"}, "user:ana");
  Sync();
  auto list = engine_.Partners("w1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->partners.size(), 1u);
  const PartnerView& p = list->partners[0];
  EXPECT_EQ(p.partner_id, "p1");
  EXPECT_EQ(p.partner_account_id, "dist");
  EXPECT_EQ(p.status, "suspended");
  ASSERT_EQ(p.history.size(), 3u);
  json::object o = PartnerToJson(p);
  const auto& last = o.at("history").as_array()[2].as_object();
  EXPECT_EQ(last.at("type").as_string(), "PartnerSuspended");
  EXPECT_EQ(last.at("reason").as_string(), "late payment");
  EXPECT_EQ(last.at("actor").as_string(), "user:ana");
  EXPECT_TRUE(last.contains("at"));
  EXPECT_FALSE(last.contains("partner_id"));
  EXPECT_EQ(engine_.Partner("zz").status().code(), ErrorCode::kNotFound);
}

TEST_F(TeamTest, AccountAndWorkspaceDetail) {
  b_.AccountMember("acme", "al", "al@acme.io", "admin");
  b_.Workspace("acme", "w2", "Orders", "orders", 72 * 3600);
  Sync();
  auto a = engine_.Account("acme");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name, "Acme");
  EXPECT_EQ(a->plan, "standard");
  EXPECT_EQ(a->region, "eu");
  ASSERT_EQ(a->members.size(), 2u);
  EXPECT_EQ(a->members[1].role, "admin");
  ASSERT_EQ(a->workspaces.size(), 2u);
  EXPECT_EQ(a->workspaces[1].template_name, "orders");
  auto w = engine_.Workspace("w2");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->invite_ttl_seconds, 72 * 3600);
  EXPECT_EQ(w->roles.size(), 3u);
  EXPECT_EQ(w->roles.at("reviewer").front(), "orders.view");
  json::object wj = WorkspaceToJson(*w);
  EXPECT_EQ(wj.at("template").as_string(), "orders");
  EXPECT_EQ(engine_.Account("nope").status().code(), ErrorCode::kNotFound);
}

TEST_F(TeamTest, NotificationsPerUser) {
  b_.Account("dist", "Distributor", "pa", "pa@dist.io", "partner");
  // Invited before the user is known: attached through the email key.
  b_.Invite("acme", "w1", "i1", "bo@acme.io", "editor", b_.Now() + kDay, "user:ana");
  b_.Join("acme", "w1", "bo", "bo@acme.io", "editor", {}, {}, "i1");
  b_.Append("acme", ev::RoleChanged{"w1", "bo", "editor", "viewer"}, "user:ana");
  b_.Append("acme", ev::PartnerInvited{"w1", "p1", "dist", "view", {"s1"}}, "user:ana");
  b_.Append("acme", ev::PartnerAccepted{"w1", "p1", "pa"}, "user:pa");
  b_.Append("acme", ev::PartnerSuspended{"w1", "p1", ""}, "user:ana");
  b_.Append("acme", ev::MemberRemoved{"w1", "bo", "viewer"}, "user:ana");
  Sync();
  auto n = engine_.Notifications("bo");
  ASSERT_TRUE(n.ok());
  std::vector<std::string> kinds;
  for (const auto& x : n->notifications) kinds.push_back(x.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"removed", "role_changed", "joined", "invited"}));
  EXPECT_EQ(n->notifications.back().text, "You were invited to Spring Catalogue as editor");
  EXPECT_EQ(n->notifications[1].text, "Your role in Spring Catalogue changed from editor to viewer");
  auto pa = engine_.Notifications("pa");
  ASSERT_FALSE(pa->notifications.empty());
  EXPECT_EQ(pa->notifications[0].kind, "partner_suspended");
  EXPECT_EQ(pa->notifications[0].text,
            "The partnership of Distributor with Spring Catalogue was suspended");
  // Pages.
  auto p1 = engine_.Notifications("bo", {.limit = 2});
  ASSERT_EQ(p1->notifications.size(), 2u);
  ASSERT_TRUE(p1->next_cursor);
  auto p2 = engine_.Notifications("bo", {.limit = 2, .cursor = *p1->next_cursor});
  ASSERT_EQ(p2->notifications.size(), 2u);
  EXPECT_EQ(p2->notifications[1].kind, "invited");
  EXPECT_TRUE(engine_.Notifications("nobody")->notifications.empty());
}

TEST_F(TeamTest, ErasureShowsEverywhere) {
  b_.Invite("acme", "w1", "i1", "bo@acme.io", "editor", b_.Now() + kDay, "user:ana");
  b_.Join("acme", "w1", "bo", "bo@acme.io", "editor", {}, {}, "i1");
  Sync();
  ASSERT_EQ(engine_.Members("w1")->members[1].email.email, "bo@acme.io");
  auto erased = b_.store().Vault().Erase(b_.Key("bo@acme.io"));
  ASSERT_TRUE(erased.ok());
  uint64_t p = b_.Append("privacy", ev::SubjectErased{b_.Key("bo@acme.io"), *erased}, "service");
  Sync();
  auto m = engine_.Members("w1");
  EXPECT_FALSE(m->members[1].email.email);
  EXPECT_TRUE(m->members[1].email.erased);
  json::object mo = MembersToJson(*m);
  const auto& row = mo.at("members").as_array()[1].as_object();
  EXPECT_TRUE(row.at("email").is_null());
  EXPECT_TRUE(row.at("email_erased").as_bool());
  auto inv = engine_.Invitation("i1", b_.Now());
  EXPECT_TRUE(inv->email.erased);
  // Audit summaries and data, and exports.
  auto page = engine_.Audit(AuditFilter{.subject = "i1"});
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].summary, "ana@acme.io invited [erased] as editor to Spring Catalogue");
  EXPECT_TRUE(page->entries[0].data.at("email").is_null());
  EXPECT_TRUE(page->entries[0].data.at("email_erased").as_bool());
  EXPECT_FALSE(page->entries[0].data.contains("email_key"));
  std::string csv;
  ASSERT_TRUE(engine_
                  .ExportAudit({}, ExportFormat::kCsv,
                               [&](std::string_view c) {
                                 csv += c;
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(csv.find("bo@acme.io"), std::string::npos);
  EXPECT_NE(csv.find("ana@acme.io"), std::string::npos);
  auto erase_entry = engine_.Audit(AuditFilter{.type = "SubjectErased"});
  ASSERT_EQ(erase_entry->entries.size(), 1u);
  EXPECT_EQ(erase_entry->entries[0].position, p);
  EXPECT_FALSE(erase_entry->entries[0].account_id);
  // Nothing else changed: access is intact.
  EXPECT_TRUE(engine_.Check("bo", "products.edit", "w1").allowed);
}

}  // namespace
}  // namespace roster::projections
