// The access projector: who may do what, where — now and at any past position.
//
// Four ways to hold access (views.h Via), each kept as live state for the hot check
// path plus the intervals ("spans") of every grant it ever had, so as-of checks, history
// and reviews answer from the spans:
//   - account members (AccountOpened owner, AccountMemberAdded/RoleChanged/Removed):
//     their account role (policy::AccountRole) in every workspace of the account that
//     exists at the moment asked;
//   - workspace members (InviteAccepted, LinkJoined; RoleChanged, AccessChanged,
//     ScopeChanged, MemberRemoved): role + module overrides + scope;
//   - partners: the account members of the partner account of an *active* relationship
//     hold policy::PartnerPermissions(level) on the relationship's sets (a check must
//     name set=);
//   - shared access (SharedAccessGranted/Removed/Retired, in the granting account's
//     stream): policy::SharePermissions on the shared containers. Containers are the
//     granting account's workspaces (workspace form) or any resource id (account form);
//     "all" covers containers created later.
// Every change of a grant closes its open span and opens a new one carrying the full
// grant, so a span answers a past check alone (with the role's patterns as of then).
//
// Span semantics: a span opened by event f and closed by event t holds for positions
// f <= p < t ("the state right after event p").
#pragma once

#include <memory>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include "projections/catalog.h"
#include "projections/views.h"

namespace roster::projections {

inline uint64_t PairKey(uint32_t a, uint32_t b) { return (static_cast<uint64_t>(a) << 32) | b; }

struct Span {
  uint64_t from_position = 0;
  Micros from_time = 0;
  uint32_t granted_by = kNone;  // label id of the opening event's actor
  uint64_t to_position = 0;     // 0: open
  Micros to_time = 0;
  uint32_t revoked_by = kNone;

  bool open() const { return to_position == 0; }
  bool Covers(uint64_t p) const { return from_position <= p && (to_position == 0 || p < to_position); }
};

// Module overrides and scope; shared because most grants have none (null).
struct GrantExtras {
  events::AccessMap access;
  events::Scope scope;
};

struct MemberSpan : Span {
  uint32_t role = kNone;  // label id
  std::shared_ptr<const GrantExtras> extras;
};
// Most memberships have one or two spans: the first lives in the member record itself
// (no heap block per member; the records are in the big flat tables).
using MemberSpans = boost::container::small_vector<MemberSpan, 1>;

struct PartnerSpan : Span {
  uint32_t level = kNone;  // label id
  std::vector<std::string> sets;
};

struct ShareSpan : Span {
  bool all_containers = false;
  std::vector<std::string> containers;
  bool billing = false;
};

enum class MemberSource : uint8_t { kInvite = 0, kLink = 1 };

struct WorkspaceMember {
  bool live = false;
  MemberSource source = MemberSource::kInvite;
  uint64_t joined_position = 0;  // of the current membership
  Micros joined_at = 0;
  std::string subject;  // vault subject from the join event
  const RoleSlot* slot = nullptr;  // derived: the live role's slot
  MemberSpans spans;
};

struct AccountMember {
  bool live = false;
  uint64_t joined_position = 0;
  Micros joined_at = 0;
  std::string subject;
  const policy::Patterns* patterns = nullptr;  // derived: policy::AccountRole(live role)
  MemberSpans spans;
};

enum class PartnerStatus : uint8_t { kInvited = 0, kActive = 1, kSuspended = 2, kRevoked = 3 };
std::string_view PartnerStatusName(PartnerStatus status);

struct Partner {
  uint32_t id = kNone;  // label id of partner_id
  uint32_t workspace = kNone;
  uint32_t partner_account = kNone;
  PartnerStatus status = PartnerStatus::kInvited;
  uint32_t level = kNone;  // label id
  std::vector<std::string> sets;
  const policy::Patterns* permissions = nullptr;  // derived from level
  uint64_t invited_position = 0;
  Micros invited_at = 0;
  uint32_t invited_by = kNone;
  std::vector<PartnerSpan> spans;
};

struct Share {
  bool live = false;
  uint32_t grantee_account = kNone;
  bool all_containers = false;
  std::vector<std::string> containers;
  bool billing = false;
  const policy::Patterns* permissions = nullptr;  // derived from billing
  std::vector<ShareSpan> spans;
};

class Access {
 public:
  Access() = default;
  Access(const Access&) = delete;
  Access& operator=(const Access&) = delete;

  void Apply(const events::RecordedEvent& recorded, const Catalog& catalog, const EventIds& ids);

  // ---- Live queries (the hot path: no allocation) ----
  // `user`/`workspace` are catalog ids (kNone when unknown → denied).
  Decision Check(const Catalog& c, uint32_t user, uint32_t workspace, std::string_view permission,
                 const Where& where) const;
  // Account form: shared access to `resource` (a container) or billing of `account`, and
  // account members' account role.
  Decision CheckAccount(const Catalog& c, uint32_t user, uint32_t account,
                        std::string_view permission, std::string_view resource) const;

