// AccountState: the folded state of one account stream (`account-<account_id>`), the one
// consistency boundary every domain rule is checked in (DESIGN.md "Aggregates and
// streams"). Built only by Evolve() from the stream's events; read by the decider
// (decider.h) and, as copies, by the gateway (CommandHandler::SnapshotAccount).
//
// Plain values, no locks: a state is owned by one thread at a time (the handler keeps
// each cached state under its account's mutex and hands out copies).
// Light includes only: this header is included by the gateway.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "events/event_types.h"

namespace roster::commands {

// The stream that holds an account: "account-<account_id>".
std::string AccountStream(std::string_view account_id);
// The stream of SubjectErased events.
inline constexpr std::string_view kPrivacyStream = "privacy";

// A member of the whole account: reaches every workspace with `role` (owner|admin|viewer).
struct AccountMember {
  std::string user_id;
  events::Bytes email_key;
  std::string subject;
  std::string role;
  uint64_t joined_position = 0;
  Micros joined_at = 0;
  friend bool operator==(const AccountMember&, const AccountMember&) = default;
};

// A member of one workspace (joined by invitation or by the invite link).
struct WorkspaceMember {
  std::string user_id;
  events::Bytes email_key;
  std::string subject;
  std::string role;
  events::AccessMap access;  // per-module overrides (none|view|edit|manage)
  events::Scope scope;
  std::string source;        // "invite" | "link"
  uint64_t joined_position = 0;
  Micros joined_at = 0;
  friend bool operator==(const WorkspaceMember&, const WorkspaceMember&) = default;
};

enum class InvitationStatus : uint8_t { kPending, kAccepted, kCancelled, kSuperseded };
std::string_view InvitationStatusName(InvitationStatus status);

struct Invitation {
  std::string invitation_id;
  std::string workspace_id;
  events::Bytes email_key;
  std::string subject;
  std::string role;
  events::AccessMap access;
  events::Scope scope;
  events::Bytes token_hash;  // SHA-256 of the current token; a resend replaces it
  Micros sent_at = 0;
  Micros expires_at = 0;
  std::string invited_by;    // envelope actor of InviteSent
  InvitationStatus status = InvitationStatus::kPending;
  std::string superseded_by;
  // Expired is derived, never stored: a pending invitation whose expiry has passed.
  bool ExpiredAt(Micros now) const {
    return status == InvitationStatus::kPending && now >= expires_at;
  }
  // Pending and not expired: the only state in which it blocks a new invite (rule 2).
  bool ActiveAt(Micros now) const {
    return status == InvitationStatus::kPending && now < expires_at;
  }
  friend bool operator==(const Invitation&, const Invitation&) = default;
};

// The workspace's invite link (rule 11). Kept after LinkDisabled (enabled = false).
struct InviteLink {
  std::string role;
  events::Bytes token_hash;
  bool enabled = false;
  Micros created_at = 0;
  std::string created_by;  // envelope actor of LinkCreated
  friend bool operator==(const InviteLink&, const InviteLink&) = default;
};

struct Workspace {
  std::string workspace_id;
  std::string name;
  std::string template_name;  // standard | orders | partner_program
  int64_t invite_ttl_seconds = 0;
  std::map<std::string, std::vector<std::string>> custom_roles;  // RoleDefined
  std::map<std::string, WorkspaceMember> members;                // by user_id
  std::optional<InviteLink> link;
  Micros created_at = 0;
  uint64_t created_position = 0;
  // Index derived by Evolve: member email key → user_id (rule 4 without a scan).
  std::unordered_map<std::string, std::string> members_by_email;
  friend bool operator==(const Workspace&, const Workspace&) = default;
};

enum class PartnerStatus : uint8_t { kInvited, kActive, kSuspended, kRevoked };
std::string_view PartnerStatusName(PartnerStatus status);

struct Partner {
  std::string partner_id;
  std::string workspace_id;
  std::string partner_account_id;
  std::string access_level;       // view | download | edit
  std::vector<std::string> sets;  // assigned sets, in assignment order
  PartnerStatus status = PartnerStatus::kInvited;
  friend bool operator==(const Partner&, const Partner&) = default;
};

// Account-level shared access given to a user of another (standard) account (rule 14).
struct ShareGrant {
  std::string grantee_user_id;
  std::string grantee_account_id;
  bool all_containers = false;
  std::vector<std::string> containers;
  bool billing = false;
  uint64_t granted_position = 0;
  friend bool operator==(const ShareGrant&, const ShareGrant&) = default;
};

struct AccountState {
  bool exists = false;  // AccountOpened seen
  std::string account_id, name, plan, region;
  uint64_t version = 0;        // stream version of the last applied event (0 = empty)
  uint64_t last_position = 0;  // global position of the last applied event
  std::map<std::string, AccountMember> members;      // by user_id
  std::map<std::string, Workspace> workspaces;       // by workspace_id
  // By invitation_id, every status. Hashed: an account gathers thousands, and every
  // command on an invitation looks one up (StateDigest sorts them).
  std::unordered_map<std::string, Invitation> invitations;
  std::map<std::string, Partner> partners;           // by partner_id, revoked ones too
  std::map<std::string, ShareGrant> shares;          // by grantee_user_id, live grants only

