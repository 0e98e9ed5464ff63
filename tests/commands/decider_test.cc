// The account decider as tables: given these events, when this command (by this actor,
// at this time), then these events | this error. Every rule of DESIGN.md "Domain rules"
// 1-16 appears at least once; the test names say which. docs/domain_rules.md maps each
// rule to its code and to these tests.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <set>

#include "commands/decider.h"
#include "tests/commands/test_support.h"

namespace roster::commands {
namespace {

using namespace roster::commands::testing;
using events::AccessMap;
using events::Scope;

constexpr Micros kWeek = 7 * kDay;
constexpr Micros kNow = kT0 + kHour;  // default "now": one hour after the given history

struct Then {
  std::optional<std::vector<Event>> events;  // set: expect success with exactly these
  ErrorCode error = ErrorCode::kOk;
  std::string field;  // expected message prefix ("role:") for rejections
};
Then Emits(std::vector<Event> e) { return Then{std::move(e), ErrorCode::kOk, ""}; }
Then Nothing() { return Then{std::vector<Event>{}, ErrorCode::kOk, ""}; }
Then Rejects(ErrorCode code, std::string field = "") {
  return Then{std::nullopt, code, std::move(field)};
}

struct Case {
  std::string name;
  std::vector<Event> given;
  Command when;
  Actor actor;
  Then then;
  Micros at = kNow;
};

// Account a1 (owner "owner"), workspace w1 (standard) with invited members adm (admin) and
// ed (editor).
std::vector<Event> World(std::vector<Event> more = {}) {
  std::vector<Event> w = {Opened(), Ws("w1"), Accepted("w1", "adm", "admin"),
                          Accepted("w1", "ed", "editor")};
  w.insert(w.end(), more.begin(), more.end());
  return w;
}

FakeAccounts& Others() {
  static FakeAccounts* accounts = [] {
    auto* a = new FakeAccounts;
    a->Add("p1", "partner", "global", {"padmin"});
    a->Add("s1", "standard", "global");
    a->Add("seu", "standard", "eu");
    a->Add("ag", "agency", "global");
    a->AddWorkspace("taken");
    return a;
  }();
  return *accounts;
}

Result<Decision> DecideCase(const std::vector<Event>& given, const Command& when, const Actor& actor,
                     Micros at, SequentialIdSource* ids) {
  AccountState state = Fold(given);
  DecideContext ctx;
  ctx.now = at;
  ctx.actor = &actor;
  if (actor.is_user()) {
    ctx.actor_email_key = Key(actor.email);
    ctx.actor_subject = Subject(actor.email);
  }
  std::string email = CommandEmail(when);
  if (!email.empty()) {
    ctx.email_key = Key(email);
    ctx.subject = Subject(email);
  }
  ctx.ids = ids;
  ctx.accounts = &Others();
  return DecideWithOutputs(state, when, ctx);
}

void Check(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    SequentialIdSource ids;
    auto got = DecideCase(c.given, c.when, c.actor, c.at, &ids);
    if (c.then.events) {
      ASSERT_TRUE(got.ok()) << c.name << ": " << got.error().ToString();
      EXPECT_EQ(got->events, *c.then.events)
          << c.name << "\n got:\n" << Render(got->events) << " want:\n" << Render(*c.then.events);
    } else {
      ASSERT_FALSE(got.ok()) << c.name << ": expected " << ErrorCodeName(c.then.error)
                             << ", got events:\n" << Render(got->events);
      EXPECT_EQ(got.error().code(), c.then.error) << c.name << ": " << got.error().ToString();
      EXPECT_EQ(got.error().message().rfind(c.then.field, 0), 0u)
          << c.name << ": message should name " << c.then.field << ": " << got.error().message();
    }
  }
}

SendInvite Invite(std::string email, std::string role = "viewer", std::string ws = "w1") {
  return SendInvite{std::move(ws), std::move(email), std::move(role), {}, {}};
}

// The InviteSent a SequentialIdSource yields for the first invite of a case.
Event FreshInvite(const std::string& user, const std::string& role, Micros expires_at,
                  AccessMap access = {}, Scope scope = {}, const std::string& ws = "w1") {
  return Invited(ws, "inv_000001", user, role, "token-2", expires_at, std::move(access),
                 std::move(scope));
}

// ---------------------------------------------------------------------------------------

TEST(Rule01Authorization, OnlyTeamManagersOrTheServiceManageTheTeam) {
  Check({
      {"workspace admin invites", World(), Invite(Mail("bob")), U("adm"),
       Emits({FreshInvite("bob", "viewer", kNow + kWeek)})},
      {"service invites", World(), Invite(Mail("bob")), Svc(),
       Emits({FreshInvite("bob", "viewer", kNow + kWeek)})},
      {"account owner reaches every workspace", World(), Invite(Mail("bob")), U("owner"),
       Emits({FreshInvite("bob", "viewer", kNow + kWeek)})},
      {"account admin too", World({AccMember("aa", "admin")}), Invite(Mail("bob")), U("aa"),
       Emits({FreshInvite("bob", "viewer", kNow + kWeek)})},
      {"account viewer may not", World({AccMember("av", "viewer")}), Invite(Mail("bob")),
       U("av"), Rejects(ErrorCode::kForbidden, "actor:")},
      {"editor may not invite", World(), Invite(Mail("bob")), U("ed"),
       Rejects(ErrorCode::kForbidden, "actor:")},
      {"a stranger may not", World(), Invite(Mail("bob")), U("zed"),
       Rejects(ErrorCode::kForbidden)},
      {"an override team:view takes team.manage from an admin",
       {Opened(), Ws("w1"), Accepted("w1", "adm2", "admin", {{"team", "view"}})},
       Invite(Mail("bob")), U("adm2"), Rejects(ErrorCode::kForbidden)},
      {"an override team:manage gives it to an editor",
       {Opened(), Ws("w1"), Accepted("w1", "ed2", "editor", {{"team", "manage"}})},
       Invite(Mail("bob")), U("ed2"), Emits({FreshInvite("bob", "viewer", kNow + kWeek)})},
      {"editor may not change roles", World(), UpdateMember{"w1", "adm", "viewer", {}, {}},
       U("ed"), Rejects(ErrorCode::kForbidden)},
      {"editor may not remove", World(), RemoveMember{"w1", "adm"}, U("ed"),
       Rejects(ErrorCode::kForbidden)},
      {"editor may not manage the link", World(), PutInviteLink{"w1", "viewer", false}, U("ed"),
       Rejects(ErrorCode::kForbidden)},
      {"editor may not invite partners", World(), InvitePartner{"w1", "p1", "view", {}}, U("ed"),
       Rejects(ErrorCode::kForbidden)},
      {"editor may not resend",
       World({Invited("w1", "inv_b", "bob", "viewer", "t", kT0 + kWeek)}),
       ResendInvite{"inv_b"}, U("ed"), Rejects(ErrorCode::kForbidden)},
      {"editor may not cancel",
       World({Invited("w1", "inv_b", "bob", "viewer", "t", kT0 + kWeek)}),
       CancelInvite{"inv_b"}, U("ed"), Rejects(ErrorCode::kForbidden)},
      {"workspace admin may not create workspaces (account level)", World(),
       CreateWorkspace{"a1", "w2", "W2", "standard", {}}, U("adm"),
       Rejects(ErrorCode::kForbidden)},
      {"workspace admin may not add account members", World(),
       AddAccountMember{"a1", "x", Mail("x"), "viewer"}, U("adm"),
       Rejects(ErrorCode::kForbidden)},
      {"account viewer may not share", World({AccMember("av", "viewer")}),
       GrantShare{"a1", "g", "s1", true, {}, false}, U("av"), Rejects(ErrorCode::kForbidden)},
      {"workspace admin defines roles", World(), DefineRole{"w1", "auditor", {"audit.view"}},
       U("adm"), Emits({events::RoleDefined{"w1", "auditor", {"audit.view"}}})},
      {"a user may not open accounts", {}, OpenAccount{"a9", "N", "standard", "global", "u",
                                                       Mail("u")},
       U("u"), Rejects(ErrorCode::kForbidden)},
      {"the service may not accept an invitation for someone",
       World({Invited("w1", "inv_b", "bob", "viewer", "tok", kT0 + kWeek)}),
       AcceptInvite{"tok"}, Svc(), Rejects(ErrorCode::kForbidden)},
      {"the service may not join by link", World({Link("w1", "viewer", "lt")}),
       JoinByLink{"lt"}, Svc(), Rejects(ErrorCode::kForbidden)},
  });
}

TEST(Rule02InvitePending, ASecondInviteToAPendingAddressIsRefusedWithItsId) {
  auto given = World({Invited("w1", "inv_b", "bob", "viewer", "t", kT0 + kWeek)});
  Check({
      {"pending and unexpired", given, Invite(Mail("bob"), "editor"), U("adm"),
       Rejects(ErrorCode::kInvitePending, "email:")},
      {"case-insensitive", given, Invite("BOB@X.IO"), U("adm"),
       Rejects(ErrorCode::kInvitePending)},
      {"one second before expiry still pending", given, Invite(Mail("bob")), U("adm"),
       Rejects(ErrorCode::kInvitePending), kT0 + kWeek - 1},
      {"another workspace is independent",
       World({Ws("w2"), Invited("w1", "inv_b", "bob", "viewer", "t", kT0 + kWeek)}),
       Invite(Mail("bob"), "viewer", "w2"), U("owner"),
       Emits({FreshInvite("bob", "viewer", kNow + kWeek, {}, {}, "w2")})},
      {"a cancelled invitation does not block",
       World({Invited("w1", "inv_b", "bob", "viewer", "t", kT0 + kWeek),
              events::InviteCancelled{"w1", "inv_b"}}),
       Invite(Mail("bob")), U("adm"), Emits({FreshInvite("bob", "viewer", kNow + kWeek)})},
  });
  SequentialIdSource ids;
  auto got = DecideCase(given, Invite(Mail("bob")), U("adm"), kNow, &ids);
  ASSERT_FALSE(got.ok());
  ASSERT_EQ(got.error().extra().size(), 1u);
  EXPECT_EQ(got.error().extra()[0].first, "invitation_id");
  EXPECT_EQ(got.error().extra()[0].second, "inv_b");
}

TEST(Rule03CannotInviteSelf, CheckedBeforeAlreadyMember) {
  Check({
      // adm is a member too, so rule 4 would also apply: rule 3 wins.
      {"a member inviting themselves", World(), Invite(Mail("adm")), U("adm"),
       Rejects(ErrorCode::kCannotInviteSelf, "email:")},
      {"case-insensitive", World(), Invite("ADM@x.io"), U("adm"),
       Rejects(ErrorCode::kCannotInviteSelf)},
      {"the owner inviting themselves", World(), Invite(Mail("owner")), U("owner"),
       Rejects(ErrorCode::kCannotInviteSelf)},
  });
}

TEST(Rule04AlreadyMember, WorkspaceAndAccountMembersCannotBeInvited) {
  Check({
      {"workspace member", World(), Invite(Mail("ed")), U("adm"),
       Rejects(ErrorCode::kAlreadyMember, "email:")},
      {"account member", World(), Invite(Mail("owner")), U("adm"),
       Rejects(ErrorCode::kAlreadyMember)},
      {"link member", World({LinkJoin("w1", "lj", "viewer")}), Invite(Mail("lj")), U("adm"),
       Rejects(ErrorCode::kAlreadyMember)},
      {"a removed member may be invited again",
       World({events::MemberRemoved{"w1", "ed", "editor"}}), Invite(Mail("ed")), U("adm"),
       Emits({FreshInvite("ed", "viewer", kNow + kWeek)})},
  });
}

TEST(Rule05Expiry, TtlComesFromTheWorkspaceAndTheTemplate) {
  Check({
      {"orders template defaults to 72 h", {Opened()},
       CreateWorkspace{"a1", "wo", "Orders", "orders", {}}, Svc(),
       Emits({events::WorkspaceCreated{"wo", "Orders", "orders", 72 * 3600}})},
      {"standard defaults to 7 d", {Opened()},
       CreateWorkspace{"a1", "ws", "S", "standard", {}}, Svc(),
       Emits({events::WorkspaceCreated{"ws", "S", "standard", 7 * 24 * 3600}})},
      {"partner_program defaults to 7 d", {Opened()},
       CreateWorkspace{"a1", "wp", "P", "partner_program", {}}, Svc(),
       Emits({events::WorkspaceCreated{"wp", "P", "partner_program", 7 * 24 * 3600}})},
      {"an explicit ttl", {Opened()}, CreateWorkspace{"a1", "ws", "S", "standard", 3600},
       Svc(), Emits({events::WorkspaceCreated{"ws", "S", "standard", 3600}})},
      {"ttl below 60 s", {Opened()}, CreateWorkspace{"a1", "ws", "S", "standard", 59}, Svc(),
       Rejects(ErrorCode::kInvalidField, "invite_ttl_seconds:")},
      {"ttl above 90 d", {Opened()},
       CreateWorkspace{"a1", "ws", "S", "standard", 90LL * 24 * 3600 + 1}, Svc(),
       Rejects(ErrorCode::kInvalidField, "invite_ttl_seconds:")},
      {"an invite in an orders workspace expires after 72 h",
       {Opened(), Ws("wo", "orders", 72 * 3600)}, Invite(Mail("bob"), "reviewer", "wo"),
       U("owner"), Emits({FreshInvite("bob", "reviewer", kNow + 72 * kHour, {}, {}, "wo")})},
  });
}

TEST(Rule05Accept, ExpiredCancelledSupersededAndUnknownTokensFail) {
  auto inv = Invited("w1", "inv_b", "bob", "editor", "tok", kT0 + kWeek, {{"assets", "view"}},
                     Scope{{"DE"}, {}, {}});
  Check({
      {"accept emits the invitation's role, access and scope", World({inv}), AcceptInvite{"tok"},
       U("bob"),
       Emits({events::InviteAccepted{"w1", "inv_b", "bob", Key(Mail("bob")), Subject(Mail("bob")),
                                     "editor", {{"assets", "view"}}, Scope{{"DE"}, {}, {}}}})},
      {"expired exactly at expires_at", World({inv}), AcceptInvite{"tok"}, U("bob"),
       Rejects(ErrorCode::kInviteExpired, "token:"), kT0 + kWeek},
      {"expired later", World({inv}), AcceptInvite{"tok"}, U("bob"),
       Rejects(ErrorCode::kInviteExpired), kT0 + 30 * kDay},
      {"cancelled", World({inv, events::InviteCancelled{"w1", "inv_b"}}), AcceptInvite{"tok"},
       U("bob"), Rejects(ErrorCode::kInviteNotPending, "token:")},
      {"cancelled and expired is not_pending",
       World({inv, events::InviteCancelled{"w1", "inv_b"}}), AcceptInvite{"tok"}, U("bob"),
       Rejects(ErrorCode::kInviteNotPending), kT0 + 30 * kDay},
      {"superseded", World({inv, events::InviteSuperseded{"w1", "inv_b", "inv_c"}}),
       AcceptInvite{"tok"}, U("bob"), Rejects(ErrorCode::kInviteNotPending)},
      {"accepted twice",
       World({inv, Accepted("w1", "bob", "editor", {}, {}, "inv_b")}), AcceptInvite{"tok"},
       U("bob"), Rejects(ErrorCode::kInviteNotPending)},
      {"unknown token", World({inv}), AcceptInvite{"nope"}, U("bob"),
       Rejects(ErrorCode::kInvalidToken, "token:")},
      {"another address: invite_email_mismatch", World({inv}), AcceptInvite{"tok"}, U("eve"),
       Rejects(ErrorCode::kInviteEmailMismatch, "email:")},
      {"matching case-insensitively", World({inv}), AcceptInvite{"tok"},
       Actor::User("bob", "Bob@X.io"),
       Emits({events::InviteAccepted{"w1", "inv_b", "bob", Key(Mail("bob")), Subject(Mail("bob")),
                                     "editor", {{"assets", "view"}}, Scope{{"DE"}, {}, {}}}})},
      {"already joined by link meanwhile", World({inv, LinkJoin("w1", "bob", "viewer")}),
       AcceptInvite{"tok"}, U("bob"), Rejects(ErrorCode::kAlreadyMember)},
  });
}

TEST(Rule06Resend, IssuesAFreshTokenAndResetsTheClock) {
  auto inv = Invited("w1", "inv_b", "bob", "viewer", "old", kT0 + kWeek);
  auto resent = events::InviteResent{"w1", "inv_b", TokenHash("token-1"), kT0 + 3 * kDay + kWeek};
  Check({
      {"resend", World({inv}), ResendInvite{"inv_b"}, U("adm"), Emits({resent}), kT0 + 3 * kDay},
      {"resend of an expired invitation is allowed and resets it", World({inv}),
       ResendInvite{"inv_b"}, U("adm"),
       Emits({events::InviteResent{"w1", "inv_b", TokenHash("token-1"), kT0 + 9 * kDay + kWeek}}),
       kT0 + 9 * kDay},
      {"the old token stops working", World({inv, resent}), AcceptInvite{"old"}, U("bob"),
       Rejects(ErrorCode::kInvalidToken)},
      {"the new token works past the old expiry", World({inv, resent}), AcceptInvite{"token-1"},
       U("bob"),
       Emits({events::InviteAccepted{"w1", "inv_b", "bob", Key(Mail("bob")), Subject(Mail("bob")),
                                     "viewer", {}, {}}}),
       kT0 + kWeek + kDay},
      {"resend of a cancelled invitation", World({inv, events::InviteCancelled{"w1", "inv_b"}}),
       ResendInvite{"inv_b"}, U("adm"), Rejects(ErrorCode::kInviteNotPending, "invitation_id:")},
      {"resend of an unknown invitation", World(), ResendInvite{"inv_x"}, U("adm"),
       Rejects(ErrorCode::kNotFound, "invitation_id:")},
      {"cancel", World({inv}), CancelInvite{"inv_b"}, U("adm"),
       Emits({events::InviteCancelled{"w1", "inv_b"}})},
      {"cancel twice", World({inv, events::InviteCancelled{"w1", "inv_b"}}),
       CancelInvite{"inv_b"}, U("adm"), Rejects(ErrorCode::kInviteNotPending)},
  });
}

TEST(Rule07ExpiredInvite, SendingAgainSupersedesTheExpiredOne) {
  auto old = Invited("w1", "inv_b", "bob", "viewer", "t", kT0 + kWeek);
  Micros later = kT0 + 8 * kDay;
  Check({
      {"send again after expiry", World({old}), Invite(Mail("bob"), "editor"), U("adm"),
       Emits({FreshInvite("bob", "editor", later + kWeek),
              events::InviteSuperseded{"w1", "inv_b", "inv_000001"}}),
       later},
      {"the superseded one cannot be accepted",
       World({old, events::InviteSuperseded{"w1", "inv_b", "inv_c"}}), AcceptInvite{"t"},
       U("bob"), Rejects(ErrorCode::kInviteNotPending), later},
  });
}

TEST(Rule08CannotModifySelf, CheckedBeforeLastAdmin) {
  // adm is the only workspace-level admin: demoting themselves would also be last_admin.
  Check({
      {"own role", World(), UpdateMember{"w1", "adm", "viewer", {}, {}}, U("adm"),
       Rejects(ErrorCode::kCannotModifySelf, "user_id:")},
      {"remove self", World(), RemoveMember{"w1", "adm"}, U("adm"),
       Rejects(ErrorCode::kCannotModifySelf)},
      {"own access", World(), UpdateMember{"w1", "adm", {}, AccessMap{{"team", "none"}}, {}},
       U("adm"), Rejects(ErrorCode::kCannotModifySelf)},
      {"own account role", World({AccMember("aa", "admin")}),
       ChangeAccountMember{"a1", "owner", "viewer"}, U("owner"),
       Rejects(ErrorCode::kCannotModifySelf)},
      {"remove self from the account", World({AccMember("aa", "admin")}),
       RemoveAccountMember{"a1", "aa"}, U("aa"), Rejects(ErrorCode::kCannotModifySelf)},
  });
}

TEST(Rule09AccountMemberImmutable, AWorkspaceCannotChangeOrRemoveAccountMembers) {
  Check({
      {"change an account member's role in a workspace", World({AccMember("av", "viewer")}),
       UpdateMember{"w1", "av", "editor", {}, {}}, U("adm"),
       Rejects(ErrorCode::kAccountMemberImmutable, "user_id:")},
      {"remove the owner from a workspace", World(), RemoveMember{"w1", "owner"}, U("adm"),
       Rejects(ErrorCode::kAccountMemberImmutable)},
      {"even the service goes through the account", World(), RemoveMember{"w1", "owner"},
       Svc(), Rejects(ErrorCode::kAccountMemberImmutable)},
  });
}

TEST(Rule10LastAdmin, AWorkspaceKeepsOneTeamManager) {
  auto two_admins = World({Accepted("w1", "adm2", "admin")});
  Check({
      {"demote the last workspace admin", World(), UpdateMember{"w1", "adm", "editor", {}, {}},
       U("owner"), Rejects(ErrorCode::kLastAdmin, "user_id:")},
      {"remove the last workspace admin", World(), RemoveMember{"w1", "adm"}, Svc(),
       Rejects(ErrorCode::kLastAdmin)},
      {"an override that drops team.manage", World(),
       UpdateMember{"w1", "adm", {}, AccessMap{{"team", "view"}}, {}}, U("owner"),
       Rejects(ErrorCode::kLastAdmin)},
      {"with a second admin, demotion is fine", two_admins,
       UpdateMember{"w1", "adm", "editor", {}, {}}, U("adm2"),
       Emits({events::RoleChanged{"w1", "adm", "admin", "editor"}})},
      {"with a second admin, removal is fine", two_admins, RemoveMember{"w1", "adm"}, U("adm2"),
       Emits({events::MemberRemoved{"w1", "adm", "admin"}})},
      {"redefining a custom role away from the last holder",
       {Opened(), Ws("w1"), events::RoleDefined{"w1", "lead", {"team.*"}},
        Accepted("w1", "ld", "lead")},
       DefineRole{"w1", "lead", {"team.view"}}, U("owner"),
       Rejects(ErrorCode::kLastAdmin, "permissions:")},
  });
}

TEST(Rule10LastAdmin, AnAccountKeepsOneOwnerOrAdmin) {
  Check({
      {"demote the only owner", World({AccMember("av", "viewer")}),
       ChangeAccountMember{"a1", "owner", "viewer"}, Svc(),
       Rejects(ErrorCode::kLastAdmin, "user_id:")},
      {"remove the only owner", World(), RemoveAccountMember{"a1", "owner"}, Svc(),
       Rejects(ErrorCode::kLastAdmin)},
      {"an admin remains", World({AccMember("aa", "admin")}),
       ChangeAccountMember{"a1", "owner", "viewer"}, U("aa"),
       Emits({events::AccountMemberRoleChanged{"owner", "owner", "viewer"}})},
      {"remove with an admin remaining", World({AccMember("aa", "admin")}),
       RemoveAccountMember{"a1", "owner"}, U("aa"),
       Emits({events::AccountMemberRemoved{"owner", "owner"}})},
      {"the same role changes nothing", World({AccMember("aa", "admin")}),
       ChangeAccountMember{"a1", "aa", "admin"}, U("owner"), Nothing()},
  });
}

TEST(Rule11InviteLink, AdminLinksNeedConfirmationAndTokensRotate) {
  auto link = Link("w1", "viewer", "lt");
  Check({
      {"admin link without confirm", World(), PutInviteLink{"w1", "admin", false}, U("adm"),
       Rejects(ErrorCode::kAdminLinkUnconfirmed, "confirm_admin:")},
      {"owner role is admin-capable too", World(), PutInviteLink{"w1", "owner", false}, U("adm"),
       Rejects(ErrorCode::kAdminLinkUnconfirmed)},
      {"admin link confirmed", World(), PutInviteLink{"w1", "admin", true}, U("adm"),
       Emits({events::LinkCreated{"w1", "admin", TokenHash("token-1")}})},
      {"editor link applies at once", World(), PutInviteLink{"w1", "editor", false}, U("adm"),
       Emits({events::LinkCreated{"w1", "editor", TokenHash("token-1")}})},
      {"changing the role keeps the token", World({link}), PutInviteLink{"w1", "editor", false},
       U("adm"), Emits({events::LinkRoleChanged{"w1", "viewer", "editor"}})},
      {"changing it to admin needs confirm", World({link}), PutInviteLink{"w1", "admin", false},
       U("adm"), Rejects(ErrorCode::kAdminLinkUnconfirmed)},
      {"the same role changes nothing", World({link}), PutInviteLink{"w1", "viewer", false},
       U("adm"), Nothing()},
      {"a disabled link is created afresh", World({link, events::LinkDisabled{"w1"}}),
       PutInviteLink{"w1", "viewer", false}, U("adm"),
       Emits({events::LinkCreated{"w1", "viewer", TokenHash("token-1")}})},
      {"unknown link role", World(), PutInviteLink{"w1", "boss", true}, U("adm"),
       Rejects(ErrorCode::kUnknownRole, "role:")},
      {"regenerate", World({link}), RegenerateInviteLink{"w1"}, U("adm"),
       Emits({events::LinkRegenerated{"w1", TokenHash("token-1")}})},
      {"regenerate without a link", World(), RegenerateInviteLink{"w1"}, U("adm"),
       Rejects(ErrorCode::kNotFound, "workspace_id:")},
      {"disable", World({link}), DisableInviteLink{"w1"}, U("adm"),
       Emits({events::LinkDisabled{"w1"}})},
      {"disable twice", World({link, events::LinkDisabled{"w1"}}), DisableInviteLink{"w1"},
       U("adm"), Rejects(ErrorCode::kNotFound)},
      {"the old token stops at once after regenerate",
       World({link, events::LinkRegenerated{"w1", TokenHash("new")}}), JoinByLink{"lt"},
       U("bob"), Rejects(ErrorCode::kInvalidToken, "token:")},
      {"the new token works", World({link, events::LinkRegenerated{"w1", TokenHash("new")}}),
       JoinByLink{"new"}, U("bob"),
       Emits({events::LinkJoined{"w1", "bob", Key(Mail("bob")), Subject(Mail("bob")), "viewer"}})},
      {"a disabled link stops", World({link, events::LinkDisabled{"w1"}}), JoinByLink{"lt"},
       U("bob"), Rejects(ErrorCode::kInvalidToken)},
      {"members who joined keep access after disable",
       World({link, LinkJoin("w1", "lj", "viewer"), events::LinkDisabled{"w1"}}),
       RemoveMember{"w1", "lj"}, U("adm"),
       Emits({events::MemberRemoved{"w1", "lj", "viewer"}})},
  });
}

TEST(Rule12LinkJoin, AnAccountMemberGetsNoDuplicate) {
  auto link = Link("w1", "editor", "lt");
  SequentialIdSource ids;
  auto got = DecideCase(World({link}), JoinByLink{"lt"}, U("owner"), kNow, &ids);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_TRUE(got->events.empty());
  EXPECT_FALSE(got->out.joined);
  EXPECT_EQ(got->out.role, "owner");
  EXPECT_EQ(got->out.workspace_id, "w1");

  got = DecideCase(World({link}), JoinByLink{"lt"}, U("ed"), kNow, &ids);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->events.empty()) << "an existing workspace member";
  EXPECT_FALSE(got->out.joined);

