// The command handler over MemoryEventStore: routing by workspace / invitation / token /
// partner id, results, idempotency, If-Match, retries after foreign appends, erasure and
// personal data, restarts.
#include <gtest/gtest.h>

#include <algorithm>

#include "commands/handler.h"
#include "commands/result_codec.h"
#include "events/codec.h"
#include "storage/memory_store.h"
#include "tests/commands/handler_support.h"
#include "tests/commands/test_support.h"

namespace roster::commands {
namespace {

using namespace roster::commands::testing;
using events::AccessMap;

class HandlerTest : public ::testing::Test, protected HandlerCalls {
 protected:
  HandlerTest() : store_(&clock_) { Restart(); }

  void Restart() {
    handler_.reset();
    handler_ = std::make_unique<CommandHandler>(store_, clock_);
    ASSERT_TRUE(handler_->status().ok()) << handler_->status().ToString();
  }

  CommandHandler& Handler() override { return *handler_; }

  void SetUpWorld() { SetUpAccountWithAdmin(); }

  uint64_t Head() const { return store_.GetHead().position; }

  ManualClock clock_;
  storage::MemoryEventStore store_;
  std::unique_ptr<CommandHandler> handler_;
};

TEST_F(HandlerTest, AResultCarriesPositionsVersionAndOutputs) {
  auto opened = Ok(OpenAccount{"", "Acme", "standard", "global", "owner", Mail("owner")});
  EXPECT_EQ(opened.account_id.rfind("acc_", 0), 0u);
  EXPECT_EQ(opened.account_id.size(), 16u);  // acc_ + 12 hex
  EXPECT_EQ(opened.stream, "account-" + opened.account_id);
  ASSERT_EQ(opened.events.size(), 1u);
  EXPECT_EQ(opened.events[0].type, events::EventType::kAccountOpened);
  EXPECT_EQ(opened.events[0].position, 1u);
  EXPECT_EQ(opened.position, 1u);
  EXPECT_EQ(opened.version, 1u);

  auto ws = Ok(CreateWorkspace{opened.account_id, "", "W", "orders", {}}, U("owner"));
  EXPECT_EQ(ws.workspace_id.rfind("ws_", 0), 0u);
  EXPECT_EQ(ws.workspace_id.size(), 15u);
  EXPECT_EQ(ws.version, 2u);
  EXPECT_EQ(handler_->AccountOfWorkspace(ws.workspace_id), opened.account_id);

  auto inv = Ok(SendInvite{ws.workspace_id, Mail("bob"), "reviewer", {}, {}}, U("owner"));
  EXPECT_EQ(inv.invitation_id.rfind("inv_", 0), 0u);
  EXPECT_EQ(inv.token.size(), 43u);  // 32 bytes base64url
  EXPECT_EQ(inv.expires_at, clock_.Now() + 72 * kHour);
  EXPECT_EQ(inv.position, 3u);
  EXPECT_EQ(inv.version, 3u);
}

TEST_F(HandlerTest, RoutesByInvitationIdTokenAndPartnerId) {
  SetUpWorld();
  auto inv = Ok(SendInvite{"w1", Mail("bob"), "editor", {}, {}}, U("adm"));
  EXPECT_EQ(Code(ResendInvite{"inv_nope"}, U("adm")), ErrorCode::kNotFound);
  auto resent = Ok(ResendInvite{inv.invitation_id}, U("adm"));
  EXPECT_NE(resent.token, inv.token);
  EXPECT_EQ(Code(AcceptInvite{inv.token}, U("bob")), ErrorCode::kInvalidToken) << "old token";
  EXPECT_EQ(Code(AcceptInvite{"garbage"}, U("bob")), ErrorCode::kInvalidToken);
  EXPECT_EQ(Code(AcceptInvite{resent.token}, U("eve")), ErrorCode::kInviteEmailMismatch);
  auto accepted = Ok(AcceptInvite{resent.token}, U("bob"));
  EXPECT_EQ(accepted.workspace_id, "w1");
  EXPECT_EQ(accepted.role, "editor");
  EXPECT_EQ(Code(AcceptInvite{resent.token}, U("bob")), ErrorCode::kInviteNotPending);
  EXPECT_EQ(Code(CancelInvite{inv.invitation_id}, U("adm")), ErrorCode::kInviteNotPending);

  // A link token is not an invitation token and vice versa.
  auto link = Ok(PutInviteLink{"w1", "viewer", false}, U("adm"));
  EXPECT_EQ(Code(AcceptInvite{link.token}, U("bob")), ErrorCode::kInvalidToken);
  EXPECT_EQ(Code(JoinByLink{resent.token}, U("bob")), ErrorCode::kInvalidToken);
  auto joined = Ok(JoinByLink{link.token}, U("carol"));
  EXPECT_TRUE(joined.joined);

  // Partners live in the workspace's account; the partner account's admin accepts.
  Ok(OpenAccount{"p1", "Partner Co", "partner", "global", "padmin", Mail("padmin")});
  Ok(OpenAccount{"s1", "Std Co", "standard", "global", "sowner", Mail("sowner")});
  EXPECT_EQ(Code(InvitePartner{"w1", "s1", "view", {}}, U("adm")), ErrorCode::kNotPartnerAccount);
  EXPECT_EQ(Code(InvitePartner{"w1", "nope", "view", {}}, U("adm")), ErrorCode::kNotFound);
  auto partner = Ok(InvitePartner{"w1", "p1", "download", {"set1"}}, U("adm"));
  EXPECT_EQ(partner.status, "invited");
  EXPECT_EQ(handler_->AccountOfPartner(partner.partner_id), "a1");
  EXPECT_EQ(Code(AcceptPartner{partner.partner_id}, U("adm")), ErrorCode::kForbidden);
  EXPECT_EQ(Ok(AcceptPartner{partner.partner_id}, U("padmin")).status, "active");
  EXPECT_EQ(Ok(SuspendPartner{partner.partner_id, "audit"}, U("adm")).status, "suspended");
  EXPECT_EQ(Ok(ResumePartner{partner.partner_id, ""}, U("adm")).status, "active");
  EXPECT_EQ(Ok(RevokePartner{partner.partner_id, ""}, U("adm")).status, "revoked");
  EXPECT_EQ(Code(ResumePartner{partner.partner_id, ""}, U("adm")), ErrorCode::kPartnerRevoked);
  EXPECT_EQ(Code(SuspendPartner{"prt_nope", ""}, U("adm")), ErrorCode::kNotFound);

  EXPECT_EQ(handler_->AccountsOfUser("bob"), std::vector<std::string>{"a1"});
  EXPECT_EQ(Code(SendInvite{"w9", Mail("x"), "viewer", {}, {}}, U("adm")), ErrorCode::kNotFound);
}

TEST_F(HandlerTest, SharesCheckTheGranteeAccountAcrossAccounts) {
  SetUpWorld();
  Ok(OpenAccount{"s1", "Std", "standard", "global", "gu", Mail("gu")});
  Ok(OpenAccount{"seu", "Std EU", "standard", "eu", "geu", Mail("geu")});
  Ok(OpenAccount{"ag", "Agency", "agency", "global", "gag", Mail("gag")});
  EXPECT_EQ(Code(GrantShare{"a1", "gag", "ag", true, {}, false}, U("owner")),
            ErrorCode::kPlanNotEligible);
  EXPECT_EQ(Code(GrantShare{"a1", "geu", "seu", true, {}, false}, U("owner")),
            ErrorCode::kRegionMismatch);
  EXPECT_EQ(Code(GrantShare{"a1", "gu", "nope", true, {}, false}, U("owner")),
            ErrorCode::kNotFound);
  Ok(GrantShare{"a1", "gu", "s1", true, {}, true}, U("owner"));
  EXPECT_EQ(Code(GrantShare{"a1", "gu", "s1", true, {}, true}, U("owner")),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(Code(RetireShare{"a1", "gu"}, U("owner")), ErrorCode::kForbidden);
  Ok(RetireShare{"a1", "gu"}, U("gu"));
  EXPECT_EQ(Code(RemoveShare{"a1", "gu"}, U("owner")), ErrorCode::kNotFound);
  EXPECT_EQ(Code(GrantShare{"zz", "gu", "s1", true, {}, true}), ErrorCode::kNotFound);
}

TEST_F(HandlerTest, WorkspaceAndAccountIdsAreUniqueAcrossTheLedger) {
  SetUpWorld();
  Ok(OpenAccount{"a2", "Other", "standard", "global", "o2", Mail("o2")});
  EXPECT_EQ(Code(OpenAccount{"a2", "Again", "standard", "global", "o3", Mail("o3")}),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(Code(CreateWorkspace{"a2", "w1", "Dup", "standard", {}}), ErrorCode::kAlreadyExists);
  EXPECT_EQ(Code(CreateWorkspace{"a2", "bad id", "X", "standard", {}}), ErrorCode::kInvalidField);
  Ok(CreateWorkspace{"a2", "w2", "Fine", "standard", {}});
  EXPECT_EQ(Code(AddAccountMember{"nope", "u", Mail("u"), "viewer"}), ErrorCode::kNotFound);
}

TEST_F(HandlerTest, JoinByLinkAsAnAccountMemberAddsNothing) {
  SetUpWorld();
  auto link = Ok(PutInviteLink{"w1", "editor", false}, U("adm"));
  uint64_t head = Head();
  auto r = Ok(JoinByLink{link.token}, U("owner"));
  EXPECT_FALSE(r.joined);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.position, head);
  EXPECT_EQ(r.version, handler_->SnapshotAccount("a1")->version);
  EXPECT_EQ(Head(), head);
  auto regen = Ok(RegenerateInviteLink{"w1"}, U("adm"));
  EXPECT_EQ(Code(JoinByLink{link.token}, U("zoe")), ErrorCode::kInvalidToken);
  EXPECT_TRUE(Ok(JoinByLink{regen.token}, U("zoe")).joined);
  Ok(DisableInviteLink{"w1"}, U("adm"));
  EXPECT_EQ(Code(JoinByLink{regen.token}, U("zed")), ErrorCode::kInvalidToken);
  EXPECT_EQ(handler_->SnapshotAccount("a1")->workspaces.at("w1").members.count("zoe"), 1u);
}

TEST_F(HandlerTest, AnIdempotentRepeatReturnsTheFirstAnswerIncludingTheToken) {
  SetUpWorld();
  CommandMeta meta{.idempotency_key = "k-1", .fingerprint = "fp-1"};
  auto first = Ok(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("adm"), meta);
  uint64_t head = Head();
  auto again = handler_->Execute(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("adm"), meta);
  ASSERT_NO_FATAL_FAILURE(ExpectRepeatOf(again, first));
  ASSERT_EQ(again->events.size(), 1u);
  EXPECT_EQ(Head(), head) << "a repeat appends nothing";

  CommandMeta other{.idempotency_key = "k-1", .fingerprint = "fp-2"};
  EXPECT_EQ(Code(SendInvite{"w1", Mail("carol"), "viewer", {}, {}}, U("adm"), other),
            ErrorCode::kIdempotencyKeyReused);

  // After a restart the repeat still gets the same token (from the store's record).
  Restart();
  auto after = handler_->Execute(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("adm"), meta);
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_TRUE(after->deduplicated);
  EXPECT_EQ(after->token, first.token);
  EXPECT_EQ(after->position, first.position);
  EXPECT_EQ(after->version, first.version);
  EXPECT_EQ(Code(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("adm"), other),
            ErrorCode::kIdempotencyKeyReused);
  EXPECT_EQ(Head(), head);
}

TEST_F(HandlerTest, AKeyReusedForAnotherCommandIsRejectedAndAppendsNothing) {
  SetUpWorld();
  Ok(OpenAccount{"a2", "Other", "standard", "global", "o2", Mail("o2")});
  CommandMeta meta{.idempotency_key = "shared", .fingerprint = "one"};
  Ok(CreateWorkspace{"a1", "wa", "A", "standard", {}}, Svc(), meta);
  CommandMeta second{.idempotency_key = "shared", .fingerprint = "two"};
  EXPECT_EQ(Code(CreateWorkspace{"a2", "wb", "B", "standard", {}}, Svc(), second),
            ErrorCode::kIdempotencyKeyReused);
  EXPECT_FALSE(handler_->AccountOfWorkspace("wb").has_value());
}

TEST_F(HandlerTest, IfMatchMustEqualTheStreamVersion) {
  SetUpWorld();
  uint64_t v = handler_->SnapshotAccount("a1")->version;
  CommandMeta stale{.if_match = v - 1};
  auto r = handler_->Execute(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("adm"), stale);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kVersionConflict);
  EXPECT_NE(r.error().message().find("If-Match"), std::string::npos);
  CommandMeta fresh{.if_match = v};
  auto ok = Ok(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("adm"), fresh);
  EXPECT_EQ(ok.version, v + 1);
}

TEST_F(HandlerTest, AForeignAppendIsFoldedInAndTheCommandRetried) {
  SetUpWorld();
  uint64_t v = handler_->SnapshotAccount("a1")->version;
  // Another writer (a second process, a tool) appends to the stream behind our cache.
  storage::AppendRequest req;
  req.stream = "account-a1";
  req.expected = storage::ExpectedVersion::Exact(v);
  events::Event e = events::WorkspaceCreated{"w-ext", "External", "standard", 3600};
  req.events.push_back({events::TypeOf(e), events::EncodeEvent(e)});
  req.actor = "system";
  ASSERT_TRUE(store_.Append(req).ok());
  auto r = Ok(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("adm"));
  EXPECT_EQ(r.version, v + 2);
  EXPECT_EQ(handler_->SnapshotAccount("a1")->workspaces.count("w-ext"), 1u);
  EXPECT_EQ(handler_->AccountOfWorkspace("w-ext"), "a1") << "the directory caught up too";
  // With If-Match, a moved stream is not retried.
  events::Event e2 = events::WorkspaceCreated{"w-ext2", "External 2", "standard", 3600};
  req.expected = storage::ExpectedVersion::Exact(v + 2);
  req.events = {{events::TypeOf(e2), events::EncodeEvent(e2)}};
  ASSERT_TRUE(store_.Append(req).ok());
  CommandMeta meta{.if_match = v + 2};
  EXPECT_EQ(Code(SendInvite{"w1", Mail("carol"), "viewer", {}, {}}, U("adm"), meta),
            ErrorCode::kVersionConflict);
}

TEST_F(HandlerTest, ErasureForgetsTheAddressButRulesStillCompareKeys) {
  SetUpWorld();
  auto inv = Ok(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("adm"));
  auto state = handler_->SnapshotAccount("a1");
  std::string subject = state->invitations.at(inv.invitation_id).subject;
  ASSERT_EQ(store_.Vault().Lookup(subject), Mail("bob"));

  EXPECT_EQ(Code(EraseSubject{Mail("bob")}, U("adm")), ErrorCode::kForbidden);
  EXPECT_EQ(Code(EraseSubject{"not-an-email"}), ErrorCode::kInvalidEmail);
  auto erased = Ok(EraseSubject{"BOB@x.io"});
  EXPECT_EQ(erased.subjects_erased, 1u);
  EXPECT_EQ(erased.stream, "privacy");
  ASSERT_EQ(erased.events.size(), 1u);
  EXPECT_EQ(erased.events[0].type, events::EventType::kSubjectErased);
  EXPECT_EQ(store_.Vault().Lookup(subject), std::nullopt);
  auto recorded = store_.Read(erased.position);
  ASSERT_TRUE(recorded.ok());
  const auto& se = std::get<events::SubjectErased>(recorded->event);
  EXPECT_EQ(se.subjects_removed, 1u);
  EXPECT_EQ(se.email_key, handler_->EmailKey(Mail("bob")));
  EXPECT_EQ(Ok(EraseSubject{Mail("nobody")}).subjects_erased, 0u);

  // Rules that compare addresses keep working through the key.
  auto dup = handler_->Execute(SendInvite{"w1", "Bob@X.io", "viewer", {}, {}}, U("adm"), {});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kInvitePending);
  EXPECT_EQ(Code(SendInvite{"w1", Mail("adm"), "viewer", {}, {}}, U("adm")),
            ErrorCode::kCannotInviteSelf);
  Ok(EraseSubject{Mail("adm")});
  EXPECT_EQ(Code(SendInvite{"w1", Mail("adm"), "viewer", {}, {}}, U("adm")),
            ErrorCode::kCannotInviteSelf);
  EXPECT_EQ(Code(SendInvite{"w1", Mail("adm"), "viewer", {}, {}}, U("owner")),
            ErrorCode::kAlreadyMember);
  EXPECT_TRUE(store_.Verify().ok);
}

TEST_F(HandlerTest, NoPlaintextEmailInAnyEvent) {
  SetUpWorld();
  Ok(AddAccountMember{"a1", "am", "Account.Member@Example.ORG", "viewer"}, U("owner"));
  auto inv = Ok(SendInvite{"w1", "Invitee@Example.org", "editor", {}, {}}, U("adm"));
  Ok(ResendInvite{inv.invitation_id}, U("adm"));
  auto link = Ok(PutInviteLink{"w1", "viewer", false}, U("adm"));
  Ok(JoinByLink{link.token}, Actor::User("lj", "Link.Joiner@example.org"));
  auto inv2 = Ok(SendInvite{"w1", "second@example.org", "viewer", {}, {}}, U("adm"));
  Ok(AcceptInvite{inv2.token}, Actor::User("sec", "Second@Example.org"));
  Ok(EraseSubject{"invitee@example.org"});
  const std::vector<std::string> needles = {"owner@x.io", "adm@x.io", "account.member",
                                            "invitee@", "link.joiner", "second@", "example.org"};
  size_t checked = 0;
  ASSERT_TRUE(store_
                  .Scan(1, 0,
                        [&](const events::RecordedEvent& e) {
                          std::string bytes = LowerAscii(e.envelope.payload);
                          std::string meta =
                              LowerAscii(e.envelope.actor + e.envelope.correlation_id +
                                         e.envelope.idempotency_key + e.envelope.stream);
                          for (const auto& n : needles) {
                            EXPECT_EQ(bytes.find(n), std::string::npos)
                                << n << " in " << events::TypeName(e.envelope.type);
                            EXPECT_EQ(meta.find(n), std::string::npos) << n;
                          }
                          ++checked;
                          return true;
                        })
                  .ok());
  EXPECT_GT(checked, 10u);
}

TEST_F(HandlerTest, ARestartRebuildsTheSameStateAndDirectory) {
  SetUpWorld();
  Ok(OpenAccount{"p1", "Partner Co", "partner", "global", "padmin", Mail("padmin")});
  auto partner = Ok(InvitePartner{"w1", "p1", "edit", {"s1"}}, U("adm"));
  Ok(AcceptPartner{partner.partner_id}, U("padmin"));
  auto link = Ok(PutInviteLink{"w1", "editor", false}, U("adm"));
  Ok(JoinByLink{link.token}, U("lj"));
  Ok(UpdateMember{"w1", "lj", "viewer", AccessMap{{"assets", "edit"}},
                  ScopePatch{std::vector<std::string>{"DE"}, {}, {}}},
     U("adm"));
  auto inv = Ok(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("adm"));
  Ok(DefineRole{"w1", "auditor", {"audit.view", "team.view"}}, U("adm"));
  auto before = handler_->SnapshotAccount("a1");
  auto before_p = handler_->SnapshotAccount("p1");
  ASSERT_TRUE(before && before_p);

  Restart();
  auto after = handler_->SnapshotAccount("a1");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, *before);
  EXPECT_EQ(StateDigest(*after), StateDigest(*before));
  EXPECT_EQ(*handler_->SnapshotAccount("p1"), *before_p);
  EXPECT_EQ(handler_->AccountOfPartner(partner.partner_id), "a1");
  EXPECT_EQ(handler_->FindInvitation(inv.invitation_id)->workspace_id, "w1");
  // Tokens still route after the restart.
  EXPECT_EQ(Code(JoinByLink{link.token}, U("lj2")), ErrorCode::kOk);
  EXPECT_EQ(Code(AcceptInvite{inv.token}, U("bob")), ErrorCode::kOk);
  EXPECT_EQ(handler_->AccountsOfUser("padmin"), std::vector<std::string>{"p1"});
}

