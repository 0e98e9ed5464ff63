// Query inputs and answers: plain structs, one per API answer (API.md). The JSON shapes
// are rendered from these by projections/json.h, shared by the gateway and the CLI.
//
// Every answer carries `position`: the log position whose state it reflects.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "base/clock.h"
#include "events/event_types.h"
#include "policy/policy.h"

namespace roster::projections {

// ---- Past moments ----

// Which state a query reads: live (the latest applied position), right after the event at
// `position` (inclusive), or right after the last event recorded at or before `time`.
// A position beyond what has been applied is clamped to the applied position (the
// answer's `position` says which state was read).
struct AsOf {
  enum class Kind : uint8_t { kLive, kPosition, kTime };
  Kind kind = Kind::kLive;
  uint64_t position = 0;
  Micros time = 0;

  static AsOf Live() { return {}; }
  static AsOf Position(uint64_t p) { return {Kind::kPosition, p, 0}; }
  static AsOf Time(Micros t) { return {Kind::kTime, 0, t}; }
  bool live() const { return kind == Kind::kLive; }
};

// ---- Access ----

// How a principal holds access. When several paths allow a check, the reason names the
// first in this order.
enum class Via : uint8_t {
  kAccountMember = 0,
  kWorkspaceMember = 1,
  kPartner = 2,
  kSharedAccess = 3,
};
std::string_view ViaName(Via via);  // "account_member", ...

// Where a check is asked (market=, set=, group=). Views must outlive the call.
using Where = policy::Where;

// Why a check was allowed. The string_views point into the projection's interned names:
// valid while the Engine that answered lives.
struct Reason {
  Via via = Via::kAccountMember;
  std::string_view role;  // the role; the access level for partners; "shared" or
                          // "shared_billing" for shared access
  uint64_t granted_position = 0;  // the event that created the current grant
  Micros granted_at = 0;
  std::string_view granted_by;  // that event's actor ("ana" for "user:ana")
};

struct Decision {
  bool allowed = false;
  std::optional<Reason> reason;  // set iff allowed
  uint64_t position = 0;
};

struct Holder {
  std::string user_id;
  Via via = Via::kAccountMember;
  std::string role;
};
struct WhoHasResult {
  std::vector<Holder> principals;  // sorted by user_id, one entry per user (preferred path)
  uint64_t position = 0;
};

struct WorkspaceAccess {
  std::string workspace_id, account_id, role;
  Via via = Via::kAccountMember;
  std::vector<std::string> permissions;  // policy::ListPermissions (partners/shares: theirs)
  events::AccessMap access;              // workspace members: module overrides
  events::Scope scope;                   // workspace members: scope; partners: sets
};
struct UserAccessResult {
  std::vector<WorkspaceAccess> workspaces;  // by workspace_id, then path preference
  uint64_t position = 0;
};

struct Interval {
  std::string role;
  Via via = Via::kWorkspaceMember;
  uint64_t from_position = 0;
  Micros from_time = 0;
  std::optional<uint64_t> to_position;  // nullopt: still open
  std::optional<Micros> to_time;
  std::string granted_by;
  std::optional<std::string> revoked_by;
  events::AccessMap access;  // workspace members
  events::Scope scope;       // workspace members; partners: the sets
  std::string partner_id;    // partners
};
struct AccessHistoryResult {
  std::vector<Interval> intervals;  // by from_position
  uint64_t position = 0;
};

struct ReviewEntry {
  std::string user_id, role;
  Via via = Via::kWorkspaceMember;
};
struct RoleChange {
  std::string user_id, from_role, to_role;
};
struct AccessReviewResult {
  std::vector<ReviewEntry> gained, lost;  // sorted by user_id
  std::vector<RoleChange> changed;
  uint64_t from_position = 0, to_position = 0;
  uint64_t position = 0;
};

// ---- Team views ----

// A resolved email: the plaintext, or nullopt + erased when the vault no longer has it.
struct Email {
  std::optional<std::string> email;
  bool erased = false;
};

// Pagination of lists (API.md: limit default 100, max 1000; opaque cursor).
struct PageRequest {
  size_t limit = 100;
  std::string cursor;  // "" = from the start
};
inline constexpr size_t kDefaultLimit = 100;
inline constexpr size_t kMaxLimit = 1000;

struct MemberView {
  std::string user_id;
  Email email;
  std::string role;
  events::AccessMap access;
  events::Scope scope;
  std::string source;  // account | invite | link
  Micros joined_at = 0;
  uint64_t joined_position = 0;
};
struct MembersResult {
  std::vector<MemberView> members;  // by joined_position
  std::optional<std::string> next_cursor;
  uint64_t position = 0;
};

enum class InviteStatusFilter : uint8_t { kPending, kExpired, kAccepted, kCancelled, kSuperseded, kAll };
// "pending" ... "all"; false for anything else.
bool ParseInviteStatus(std::string_view text, InviteStatusFilter* out);

struct InvitationView {
  std::string invitation_id, workspace_id;
  Email email;
  std::string role;
  events::AccessMap access;
  events::Scope scope;
  std::string status;  // pending | expired | accepted | cancelled | superseded
  std::string invited_by;
  Micros sent_at = 0;        // the latest send (a resend moves it)
  Micros first_sent_at = 0;  // the original send
  Micros expires_at = 0;
  uint64_t sent_position = 0;
};
struct InvitationsResult {
  std::vector<InvitationView> invitations;  // by sent position (original send)
  std::optional<std::string> next_cursor;
  uint64_t position = 0;
};

struct LinkView {
  std::string workspace_id, role;
  bool enabled = false;
  Micros created_at = 0;
  std::string created_by;
  uint64_t created_position = 0;
  Micros updated_at = 0;  // last create/role change/regenerate/disable
  uint64_t position = 0;
};

struct PartnerHistoryItem {
  uint64_t position = 0;
  std::string type;
  Micros at = 0;
  std::string actor;
  boost::json::object fields;  // the event's fields except workspace_id and partner_id
};
struct PartnerView {
  std::string partner_id, workspace_id, partner_account_id;
  std::string status;  // invited | active | suspended | revoked
  std::string access_level;
  std::vector<std::string> sets;
  std::vector<PartnerHistoryItem> history;
  uint64_t position = 0;
};
struct PartnersResult {
  std::vector<PartnerView> partners;  // by invitation position
  uint64_t position = 0;
};

struct ShareView {
  std::string account_id, grantee_user_id, grantee_account_id;
  bool all_containers = false;
  std::vector<std::string> containers;
  bool billing = false;
  uint64_t granted_position = 0;
  Micros granted_at = 0;
  std::string granted_by;
};
struct SharesResult {
  std::vector<ShareView> shares;  // active grants only
  uint64_t position = 0;
};

struct AccountMemberView {
  std::string user_id;
  Email email;
  std::string role;
  Micros joined_at = 0;
  uint64_t joined_position = 0;
};
struct WorkspaceSummary {
  std::string workspace_id, name, template_name;
};
struct AccountView {
  std::string account_id, name, plan, region;
  std::vector<AccountMemberView> members;  // by joined_position
  std::vector<WorkspaceSummary> workspaces;  // creation order
  uint64_t position = 0;
};

struct WorkspaceView {
  std::string workspace_id, account_id, name, template_name;
  int64_t invite_ttl_seconds = 0;
  std::map<std::string, policy::Patterns> roles;  // template roles + custom definitions
  uint64_t position = 0;
};

struct NotificationView {
  uint64_t position = 0;
  std::string kind, text;
  Micros recorded_at = 0;
};
struct NotificationsResult {
  std::vector<NotificationView> notifications;  // newest first
  std::optional<std::string> next_cursor;
  uint64_t position = 0;
};

// ---- Audit ----

struct AuditFilter {
  std::string account, workspace, actor, subject, type;  // "" = any
  std::optional<Micros> from, to;                        // inclusive recorded_at bounds
};

struct AuditEntry {
  uint64_t position = 0;
  Micros recorded_at = 0;
  std::string type, actor, subject;
  std::optional<std::string> account_id, workspace_id;
  std::string summary;
  boost::json::object data;  // the payload, email keys replaced by resolved emails
  std::string hash;          // hex
};
struct AuditPage {
  std::vector<AuditEntry> entries;
  std::optional<std::string> next_cursor;
  uint64_t position = 0;
};

// Opaque cursors: base64url of "p<decimal position>". Parse fails on anything else.
std::string EncodeCursor(uint64_t position);
bool DecodeCursor(std::string_view cursor, uint64_t* position);

}  // namespace roster::projections