  got = DecideCase(World({link}), JoinByLink{"lt"}, U("newbie"), kNow, &ids);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->out.joined);
  ASSERT_EQ(got->events.size(), 1u);
  AccountState after = Fold(World({link, got->events[0]}));
  EXPECT_EQ(after.workspaces.at("w1").members.at("newbie").source, "link");
  EXPECT_EQ(after.workspaces.at("w1").members.at("newbie").role, "editor");
}

TEST(Rule13Partners, LifecycleAndFinalRevocation) {
  auto invited = PartnerInv("w1", "prt_1", "p1", "download", {"s1", "s2"});
  auto active = events::PartnerAccepted{"w1", "prt_1", "padmin"};
  auto suspended = events::PartnerSuspended{"w1", "prt_1", "audit"};
  auto revoked = events::PartnerRevoked{"w1", "prt_1", ""};
  Check({
      {"invite", World(), InvitePartner{"w1", "p1", "download", {"s1", "s2", "s1"}}, U("adm"),
       Emits({PartnerInv("w1", "prt_000001", "p1", "download", {"s1", "s2"})})},
      {"unknown partner account", World(), InvitePartner{"w1", "p9", "view", {}}, U("adm"),
       Rejects(ErrorCode::kNotFound, "partner_account_id:")},
      {"not a partner plan", World(), InvitePartner{"w1", "s1", "view", {}}, U("adm"),
       Rejects(ErrorCode::kNotPartnerAccount, "partner_account_id:")},
      {"unknown level", World(), InvitePartner{"w1", "p1", "admin", {}}, U("adm"),
       Rejects(ErrorCode::kInvalidAccess, "access_level:")},
      {"a live relationship exists", World({invited}), InvitePartner{"w1", "p1", "view", {}},
       U("adm"), Rejects(ErrorCode::kAlreadyExists)},
      {"accept by a partner admin", World({invited}), AcceptPartner{"prt_1"}, U("padmin"),
       Emits({active})},
      {"accept by someone else", World({invited}), AcceptPartner{"prt_1"}, U("adm"),
       Rejects(ErrorCode::kForbidden)},
      {"accept by the service alone", World({invited}), AcceptPartner{"prt_1"}, Svc(),
       Rejects(ErrorCode::kForbidden)},
      {"accept twice", World({invited, active}), AcceptPartner{"prt_1"}, U("padmin"),
       Rejects(ErrorCode::kPartnerNotActive, "partner_id:")},
      {"accept a revoked one", World({invited, revoked}), AcceptPartner{"prt_1"}, U("padmin"),
       Rejects(ErrorCode::kPartnerRevoked)},
      {"suspend an active one", World({invited, active}), SuspendPartner{"prt_1", "audit"},
       U("adm"), Emits({suspended})},
      {"suspend an invited one", World({invited}), SuspendPartner{"prt_1", ""}, U("adm"),
       Rejects(ErrorCode::kPartnerNotActive)},
      {"resume a suspended one", World({invited, active, suspended}),
       ResumePartner{"prt_1", "ok"}, U("adm"),
       Emits({events::PartnerResumed{"w1", "prt_1", "ok"}})},
      {"resume an active one", World({invited, active}), ResumePartner{"prt_1", ""}, U("adm"),
       Rejects(ErrorCode::kPartnerNotActive)},
      {"a revoked one cannot resume", World({invited, active, suspended, revoked}),
       ResumePartner{"prt_1", ""}, U("adm"), Rejects(ErrorCode::kPartnerRevoked, "partner_id:")},
      {"revoke", World({invited, active}), RevokePartner{"prt_1", ""}, U("adm"),
       Emits({revoked})},
      {"revoke twice", World({invited, revoked}), RevokePartner{"prt_1", ""}, U("adm"),
       Rejects(ErrorCode::kPartnerRevoked)},
      {"update a revoked one", World({invited, revoked}),
       UpdatePartner{"prt_1", "view", {}, {}}, U("adm"), Rejects(ErrorCode::kPartnerRevoked)},
      {"update level and sets", World({invited, active}),
       UpdatePartner{"prt_1", "edit", {"s2", "s3"}, {"s1", "s9"}}, U("adm"),
       Emits({events::PartnerAccessChanged{"w1", "prt_1", "download", "edit"},
              events::PartnerSetsAssigned{"w1", "prt_1", {"s3"}},
              events::PartnerSetsRevoked{"w1", "prt_1", {"s1"}}})},
      {"a set both assigned and revoked", World({invited}),
       UpdatePartner{"prt_1", {}, {"s1"}, {"s1"}}, U("adm"),
       Rejects(ErrorCode::kInvalidField, "assign_sets:")},
      {"unknown partner", World(), SuspendPartner{"prt_x", ""}, U("adm"),
       Rejects(ErrorCode::kNotFound, "partner_id:")},
  });
}