TEST(ResultCodec, RoundTripsAndRejectsGarbage) {
  CommandResult r;
  r.stream = "account-a1";
  r.events = {{7, events::EventType::kInviteSent}, {8, events::EventType::kInviteSuperseded}};
  r.account_id = "a1";
  r.workspace_id = "w1";
  r.invitation_id = "inv_1";
  r.token = "tok";
  r.expires_at = 1'790'000'000'000'000;
  r.role = "viewer";
  r.partner_id = "prt";
  r.status = "active";
  r.joined = true;
  r.subjects_erased = 3;
  CommandResult back;
  ASSERT_TRUE(DecodeResultPayload(EncodeResultPayload(r), &back).ok());
  EXPECT_EQ(back.token, "tok");
  EXPECT_EQ(back.expires_at, r.expires_at);
  EXPECT_EQ(back.events.size(), 2u);
  EXPECT_EQ(back.events[1].type, events::EventType::kInviteSuperseded);
  EXPECT_TRUE(back.joined);
  EXPECT_EQ(back.subjects_erased, 3u);
  std::string bytes = EncodeResultPayload(r);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(DecodeResultPayload(bytes.substr(0, cut), &back).ok()) << cut;
  }
  EXPECT_FALSE(DecodeResultPayload(bytes + "x", &back).ok());
}

}  // namespace
}  // namespace roster::commands