  // ---- Any position p <= catalog.position() ----
  Decision CheckAt(const Catalog& c, uint32_t user, uint32_t workspace, std::string_view permission,
                   const Where& where, uint64_t p) const;
  Decision CheckAccountAt(const Catalog& c, uint32_t user, uint32_t account,
                          std::string_view permission, std::string_view resource,
                          uint64_t p) const;
  // Who holds `permission` in the workspace at p. Unspecified scope dimensions do not
  // restrict ("who can approve orders?" lists a member scoped to DE; "in FR?" does not).
  WhoHasResult WhoHas(const Catalog& c, uint32_t workspace, std::string_view permission,
                      const Where& where, uint64_t p) const;
  // Every workspace the user reaches at p, one entry per path.
  UserAccessResult UserAccess(const Catalog& c, uint32_t user, uint64_t p) const;
  // Every interval of the user's access to the workspace, by any path, up to p.
  AccessHistoryResult History(const Catalog& c, uint32_t workspace, uint32_t user,
                              uint64_t p) const;
  // Everyone with any access to the workspace at p: user id → (via, role), preferred path.
  std::map<std::string, ReviewEntry> Everyone(const Catalog& c, uint32_t workspace,
                                              uint64_t p) const;

  // ---- Team views read these ----
  const WorkspaceMember* FindWorkspaceMember(uint32_t ws, uint32_t user) const;
  const AccountMember* FindAccountMember(uint32_t account, uint32_t user) const;
  const Partner* FindPartner(uint32_t partner_label) const;
  const Share* FindShare(uint32_t account, uint32_t user) const;
  // Users that were ever workspace members / account members / share grantees.
  const std::vector<uint32_t>& WorkspaceUsers(uint32_t ws) const { return Get(ws_users_, ws); }
  const std::vector<uint32_t>& AccountUsers(uint32_t account) const {
    return Get(account_users_, account);
  }
  const std::vector<uint32_t>& ShareGrantees(uint32_t account) const {
    return Get(account_grantees_, account);
  }
  const std::vector<uint32_t>& ShareAccountsOf(uint32_t user) const {
    return Get(user_share_accounts_, user);
  }
  const std::vector<uint32_t>& WorkspacePartners(uint32_t ws) const {  // partner indexes
    return Get(ws_partners_, ws);
  }
  const std::vector<uint32_t>& PartnersOfAccount(uint32_t partner_account) const {
    return Get(partner_account_partners_, partner_account);
  }
  const Partner& partner_at(uint32_t index) const { return partners_[index]; }

  void Save(Writer& w) const;
  // Loads into a freshly constructed Access; the catalog must be loaded first.
  bool Load(Reader& r, const Catalog& catalog);

 private:
  // Lists indexed by a dense catalog id (workspace, user, account).
  using IdLists = std::vector<std::vector<uint32_t>>;
  static const std::vector<uint32_t>& Get(const IdLists& lists, uint32_t id) {
    static const std::vector<uint32_t> kEmpty;
    return id < lists.size() ? lists[id] : kEmpty;
  }
  static void Add(IdLists& lists, uint32_t id, uint32_t value) {
    if (id == kNone) return;
    if (id >= lists.size()) lists.resize(std::max<size_t>(id + 1, lists.size() * 3 / 2));
    lists[id].push_back(value);
  }
  void RebuildIndexes(const Catalog& catalog);
  std::optional<Reason> PartnerReason(const Catalog& c, uint32_t user, uint32_t ws,
                                      std::string_view permission, const Where& where,
                                      uint64_t p, bool live) const;

  // Open-addressing (flat) maps: one probe of a metadata group and the slot itself,
  // instead of a bucket array plus a heap node per entry (the check path's cache misses).
  // References into them are valid until the next insert: taken under the lock only.
  template <class V>
  using PairMap = boost::unordered_flat_map<uint64_t, V, boost::hash<uint64_t>,
                                            std::equal_to<uint64_t>,
                                            BigAllocator<std::pair<const uint64_t, V>>>;
  PairMap<WorkspaceMember> ws_members_;   // (workspace, user)
  PairMap<AccountMember> account_members_;  // (account, user)
  std::vector<Partner> partners_;           // invitation order
  boost::unordered_flat_map<uint32_t, uint32_t> partner_index_;  // label id → index
  PairMap<Share> shares_;                   // (account, grantee)

  // Derived (rebuilt on load), append-only "ever" indexes, by dense id.
  IdLists ws_users_, user_workspaces_;
  IdLists account_users_, user_accounts_;
  IdLists ws_partners_, partner_account_partners_;
  IdLists account_grantees_, user_share_accounts_;
};

// Static pattern sets (built once): partner levels and shared access.
const policy::Patterns* PartnerPatterns(std::string_view level);
const policy::Patterns* SharePatterns(bool billing);

}  // namespace roster::projections