TEST(Rule13Partners, SuspensionKeepsSetsAndLevel) {
  AccountState s = Fold(World({PartnerInv("w1", "prt_1", "p1", "download", {"s1", "s2"}),
                               events::PartnerAccepted{"w1", "prt_1", "padmin"},
                               events::PartnerSuspended{"w1", "prt_1", ""}}));
  const Partner& p = s.partners.at("prt_1");
  EXPECT_EQ(p.status, PartnerStatus::kSuspended);
  EXPECT_EQ(p.access_level, "download");
  EXPECT_EQ(p.sets, (std::vector<std::string>{"s1", "s2"}));
  s = Fold(World({PartnerInv("w1", "prt_1", "p1", "download", {"s1", "s2"}),
                  events::PartnerAccepted{"w1", "prt_1", "padmin"},
                  events::PartnerSuspended{"w1", "prt_1", ""},
                  events::PartnerResumed{"w1", "prt_1", ""}}));
  EXPECT_EQ(s.partners.at("prt_1").status, PartnerStatus::kActive);
  EXPECT_EQ(s.partners.at("prt_1").sets, (std::vector<std::string>{"s1", "s2"}));
}

TEST(Rule14SharedAccess, StandardPlanSameRegionAndBothSidesCanEndIt) {
  auto grant = events::SharedAccessGranted{"gu", "s1", true, {}, true};
  Check({
      {"grant", World(), GrantShare{"a1", "gu", "s1", true, {"c1"}, true}, U("owner"),
       Emits({grant})},
      {"grant some containers", World(), GrantShare{"a1", "gu", "s1", false, {"c1", "c1"}, false},
       U("owner"), Emits({events::SharedAccessGranted{"gu", "s1", false, {"c1"}, false}})},
      {"agency plan", World(), GrantShare{"a1", "gu", "ag", true, {}, false}, U("owner"),
       Rejects(ErrorCode::kPlanNotEligible, "grantee_account_id:")},
      {"partner plan", World(), GrantShare{"a1", "gu", "p1", true, {}, false}, U("owner"),
       Rejects(ErrorCode::kPlanNotEligible)},
      {"another region", World(), GrantShare{"a1", "gu", "seu", true, {}, false}, U("owner"),
       Rejects(ErrorCode::kRegionMismatch, "grantee_account_id:")},
      {"unknown grantee account", World(), GrantShare{"a1", "gu", "zz", true, {}, false},
       U("owner"), Rejects(ErrorCode::kNotFound, "grantee_account_id:")},
      {"a second grant to the same user", World({grant}),
       GrantShare{"a1", "gu", "s1", true, {}, false}, U("owner"),
       Rejects(ErrorCode::kAlreadyExists, "grantee_user_id:")},
      {"the owner removes", World({grant}), RemoveShare{"a1", "gu"}, U("owner"),
       Emits({events::SharedAccessRemoved{"gu"}})},
      {"the grantee cannot remove (they retire)", World({grant}), RemoveShare{"a1", "gu"},
       U("gu"), Rejects(ErrorCode::kForbidden)},
      {"the grantee retires", World({grant}), RetireShare{"a1", "gu"}, U("gu"),
       Emits({events::SharedAccessRetired{"gu"}})},
      {"only the grantee retires", World({grant}), RetireShare{"a1", "gu"}, U("owner"),
       Rejects(ErrorCode::kForbidden)},
      {"unknown grant", World(), RemoveShare{"a1", "gu"}, U("owner"),
       Rejects(ErrorCode::kNotFound, "grantee_user_id:")},
  });
}

