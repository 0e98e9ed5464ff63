#include "projections/team.h"

#include <algorithm>

#include "events/codec.h"
#include "projections/fields.h"

namespace roster::projections {
namespace {

template <class M>
std::vector<typename M::key_type> SortedKeys(const M& m) {
  std::vector<typename M::key_type> keys;
  keys.reserve(m.size());
  for (const auto& [k, v] : m) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

void SaveNotes(Writer& w, const std::vector<Note>& notes) {
  w.U64(notes.size());
  uint64_t prev = 0;
  for (const Note& n : notes) {
    w.U64(n.position - prev);
    prev = n.position;
    w.I64(n.at);
    w.U8(static_cast<uint8_t>(n.kind));
    w.U32(n.a);
    w.U32(n.b);
    w.U32(n.c);
  }
}

std::vector<Note> LoadNotes(Reader& r) {
  std::vector<Note> notes(r.Count(7));
  uint64_t prev = 0;
  for (Note& n : notes) {
    n.position = prev + r.U64();
    prev = n.position;
    n.at = r.I64();
    n.kind = static_cast<NoteKind>(r.U8());
    if (static_cast<uint8_t>(n.kind) > static_cast<uint8_t>(NoteKind::kJoined)) r.Fail();
    n.a = r.U32();
    n.b = r.U32();
    n.c = r.U32();
  }
  return notes;
}

template <class T>
T& Slot(std::vector<T>& v, uint32_t id, const T& fill = T()) {
  if (id >= v.size()) v.resize(std::max<size_t>(id + 1, v.size() * 3 / 2), fill);
  return v[id];
}

}  // namespace

void Team::Apply(const events::RecordedEvent& r, const Catalog& /*catalog*/, const Access& access,
                 const EventIds& ids) {
  const events::Envelope& env = r.envelope;
  const uint64_t p = env.position;
  const Micros t = env.recorded_at;
  const uint32_t actor = ids.actor;
  const uint32_t account = ids.account;
  const uint32_t ws = ids.workspace;

  // Every id below was resolved once by Catalog::Apply (ids): no string lookups here.
  auto note_user = [&](NoteKind kind, uint32_t a, uint32_t b = kNone, uint32_t cc = kNone) {
    if (ids.user == kNone) return;
    Slot(user_notes_, ids.user).push_back(Note{p, t, kind, a, b, cc});
  };
  auto find_invitation = [&]() -> Invitation* {
    uint32_t label = ids.item;
    if (label >= invitation_index_.size() || invitation_index_[label] == kNone) return nullptr;
    return &invitations_[invitation_index_[label]];
  };
  // Partner notes go to the partner account's members at the time.
  auto note_partner = [&](NoteKind kind, uint32_t b = kNone) {
    uint32_t label = ids.item;
    const Partner* pr = access.FindPartner(label);
    if (pr == nullptr) return;
    partner_history_[label].push_back(PartnerEvent{p, t, actor, r.event});
    for (uint32_t user : access.AccountUsers(pr->partner_account)) {
      const AccountMember* m = access.FindAccountMember(pr->partner_account, user);
      if (m != nullptr && m->live) {
        Slot(user_notes_, user).push_back(Note{p, t, kind, pr->workspace, pr->partner_account, b});
      }
    }
  };
  auto link = [&]() -> InviteLink* {
    auto it = links_.find(ws);
    return it == links_.end() ? nullptr : &it->second;
  };

  std::visit(
      Overloaded{
          [&](const events::AccountMemberAdded&) {
            note_user(NoteKind::kAccountAdded, account, ids.role);
          },
          [&](const events::AccountMemberRoleChanged&) {
            note_user(NoteKind::kAccountRoleChanged, account,
                      ids.from_role, ids.role);
          },
          [&](const events::AccountMemberRemoved&) {
            note_user(NoteKind::kAccountRemoved, account);
          },
          [&](const events::RoleChanged&) {
            note_user(NoteKind::kRoleChanged, ws, ids.from_role,
                      ids.role);
          },
          [&](const events::AccessChanged&) {
            note_user(NoteKind::kAccessChanged, ws);
          },
          [&](const events::ScopeChanged&) { note_user(NoteKind::kScopeChanged, ws); },
          [&](const events::MemberRemoved&) { note_user(NoteKind::kRemoved, ws); },
          [&](const events::InviteSent& e) {
            uint32_t label = ids.item;
            if (ws == kNone || FindInvitation(label) != nullptr) return;
            Invitation inv;
            inv.id = label;
            inv.workspace = ws;
            inv.email_key = e.email_key.data;
            inv.subject = e.subject;
            inv.role = ids.role;
            inv.access = e.access;
            inv.scope = e.scope;
            inv.invited_by = actor;
            inv.sent_position = p;
            inv.first_sent_at = t;
            inv.sent_at = t;
            inv.expires_at = e.expires_at;
            auto index = static_cast<uint32_t>(invitations_.size());
            invitations_.push_back(std::move(inv));
            Slot(invitation_index_, label, kNone) = index;
            Slot(ws_invitations_, ws).push_back(index);
            Slot(email_notes_, email_keys_.Intern(e.email_key.data)).push_back(
                Note{p, t, NoteKind::kInvited, ws, ids.role});
          },
          [&](const events::InviteResent& e) {
            if (Invitation* inv = find_invitation()) {
              inv->sent_at = t;
              inv->expires_at = e.expires_at;
              Slot(email_notes_, email_keys_.Intern(inv->email_key))
                  .push_back(Note{p, t, NoteKind::kInviteResent, ws});
            }
          },
          [&](const events::InviteCancelled&) {
            if (Invitation* inv = find_invitation()) {
              inv->state = InviteState::kCancelled;
              Slot(email_notes_, email_keys_.Intern(inv->email_key))
                  .push_back(Note{p, t, NoteKind::kInviteCancelled, ws});
            }
          },
          [&](const events::InviteSuperseded&) {
            if (Invitation* inv = find_invitation()) {
              inv->state = InviteState::kSuperseded;
            }
          },
          [&](const events::InviteAccepted&) {
            if (Invitation* inv = find_invitation()) {
              inv->state = InviteState::kAccepted;
            }
            note_user(NoteKind::kJoined, ws, ids.role);
          },
          [&](const events::LinkCreated&) {
            InviteLink& l = links_[ws];
            l.role = ids.role;
            l.enabled = true;
            l.created_at = t;
            l.created_by = actor;
            l.created_position = p;
            l.updated_at = t;
          },
          [&](const events::LinkRoleChanged&) {
            if (InviteLink* l = link()) {
              l->role = ids.role;
              l->updated_at = t;
            }
          },
          [&](const events::LinkRegenerated&) {
            if (InviteLink* l = link()) {
              l->enabled = true;
              l->updated_at = t;
            }
          },
          [&](const events::LinkDisabled&) {
            if (InviteLink* l = link()) {
              l->enabled = false;
              l->updated_at = t;
            }
          },
          [&](const events::LinkJoined&) {
            note_user(NoteKind::kJoined, ws, ids.role);
          },
          [&](const events::PartnerInvited&) {
            note_partner(NoteKind::kPartnerInvited);
          },
          [&](const events::PartnerAccepted&) {
            note_partner(NoteKind::kPartnerAccepted);
          },
          [&](const events::PartnerAccessChanged&) {
            note_partner(NoteKind::kPartnerAccessChanged, ids.role);
          },
          [&](const events::PartnerSetsAssigned&) {
            note_partner(NoteKind::kPartnerSetsChanged);
          },
          [&](const events::PartnerSetsRevoked&) {
            note_partner(NoteKind::kPartnerSetsChanged);
          },
          [&](const events::PartnerSuspended&) {
            note_partner(NoteKind::kPartnerSuspended);
          },
          [&](const events::PartnerResumed&) {
            note_partner(NoteKind::kPartnerResumed);
          },
          [&](const events::PartnerRevoked&) {
            note_partner(NoteKind::kPartnerRevoked);
          },
          [&](const events::SharedAccessGranted&) {
            note_user(NoteKind::kShareGranted, account);
          },
          [&](const events::SharedAccessRemoved&) {
            note_user(NoteKind::kShareRemoved, account);
          },
          [&](const auto&) {},
      },
      r.event);
}

const std::vector<uint32_t>& Team::WorkspaceInvitations(uint32_t ws) const {
  static const std::vector<uint32_t> kEmpty;
  return ws < ws_invitations_.size() ? ws_invitations_[ws] : kEmpty;
}

const std::vector<PartnerEvent>& Team::PartnerHistory(uint32_t label) const {
  static const std::vector<PartnerEvent> kEmpty;
  auto it = partner_history_.find(label);
  return it == partner_history_.end() ? kEmpty : it->second;
}

const std::vector<Note>& Team::UserNotes(uint32_t user) const {
  static const std::vector<Note> kEmpty;
  return user < user_notes_.size() ? user_notes_[user] : kEmpty;
}

const std::vector<Note>& Team::EmailNotes(const std::string& key) const {
  static const std::vector<Note> kEmpty;
  uint32_t id = email_keys_.Find(key);
  return id < email_notes_.size() ? email_notes_[id] : kEmpty;
}

std::string_view Team::NoteKindName(NoteKind kind) {
  switch (kind) {
    case NoteKind::kInvited: return "invited";
    case NoteKind::kInviteResent: return "invite_resent";
    case NoteKind::kInviteCancelled: return "invite_cancelled";
    case NoteKind::kAccountAdded: return "account_added";
    case NoteKind::kRoleChanged: return "role_changed";
    case NoteKind::kAccessChanged: return "access_changed";
    case NoteKind::kScopeChanged: return "scope_changed";
    case NoteKind::kRemoved: return "removed";
    case NoteKind::kAccountRoleChanged: return "role_changed";
    case NoteKind::kAccountRemoved: return "removed";
    case NoteKind::kPartnerInvited: return "partner_invited";
    case NoteKind::kPartnerAccepted: return "partner_accepted";
    case NoteKind::kPartnerAccessChanged: return "partner_access_changed";
    case NoteKind::kPartnerSetsChanged: return "partner_sets_changed";
    case NoteKind::kPartnerSuspended: return "partner_suspended";
    case NoteKind::kPartnerResumed: return "partner_resumed";
    case NoteKind::kPartnerRevoked: return "partner_revoked";
    case NoteKind::kShareGranted: return "share_granted";
    case NoteKind::kShareRemoved: return "share_removed";
    case NoteKind::kJoined: return "joined";
  }
  return "unknown";
}

std::string Team::NoteText(const Note& n, const Catalog& c) {
  auto ws_name = [&](uint32_t id) -> std::string {
    const WorkspaceInfo* w = c.workspace(id);
    return w && !w->name.empty() ? w->name : c.workspaces.Name(id);
  };
  auto account_name = [&](uint32_t id) -> std::string {
    const AccountInfo* a = c.account(id);
    return a && !a->name.empty() ? a->name : c.accounts.Name(id);
  };
  const std::string& b = c.labels.Name(n.b);
  const std::string& cc = c.labels.Name(n.c);
  switch (n.kind) {
    case NoteKind::kInvited:
      return "You were invited to " + ws_name(n.a) + " as " + b;
    case NoteKind::kInviteResent:
      return "Your invitation to " + ws_name(n.a) + " was sent again";
    case NoteKind::kInviteCancelled:
      return "Your invitation to " + ws_name(n.a) + " was cancelled";
    case NoteKind::kAccountAdded:
      return "You were added to the account " + account_name(n.a) + " as " + b;
    case NoteKind::kRoleChanged:
      return "Your role in " + ws_name(n.a) + " changed from " + b + " to " + cc;
    case NoteKind::kAccessChanged:
      return "Your module access in " + ws_name(n.a) + " changed";
    case NoteKind::kScopeChanged:
      return "Your scope in " + ws_name(n.a) + " changed";
    case NoteKind::kRemoved:
      return "You were removed from " + ws_name(n.a);
    case NoteKind::kAccountRoleChanged:
      return "Your role in the account " + account_name(n.a) + " changed from " + b + " to " + cc;
    case NoteKind::kAccountRemoved:
      return "You were removed from the account " + account_name(n.a);
    case NoteKind::kPartnerInvited:
      return account_name(n.b) + " was invited as a partner of " + ws_name(n.a);
    case NoteKind::kPartnerAccepted:
      return "The partnership of " + account_name(n.b) + " with " + ws_name(n.a) + " is active";
    case NoteKind::kPartnerAccessChanged:
      return "The partner access level of " + account_name(n.b) + " in " + ws_name(n.a) +
             " changed to " + cc;
    case NoteKind::kPartnerSetsChanged:
      return "The sets shared with " + account_name(n.b) + " in " + ws_name(n.a) + " changed";
    case NoteKind::kPartnerSuspended:
      return "The partnership of " + account_name(n.b) + " with " + ws_name(n.a) +
             " was suspended";
    case NoteKind::kPartnerResumed:
      return "The partnership of " + account_name(n.b) + " with " + ws_name(n.a) +
             " was resumed";
    case NoteKind::kPartnerRevoked:
      return "The partnership of " + account_name(n.b) + " with " + ws_name(n.a) +
             " was revoked";
    case NoteKind::kShareGranted:
      return account_name(n.a) + " shared access with you";
    case NoteKind::kShareRemoved:
      return account_name(n.a) + " removed your shared access";
    case NoteKind::kJoined:
      return "You joined " + ws_name(n.a) + " as " + b;
  }
  return {};
}

void Team::Save(Writer& w) const {
  w.U64(invitations_.size());
  for (const Invitation& inv : invitations_) {
    w.U32(inv.id);
    w.U32(inv.workspace);
    w.Str(inv.email_key);
    w.Str(inv.subject);
    w.U32(inv.role);
    w.Access(inv.access);
    w.Scope(inv.scope);
    w.U8(static_cast<uint8_t>(inv.state));
    w.U32(inv.invited_by);
    w.U64(inv.sent_position);
    w.I64(inv.first_sent_at);
    w.I64(inv.sent_at);
    w.I64(inv.expires_at);
  }
  auto link_keys = SortedKeys(links_);
  w.U64(link_keys.size());
  for (uint32_t ws : link_keys) {
    const InviteLink& l = links_.at(ws);
    w.U32(ws);
    w.U32(l.role);
    w.Bool(l.enabled);
    w.I64(l.created_at);
    w.U32(l.created_by);
    w.U64(l.created_position);
    w.I64(l.updated_at);
  }
  auto partner_keys = SortedKeys(partner_history_);
  w.U64(partner_keys.size());
  for (uint32_t label : partner_keys) {
    const auto& history = partner_history_.at(label);
    w.U32(label);
    w.U64(history.size());
    for (const PartnerEvent& e : history) {
      w.U64(e.position);
      w.I64(e.at);
      w.U32(e.actor);
      w.U32(static_cast<uint32_t>(events::TypeOf(e.event)));
      w.Str(events::EncodeEvent(e.event));
    }
  }
  size_t users = 0;
  for (const auto& notes : user_notes_) users += !notes.empty();
  w.U64(users);
  for (uint32_t user = 0; user < user_notes_.size(); ++user) {
    if (user_notes_[user].empty()) continue;
    w.U32(user);
    SaveNotes(w, user_notes_[user]);
  }
  // Email keys in first-seen order (deterministic for a given log).
  w.U64(email_keys_.size());
  for (uint32_t id = 0; id < email_keys_.size(); ++id) {
    w.Str(email_keys_.Name(id));
    SaveNotes(w, id < email_notes_.size() ? email_notes_[id] : std::vector<Note>{});
  }
}

bool Team::Load(Reader& r, const Catalog&) {
  invitations_.resize(r.Count(8));
  for (uint32_t i = 0; i < invitations_.size() && r.ok(); ++i) {
    Invitation& inv = invitations_[i];
    inv.id = r.U32();
    inv.workspace = r.U32();
    inv.email_key = r.Str();
    inv.subject = r.Str();
    inv.role = r.U32();
    inv.access = r.Access();
    inv.scope = r.Scope();
    inv.state = static_cast<InviteState>(r.U8() & 3);
    inv.invited_by = r.U32();
    inv.sent_position = r.U64();
    inv.first_sent_at = r.I64();
    inv.sent_at = r.I64();
    inv.expires_at = r.I64();
    if (inv.id == kNone || inv.workspace == kNone) return false;
    Slot(invitation_index_, inv.id, kNone) = i;
    Slot(ws_invitations_, inv.workspace).push_back(i);
  }
  size_t n = r.Count(4);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    InviteLink& l = links_[r.U32()];
    l.role = r.U32();
    l.enabled = r.Bool();
    l.created_at = r.I64();
    l.created_by = r.U32();
    l.created_position = r.U64();
    l.updated_at = r.I64();
  }
  n = r.Count(2);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    auto& history = partner_history_[r.U32()];
    size_t m = r.Count(5);
    for (size_t j = 0; j < m && r.ok(); ++j) {
      PartnerEvent e;
      e.position = r.U64();
      e.at = r.I64();
      e.actor = r.U32();
      auto type = static_cast<events::EventType>(r.U32());
      std::string_view payload = r.View();
      if (!r.ok()) return false;
      auto decoded = events::DecodeEvent(type, payload);
      if (!decoded.ok()) return false;
      e.event = std::move(decoded).value();
      history.push_back(std::move(e));
    }
  }
  n = r.Count(2);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    uint32_t user = r.U32();
    if (user >= 1u << 30) return false;
    Slot(user_notes_, user) = LoadNotes(r);
  }
  n = r.Count(2);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    std::string key = r.Str();
    if (email_keys_.Find(key) != kNone) return false;
    Slot(email_notes_, email_keys_.Intern(key)) = LoadNotes(r);
  }
  return r.ok();
}

}  // namespace roster::projections
