// Commands: what callers ask the ledger to do (imperative names), the actor who asks, and
// what a successful command answers. The gateway turns HTTP requests into these; the
// handler (handler.h) routes each to its account stream, where the account decider
// (decider.h) accepts it as events or rejects it with an ErrorCode of DESIGN.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "events/event_types.h"

namespace roster::commands {

// Who issues a command. Services act as themselves or on behalf of a user (then every
// rule is checked as that user); users come from a verified JWT.
struct Actor {
  enum class Kind : uint8_t { kService, kUser, kSystem };
  Kind kind = Kind::kService;
  std::string user_id;  // kUser: the user
  std::string email;    // kUser: the user's email (plaintext; never stored in events)
  std::string service_name;  // kService: optional key name ("service:<name>")

  static Actor Service() { return Actor{}; }
  static Actor User(std::string id, std::string email) {
    return Actor{Kind::kUser, std::move(id), std::move(email), {}};
  }
  static Actor System() { return Actor{Kind::kSystem, {}, {}, {}}; }
  bool is_user() const { return kind == Kind::kUser; }
  // "user:<id>", "service", "service:<name>" or "system" — the envelope's actor.
  std::string ToString() const;
};

// ---- Accounts ----
struct OpenAccount {
  std::string account_id;  // empty: the handler assigns one
  std::string name, plan, region;
  std::string owner_user_id, owner_email;
};
struct AddAccountMember {
  std::string account_id, user_id, email, role;
};
struct ChangeAccountMember {
  std::string account_id, user_id, role;
};
struct RemoveAccountMember {
  std::string account_id, user_id;
};

// ---- Workspaces ----
struct CreateWorkspace {
  std::string account_id;
  std::string workspace_id;  // empty: the handler assigns one
  std::string name, template_name;
  std::optional<int64_t> invite_ttl_seconds;  // default: the template's
};
struct DefineRole {
  std::string workspace_id, role;
  std::vector<std::string> permissions;
};

// ---- Members ----
struct ScopePatch {  // a listed dimension replaces the member's; empty list = unrestricted
  std::optional<std::vector<std::string>> markets, sets, groups;
};
struct UpdateMember {
  std::string workspace_id, user_id;
  std::optional<std::string> role;
  std::optional<std::map<std::string, std::string>> access;  // level or "inherit"
  std::optional<ScopePatch> scope;
};
struct RemoveMember {
  std::string workspace_id, user_id;
};

// ---- Invitations ----
struct SendInvite {
  std::string workspace_id, email, role;
  events::AccessMap access;  // levels only (no "inherit")
  events::Scope scope;
};
struct ResendInvite {
  std::string invitation_id;
};
struct CancelInvite {
  std::string invitation_id;
};
struct AcceptInvite {
  std::string token;  // actor = the joining user
};

// ---- Invite link ----
struct PutInviteLink {
  std::string workspace_id, role;
  bool confirm_admin = false;
};
struct RegenerateInviteLink {
  std::string workspace_id;
};
struct DisableInviteLink {
  std::string workspace_id;
};
struct JoinByLink {
  std::string token;  // actor = the joining user
};

// ---- Partners ----
struct InvitePartner {
  std::string workspace_id, partner_account_id, access_level;
  std::vector<std::string> sets;
};
struct AcceptPartner {
  std::string partner_id;  // actor = an admin (team.manage) of the partner account
};
struct UpdatePartner {
  std::string partner_id;
  std::optional<std::string> access_level;
  std::vector<std::string> assign_sets, revoke_sets;
};
struct SuspendPartner {
  std::string partner_id, reason;
};
struct ResumePartner {
  std::string partner_id, reason;
};
struct RevokePartner {
  std::string partner_id, reason;
};

// ---- Shared access ----
struct GrantShare {
  std::string account_id, grantee_user_id, grantee_account_id;
  bool all_containers = false;
  std::vector<std::string> containers;
  bool billing = false;
};
struct RemoveShare {  // the owner removes
  std::string account_id, grantee_user_id;
};
struct RetireShare {  // the grantee steps away
  std::string account_id, grantee_user_id;
};

// ---- Privacy ----
struct EraseSubject {
  std::string email;
};

using Command =
    std::variant<OpenAccount, AddAccountMember, ChangeAccountMember, RemoveAccountMember,
                 CreateWorkspace, DefineRole, UpdateMember, RemoveMember, SendInvite,
                 ResendInvite, CancelInvite, AcceptInvite, PutInviteLink, RegenerateInviteLink,
                 DisableInviteLink, JoinByLink, InvitePartner, AcceptPartner, UpdatePartner,
                 SuspendPartner, ResumePartner, RevokePartner, GrantShare, RemoveShare,
                 RetireShare, EraseSubject>;

// Request metadata that travels with a command.
struct CommandMeta {
  std::string idempotency_key;  // empty: none
  std::string fingerprint;      // digest of the request (method, path, body) for key reuse
  std::optional<uint64_t> if_match;  // expected account stream version (If-Match)
  std::string correlation_id;
};

// What a successful command answers (API.md "every successful command answers with...").
struct CommandResult {
  struct Appended {
    uint64_t position;
    events::EventType type;
  };
  std::vector<Appended> events;  // empty for a command that changed nothing
  uint64_t position = 0;  // global position of the last event (or the current head if none)
  uint64_t version = 0;   // the account stream's version afterwards
  std::string stream;
  bool deduplicated = false;  // answered from an earlier request with the same key

  // Command-specific outputs (set by the commands that have them).
  std::string account_id;
  std::string workspace_id;
  std::string invitation_id;
  std::string token;  // fresh invite or link token: shown once
  Micros expires_at = 0;
  std::string role;
  std::string partner_id;
  std::string status;  // partner status after the command
  bool joined = false;  // JoinByLink: false when the user already had access
  uint32_t subjects_erased = 0;
};

// Email syntax check (rule 16): one '@', non-empty local part ≤ 64, a dotted domain,
// ≤ 254 bytes, no spaces or control characters. invalid_email naming `field`.
Status ValidateEmail(std::string_view email, std::string_view field);

// Lower-cases ASCII (emails compare case-insensitively, DESIGN.md).
std::string LowerAscii(std::string_view s);

}  // namespace roster::commands