TEST(Rule15RemoveMember, AccessEndsAtOnceAndTheHistoryStays) {
  auto given = World({events::MemberRemoved{"w1", "ed", "editor"}});
  AccountState s = Fold(given);
  const Workspace& w = s.workspaces.at("w1");
  EXPECT_EQ(w.members.count("ed"), 0u);
  EXPECT_FALSE(HoldsInWorkspace(s, w, "ed", "content.view"));
  Check({
      {"remove", World(), RemoveMember{"w1", "ed"}, U("adm"),
       Emits({events::MemberRemoved{"w1", "ed", "editor"}})},
      {"remove again", given, RemoveMember{"w1", "ed"}, U("adm"),
       Rejects(ErrorCode::kNotFound, "user_id:")},
  });
}

TEST(Rule16Validation, EachRejectionNamesItsField) {
  Check({
      {"unknown role on invite", World(), Invite(Mail("bob"), "boss"), U("adm"),
       Rejects(ErrorCode::kUnknownRole, "role: unknown role \"boss\" in workspace w1")},
      {"unknown role on update", World(), UpdateMember{"w1", "ed", "boss", {}, {}}, U("adm"),
       Rejects(ErrorCode::kUnknownRole, "role:")},
      {"a role of another template", World(), Invite(Mail("bob"), "approver"), U("adm"),
       Rejects(ErrorCode::kUnknownRole)},
      {"unknown account role", World(), AddAccountMember{"a1", "x", Mail("x"), "editor"},
       U("owner"), Rejects(ErrorCode::kUnknownRole, "role:")},
      {"malformed email", World(), Invite("bob@"), U("adm"),
       Rejects(ErrorCode::kInvalidEmail, "email:")},
      {"no at sign", World(), Invite("bob"), U("adm"), Rejects(ErrorCode::kInvalidEmail)},
      {"a space", World(), Invite("b ob@x.io"), U("adm"), Rejects(ErrorCode::kInvalidEmail)},
      {"undotted domain", World(), Invite("bob@localhost"), U("adm"),
       Rejects(ErrorCode::kInvalidEmail)},
      {"unknown level", World(),
       SendInvite{"w1", Mail("bob"), "viewer", {{"assets", "admin"}}, {}}, U("adm"),
       Rejects(ErrorCode::kInvalidAccess, "access.assets:")},
      {"unknown module for the template", World(),
       SendInvite{"w1", Mail("bob"), "viewer", {{"orders", "view"}}, {}}, U("adm"),
       Rejects(ErrorCode::kInvalidAccess, "access.orders:")},
      {"inherit is not a level on invite", World(),
       SendInvite{"w1", Mail("bob"), "viewer", {{"assets", "inherit"}}, {}}, U("adm"),
       Rejects(ErrorCode::kInvalidAccess)},
      {"unknown workspace", World(), Invite(Mail("bob"), "viewer", "w9"), U("adm"),
       Rejects(ErrorCode::kNotFound, "workspace_id: no workspace w9")},
      {"unknown member", World(), UpdateMember{"w1", "nobody", "viewer", {}, {}}, U("adm"),
       Rejects(ErrorCode::kNotFound, "user_id:")},
      {"unknown account", {}, AddAccountMember{"a1", "x", Mail("x"), "viewer"}, Svc(),
       Rejects(ErrorCode::kNotFound, "account_id:")},
      {"unknown plan", {}, OpenAccount{"a1", "N", "gold", "global", "u", Mail("u")}, Svc(),
       Rejects(ErrorCode::kInvalidField, "plan:")},
      {"unknown region", {}, OpenAccount{"a1", "N", "standard", "mars", "u", Mail("u")}, Svc(),
       Rejects(ErrorCode::kInvalidField, "region:")},
      {"owner email", {}, OpenAccount{"a1", "N", "standard", "eu", "u", "nope"}, Svc(),
       Rejects(ErrorCode::kInvalidEmail, "owner.email:")},
      {"bad account id", {}, OpenAccount{"a 1", "N", "standard", "eu", "u", Mail("u")}, Svc(),
       Rejects(ErrorCode::kInvalidField, "account_id:")},
      {"unknown template", {Opened()}, CreateWorkspace{"a1", "w2", "W", "kanban", {}}, Svc(),
       Rejects(ErrorCode::kInvalidField, "template:")},
      {"existing account", {Opened()},
       OpenAccount{"a1", "N", "standard", "eu", "u", Mail("u")}, Svc(),
       Rejects(ErrorCode::kAlreadyExists, "account_id:")},
      {"existing workspace here", World(), CreateWorkspace{"a1", "w1", "W", "standard", {}},
       Svc(), Rejects(ErrorCode::kAlreadyExists, "workspace_id:")},
      {"existing workspace elsewhere", World(),
       CreateWorkspace{"a1", "taken", "W", "standard", {}}, Svc(),
       Rejects(ErrorCode::kAlreadyExists)},
      {"a built-in role cannot be redefined", World(), DefineRole{"w1", "admin", {"*"}},
       U("adm"), Rejects(ErrorCode::kInvalidField, "role:")},
      {"a bad pattern", World(), DefineRole{"w1", "r", {"team"}}, U("adm"),
       Rejects(ErrorCode::kInvalidField, "permissions[0]:")},
      {"a module outside the catalogue", World(), DefineRole{"w1", "r", {"team.view", "orders.*"}},
       U("adm"), Rejects(ErrorCode::kInvalidAccess, "permissions[1]:")},
  });
}

