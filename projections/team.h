// The team projector: what the Team settings pages show besides the members themselves
// (those are the access projector's workspace and account members): invitations and
// their lifecycle, the invite link card, each partner relationship's event history, and
// per-user notifications.
//
// No personal data is kept: invitations keep the email key and the vault subject;
// emails are resolved at read time (queries.h). Notification texts are rendered at read
// time from ids (names of workspaces and accounts never change).
#pragma once

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "projections/access.h"
#include "projections/catalog.h"

namespace roster::projections {

enum class InviteState : uint8_t { kPending = 0, kAccepted = 1, kCancelled = 2, kSuperseded = 3 };

// Append-only records of many owners (users, email keys, partners) in one arena, each
// linked to its owner's previous record: adding one appends to two sequential arrays and
// touches one 4-byte slot per owner, instead of growing a vector per owner (an allocation
// and a cache miss at each growth, and the page faults of a million small blocks).
template <class T>
class Chains {
 public:
  void Add(uint32_t owner, const T& item) {
    if (owner >= last_.size()) last_.resize(std::max<size_t>(owner + 1, last_.size() * 3 / 2), kNone);
    prev_.push_back(last_[owner]);
    last_[owner] = static_cast<uint32_t>(items_.size());
    items_.push_back(item);
  }
  void Reserve(size_t n) {
    items_.reserve(n);
    prev_.reserve(n);
  }
  // The owner's records, oldest first.
  std::vector<const T*> List(uint32_t owner) const {
    std::vector<const T*> out;
    for (uint32_t i = owner < last_.size() ? last_[owner] : kNone; i != kNone; i = prev_[i]) {
      out.push_back(&items_[i]);
    }
    std::reverse(out.begin(), out.end());
    return out;
  }
  bool Empty(uint32_t owner) const { return owner >= last_.size() || last_[owner] == kNone; }
  // Owners with at least one record are below this bound.
  size_t OwnerBound() const { return last_.size(); }

 private:
  BigVector<T> items_;        // in insertion order
  BigVector<uint32_t> prev_;  // prev_[i]: the owner's record before items_[i], kNone: none
  std::vector<uint32_t> last_;  // by owner: its newest record, kNone: none
};

struct Invitation {
  uint32_t id = kNone;  // label id of invitation_id
  uint32_t workspace = kNone;
  uint32_t email_key = kNone;  // Team::EmailKey(): id among the email keys the team saw
  std::string_view subject;    // in the team's string pool (stable)
  uint32_t role = kNone;  // label id
  // Module overrides and scope; null (most invitations) when neither restricts.
  std::shared_ptr<const GrantExtras> extras;
  InviteState state = InviteState::kPending;
  uint32_t invited_by = kNone;  // label id of the actor
  uint64_t sent_position = 0;
  Micros first_sent_at = 0;
  Micros sent_at = 0;  // latest send (resend moves it)
  Micros expires_at = 0;
};

struct InviteLink {
  uint32_t role = kNone;
  bool enabled = false;
  Micros created_at = 0;
  uint32_t created_by = kNone;
  uint64_t created_position = 0;
  Micros updated_at = 0;
};

// One event of a partner relationship; the detail page reads the event itself back from
// the store (queries.h), as audit entries do.
struct PartnerEvent {
  uint64_t position = 0;
  Micros at = 0;
  uint32_t actor = kNone;
};

enum class NoteKind : uint8_t {
  kInvited = 0,
  kInviteResent = 1,
  kInviteCancelled = 2,
  kAccountAdded = 3,
  kRoleChanged = 4,
  kAccessChanged = 5,
  kScopeChanged = 6,
  kRemoved = 7,
  kAccountRoleChanged = 8,
  kAccountRemoved = 9,
  kPartnerInvited = 10,
  kPartnerAccepted = 11,
  kPartnerAccessChanged = 12,
  kPartnerSetsChanged = 13,
  kPartnerSuspended = 14,
  kPartnerResumed = 15,
  kPartnerRevoked = 16,
  kShareGranted = 17,
  kShareRemoved = 18,
  kJoined = 19,
};

// A notification, rendered at read time. `a` is a workspace id (or an account id for
// account and share notes), `b`/`c` label ids or an account id, by kind.
struct Note {
  uint64_t position = 0;
  Micros at = 0;
  NoteKind kind = NoteKind::kInvited;
  uint32_t a = kNone, b = kNone, c = kNone;
};

class Team {
 public:
  Team() = default;
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  // After catalog and access have applied the same event.
  void Apply(const events::RecordedEvent& recorded, const Catalog& catalog, const Access& access,
             const EventIds& ids);

  const Invitation* FindInvitation(uint32_t label) const {
    if (label >= invitation_index_.size() || invitation_index_[label] == kNone) return nullptr;
    return &invitations_[invitation_index_[label]];
  }
  const std::vector<uint32_t>& WorkspaceInvitations(uint32_t ws) const;  // indexes, sent order
  const Invitation& invitation_at(uint32_t index) const { return invitations_[index]; }
  const InviteLink* FindLink(uint32_t ws) const {
    auto it = links_.find(ws);
    return it == links_.end() ? nullptr : &it->second;
  }
  // Oldest first; the pointers stay valid until the next Apply.
  std::vector<const PartnerEvent*> PartnerHistory(uint32_t partner_label) const {
    return partner_history_.List(partner_label);
  }
  std::vector<const Note*> UserNotes(uint32_t user) const { return user_notes_.List(user); }
  std::vector<const Note*> EmailNotes(std::string_view email_key) const;
  const std::string& EmailKey(const Invitation& inv) const { return email_keys_.Name(inv.email_key); }
  // Room for a log of `events` (a catch-up knows the head): at most about one note each.
  void Reserve(uint64_t events) { user_notes_.Reserve(events); }

  static std::string_view NoteKindName(NoteKind kind);
  static std::string NoteText(const Note& note, const Catalog& catalog);

  void Save(Writer& w) const;
  // Loads into a freshly constructed Team; the catalog must be loaded first.
  bool Load(Reader& r, const Catalog& catalog);

 private:
  std::string_view Pool(std::string_view s);  // a stable copy in pool_

  BigVector<Invitation> invitations_;                      // sent order
  // Indexed by dense ids (label, workspace, user, email key id): no hashing on apply.
  std::vector<uint32_t> invitation_index_;                 // label → index (kNone: none)
  std::vector<std::vector<uint32_t>> ws_invitations_;       // derived
  boost::unordered_flat_map<uint32_t, InviteLink> links_;  // by workspace
  Chains<PartnerEvent> partner_history_;  // by partner label
  Chains<Note> user_notes_;                // by user id
  Interner email_keys_;                    // email keys of invitations (and their notes)
  Chains<Note> email_notes_;               // by email_keys_ id
  // Invitation subjects, back to back in blocks that never move.
  std::vector<std::unique_ptr<char[]>> pool_;
  size_t pool_used_ = 0, pool_size_ = 0;
};

}  // namespace roster::projections