  // ---- indexes, derived by Evolve from the fields above (not part of StateDigest) ----
  // Point lookups only, hashed (an ordered map cost ~6 % of rosterd's CPU in the
  // invitation load benchmark: string compares down a deep tree per command).
  // Pending invitations (expired ones included) by workspace_id + '/' + email key bytes.
  std::unordered_map<std::string, std::vector<std::string>> pending_by_email;
  // Current token hash → invitation id, for every status (a resend replaces the entry).
  std::unordered_map<std::string, std::string> invitation_by_token;
  // Current link token hash → workspace id (enabled or not; the decider checks).
  std::unordered_map<std::string, std::string> link_by_token;
  // Account member email key → user_id.
  std::unordered_map<std::string, std::string> members_by_email;

  friend bool operator==(const AccountState&, const AccountState&) = default;

  const Workspace* FindWorkspace(std::string_view workspace_id) const;
  const AccountMember* FindAccountMember(std::string_view user_id) const;
  // Pending (possibly expired) invitation ids for an address in a workspace; never null.
  const std::vector<std::string>& PendingInvitations(std::string_view workspace_id,
                                                     const events::Bytes& email_key) const;
  // The invitation whose current token hash is `token_hash`, or nullptr. The final
  // comparison is constant-time (ConstantTimeEqual).
  const Invitation* FindInvitationByToken(const events::Bytes& token_hash) const;
  // The workspace whose link's current token hash is `token_hash`, or nullptr.
  const Workspace* FindWorkspaceByLinkToken(const events::Bytes& token_hash) const;
};

// Key of AccountState::pending_by_email.
std::string PendingKey(std::string_view workspace_id, const events::Bytes& email_key);

// Folds one recorded event into `state` (the stream's next event, in version order).
// Total: an event that refers to something unknown is applied as far as it can be and
// never fails (the log is the truth; deciders guard what gets written).
void Evolve(AccountState& state, const events::RecordedEvent& recorded);
// The functional form, for tests and readability.
inline AccountState Evolved(AccountState state, const events::RecordedEvent& recorded) {
  Evolve(state, recorded);
  return state;
}

// The patterns of `role` in a workspace: a workspace-defined role first (RoleDefined), else
// the template's. nullptr when the workspace has no such role.
const std::vector<std::string>* WorkspaceRolePatterns(const Workspace& ws, std::string_view role);

// True when the user holds `permission` in the workspace through account membership or
// workspace membership (role patterns + module overrides; scope is not consulted: team
// management is not market- or set-specific).
bool HoldsInWorkspace(const AccountState& state, const Workspace& ws, std::string_view user_id,
                      std::string_view permission);
// True when the user holds `permission` at account level (account member's role).
bool HoldsAtAccountLevel(const AccountState& state, std::string_view user_id,
                         std::string_view permission);

// A stable digest of a state (SHA-256 over a canonical rendering), for restart and
// rebuild comparisons in tests and tools.
std::string StateDigest(const AccountState& state);

}  // namespace roster::commands