TEST(Accounts, OpenAddAndTheOwnerIsAMember) {
  Check({
      {"open", {}, OpenAccount{"a1", "Acme", "standard", "global", "owner", Mail("owner")}, Svc(),
       Emits({Opened()})},
      {"add a member", World(), AddAccountMember{"a1", "am", Mail("am"), "admin"}, U("owner"),
       Emits({AccMember("am", "admin")})},
      {"add an existing member", World({AccMember("am", "viewer")}),
       AddAccountMember{"a1", "am", Mail("am"), "admin"}, U("owner"),
       Rejects(ErrorCode::kAlreadyMember, "user_id:")},
  });
  AccountState s = Fold({Opened()});
  ASSERT_EQ(s.members.count("owner"), 1u);
  EXPECT_EQ(s.members.at("owner").role, "owner");
  EXPECT_TRUE(HoldsAtAccountLevel(s, "owner", "team.manage"));
}

TEST(UpdateMember, AccessMergesWithInheritAndScopeReplacesListedDimensions) {
  auto given = World({Accepted("w1", "m", "editor", {{"products", "edit"}, {"assets", "view"}},
                               Scope{{"DE"}, {"s1"}, {}})});
  Check({
      {"merge: listed modules take the level, inherit drops one", given,
       UpdateMember{"w1", "m", {}, AccessMap{{"assets", "inherit"}, {"content", "none"}}, {}},
       U("adm"),
       Emits({events::AccessChanged{"w1", "m", {{"products", "edit"}, {"content", "none"}}}})},
      {"scope: listed dimensions replace, others stay", given,
       UpdateMember{"w1", "m", {}, {}, ScopePatch{std::vector<std::string>{"FR", "FR"}, {}, {}}},
       U("adm"), Emits({events::ScopeChanged{"w1", "m", Scope{{"FR"}, {"s1"}, {}}}})},
      {"scope: an empty list means unrestricted", given,
       UpdateMember{"w1", "m", {}, {}, ScopePatch{{}, std::vector<std::string>{}, {}}}, U("adm"),
       Emits({events::ScopeChanged{"w1", "m", Scope{{"DE"}, {}, {}}}})},
      {"role, access and scope in one patch", given,
       UpdateMember{"w1", "m", "viewer", AccessMap{{"products", "manage"}},
                    ScopePatch{{}, {}, std::vector<std::string>{"g1"}}},
       U("adm"),
       Emits({events::RoleChanged{"w1", "m", "editor", "viewer"},
              events::AccessChanged{"w1", "m", {{"products", "manage"}, {"assets", "view"}}},
              events::ScopeChanged{"w1", "m", Scope{{"DE"}, {"s1"}, {"g1"}}}})},
      {"a patch that changes nothing emits nothing", given,
       UpdateMember{"w1", "m", "editor", AccessMap{{"products", "edit"}},
                    ScopePatch{std::vector<std::string>{"DE"}, {}, {}}},
       U("adm"), Nothing()},
      {"unknown module", given, UpdateMember{"w1", "m", {}, AccessMap{{"rockets", "view"}}, {}},
       U("adm"), Rejects(ErrorCode::kInvalidAccess, "access.rockets:")},
      {"a custom role", World({events::RoleDefined{"w1", "auditor", {"audit.view"}}}),
       UpdateMember{"w1", "ed", "auditor", {}, {}}, U("adm"),
       Emits({events::RoleChanged{"w1", "ed", "editor", "auditor"}})},
  });
}

TEST(Evolve, InvitationExpiryIsDerivedFromTime) {
  AccountState s = Fold(World({Invited("w1", "inv_b", "bob", "viewer", "t", kT0 + kWeek)}));
  const Invitation& inv = s.invitations.at("inv_b");
  EXPECT_EQ(inv.status, InvitationStatus::kPending);
  EXPECT_TRUE(inv.ActiveAt(kT0 + kWeek - 1));
  EXPECT_TRUE(inv.ExpiredAt(kT0 + kWeek));
  EXPECT_EQ(inv.sent_at, kT0);
  EXPECT_EQ(inv.invited_by, "service");
  EXPECT_EQ(s.version, 5u);
}

TEST(Evolve, DigestIsStableAndSensitive) {
  auto a = Fold(World());
  auto b = Fold(World());
  EXPECT_EQ(StateDigest(a), StateDigest(b));
  auto c = Fold(World({LinkJoin("w1", "x", "viewer")}));
  EXPECT_NE(StateDigest(a), StateDigest(c));
}

TEST(ValidateEmail, AcceptsOrdinaryAddressesAndRejectsTheRest) {
  for (const char* ok : {"a@b.co", "first.last+tag@sub.example.org", "ÄÖ@exämple.de"}) {
    EXPECT_TRUE(ValidateEmail(ok, "email").ok()) << ok;
  }
  for (const char* bad : {"", "a", "a@", "@b.co", "a@b", "a@@b.co", "a@b..co", "a@.b.co",
                          "a@b.co.", "a b@c.de", "a\t@b.co"}) {
    Status st = ValidateEmail(bad, "email");
    EXPECT_EQ(st.code(), ErrorCode::kInvalidEmail) << bad;
    EXPECT_EQ(st.message().rfind("email:", 0), 0u) << st.message();
  }
  EXPECT_FALSE(ValidateEmail(std::string(65, 'a') + "@b.co", "email").ok());
  EXPECT_FALSE(ValidateEmail("a@" + std::string(260, 'b') + ".co", "email").ok());
}

TEST(RandomIdSource, FreshIdsAndTokensNeverRepeatAlsoAcrossAFork) {
  RandomIdSource ids;
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    std::string token = ids.NewToken();
    ASSERT_EQ(token.size(), 43u);
    ASSERT_TRUE(seen.insert(token).second);
    std::string id = ids.NewId("inv_", 20);
    ASSERT_EQ(id.size(), 24u);
    ASSERT_TRUE(seen.insert(id).second);
  }
  // A forked child must not hand out the parent's buffered bytes.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string t = ids.NewToken();
    ssize_t n = ::write(fds[1], t.data(), t.size());
    ::_exit(n == static_cast<ssize_t>(t.size()) ? 0 : 1);
  }
  std::string parent = ids.NewToken();
  char buf[64] = {};
  ssize_t n = ::read(fds[0], buf, 43);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_EQ(n, 43);
  EXPECT_NE(std::string(buf, 43), parent);
}

TEST(Actor, RendersAsTheEnvelopeActor) {
  EXPECT_EQ(Actor::User("u1", "u@x.io").ToString(), "user:u1");
  EXPECT_EQ(Actor::Service().ToString(), "service");
  Actor named = Actor::Service();
  named.service_name = "crm";
  EXPECT_EQ(named.ToString(), "service:crm");
  EXPECT_EQ(Actor::System().ToString(), "system");
}

}  // namespace
}  // namespace roster::commands
