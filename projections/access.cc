#include "projections/access.h"

#include <algorithm>

#include "projections/fields.h"

namespace roster::projections {
namespace {

constexpr std::string_view kShared = "shared";
constexpr std::string_view kSharedBilling = "shared_billing";

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// The span in effect at p, or nullptr. Spans are sorted and never overlap.
template <class Spans, class S = typename Spans::value_type>
const S* SpanAt(const Spans& spans, uint64_t p) {
  auto it = std::upper_bound(spans.begin(), spans.end(), p,
                             [](uint64_t pos, const S& s) { return pos < s.from_position; });
  if (it == spans.begin()) return nullptr;
  --it;
  return it->Covers(p) ? &*it : nullptr;
}

// A span's end as seen from p: 0 (open) when it closed after p.
uint64_t EndAsOf(const Span& s, uint64_t p) {
  return s.to_position == 0 || s.to_position > p ? 0 : s.to_position;
}

// Scope match where an unspecified dimension does not restrict (WhoHas).
bool LooseDimension(const std::vector<std::string>& allowed, std::string_view asked) {
  return allowed.empty() || asked.empty() || Contains(allowed, asked);
}
bool LooseScope(const events::Scope* scope, const Where& where) {
  if (scope == nullptr) return true;
  return LooseDimension(scope->markets, where.market) && LooseDimension(scope->sets, where.set) &&
         LooseDimension(scope->groups, where.group);
}

Reason MakeReason(const Catalog& c, Via via, std::string_view role, const Span& s) {
  return Reason{via, role, s.from_position, s.from_time,
                Catalog::ActorUser(c.labels.Name(s.granted_by))};
}

bool ShareCovers(const std::vector<std::string>& containers, bool all, std::string_view id) {
  return all || Contains(containers, id);
}

void SaveSpan(Writer& w, const Span& s) {
  w.U64(s.from_position);
  w.I64(s.from_time);
  w.U32(s.granted_by);
  w.U64(s.to_position);
  w.I64(s.to_time);
  w.U32(s.revoked_by);
}
void LoadSpan(Reader& r, Span& s) {
  s.from_position = r.U64();
  s.from_time = r.I64();
  s.granted_by = r.U32();
  s.to_position = r.U64();
  s.to_time = r.I64();
  s.revoked_by = r.U32();
}
void SaveMemberSpans(Writer& w, const MemberSpans& spans) {
  w.U64(spans.size());
  for (const auto& s : spans) {
    SaveSpan(w, s);
    w.U32(s.role);
    w.Bool(s.extras != nullptr);
    if (s.extras) {
      w.Access(s.extras->access);
      w.Scope(s.extras->scope);
    }
  }
}
MemberSpans LoadMemberSpans(Reader& r) {
  MemberSpans spans(r.Count(8));
  for (auto& s : spans) {
    LoadSpan(r, s);
    s.role = r.U32();
    if (r.Bool()) {
      auto x = std::make_shared<GrantExtras>();
      x->access = r.Access();
      x->scope = r.Scope();
      s.extras = std::move(x);
    }
  }
  return spans;
}

template <class M>
std::vector<uint64_t> SortedKeys(const M& m) {
  std::vector<uint64_t> keys;
  keys.reserve(m.size());
  for (const auto& [k, v] : m) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::shared_ptr<const GrantExtras> MakeExtras(events::AccessMap access, events::Scope scope) {
  if (access.empty() && scope.Unrestricted()) return nullptr;
  auto x = std::make_shared<GrantExtras>();
  x->access = std::move(access);
  x->scope = std::move(scope);
  return x;
}

}  // namespace

std::string_view ViaName(Via via) {
  switch (via) {
    case Via::kAccountMember: return "account_member";
    case Via::kWorkspaceMember: return "workspace_member";
    case Via::kPartner: return "partner";
    case Via::kSharedAccess: return "shared_access";
  }
  return "unknown";
}

std::string_view PartnerStatusName(PartnerStatus status) {
  switch (status) {
    case PartnerStatus::kInvited: return "invited";
    case PartnerStatus::kActive: return "active";
    case PartnerStatus::kSuspended: return "suspended";
    case PartnerStatus::kRevoked: return "revoked";
  }
  return "unknown";
}

const policy::Patterns* PartnerPatterns(std::string_view level) {
  static const policy::Patterns kView = policy::PartnerPermissions("view");
  static const policy::Patterns kDownload = policy::PartnerPermissions("download");
  static const policy::Patterns kEdit = policy::PartnerPermissions("edit");
  if (level == "view") return &kView;
  if (level == "download") return &kDownload;
  if (level == "edit") return &kEdit;
  return nullptr;
}

const policy::Patterns* SharePatterns(bool billing) {
  static const policy::Patterns kPlain = policy::SharePermissions(false);
  static const policy::Patterns kBilling = policy::SharePermissions(true);
  return billing ? &kBilling : &kPlain;
}

// ---- Apply ----

void Access::Apply(const events::RecordedEvent& r, const Catalog& c, const EventIds& ids) {
  const events::Envelope& env = r.envelope;
  const uint64_t p = env.position;
  const Micros t = env.recorded_at;
  const uint32_t actor = ids.actor;
  const uint32_t account = ids.account;
  const uint32_t ws = ids.workspace;

  auto close = [&](Span& s) {
    if (!s.open()) return;
    s.to_position = p;
    s.to_time = t;
    s.revoked_by = actor;
  };
  // Every id below was resolved once by Catalog::Apply (ids): no string lookups here.
  const uint32_t user = ids.user;
  auto open_member = [&](MemberSpans& spans, uint32_t role,
                         std::shared_ptr<const GrantExtras> extras) {
    MemberSpan s;
    s.from_position = p;
    s.from_time = t;
    s.granted_by = actor;
    s.role = role;
    s.extras = std::move(extras);
    spans.push_back(std::move(s));
  };
  auto add_account_member = [&](uint32_t acct, std::string_view role, const std::string& subject) {
    if (acct == kNone || user == kNone) return;
    auto [it, inserted] = account_members_.try_emplace(PairKey(acct, user));
    if (inserted) {
      Add(account_users_, acct, user);
      Add(user_accounts_, user, acct);
    }
    AccountMember& m = it->second;
    if (m.live && !m.spans.empty()) close(m.spans.back());
    m.live = true;
    m.joined_position = p;
    m.joined_at = t;
    m.subject = subject;
    m.patterns = policy::AccountRole(role);
    open_member(m.spans, ids.role, nullptr);
  };
  auto find_ws_member = [&]() -> WorkspaceMember* {
    if (ws == kNone || user == kNone) return nullptr;
    auto it = ws_members_.find(PairKey(ws, user));
    if (it == ws_members_.end() || !it->second.live || it->second.spans.empty()) return nullptr;
    return &it->second;
  };
  auto join = [&](MemberSource source, std::shared_ptr<const GrantExtras> extras,
                  const std::string& subject) {
    if (ws == kNone || user == kNone) return;
    auto [it, inserted] = ws_members_.try_emplace(PairKey(ws, user));
    if (inserted) {
      Add(ws_users_, ws, user);
      Add(user_workspaces_, user, ws);
    }
    WorkspaceMember& m = it->second;
    if (m.live && !m.spans.empty()) close(m.spans.back());
    m.live = true;
    m.source = source;
    m.joined_position = p;
    m.joined_at = t;
    m.subject = subject;
    m.slot = ids.slot;
    open_member(m.spans, ids.role, std::move(extras));
  };
  // A new grant for a live member: `slot` is the slot of `role` (label id).
  auto regrant = [&](WorkspaceMember& m, uint32_t role, const RoleSlot* slot,
                     std::shared_ptr<const GrantExtras> extras) {
    close(m.spans.back());
    m.slot = slot;
    open_member(m.spans, role, std::move(extras));
  };
  auto find_partner = [&]() -> Partner* {
    auto it = partner_index_.find(ids.item);
    return it == partner_index_.end() ? nullptr : &partners_[it->second];
  };
  auto open_partner = [&](Partner& pr) {
    if (!pr.spans.empty() && pr.spans.back().open()) return;
    PartnerSpan s;
    s.from_position = p;
    s.from_time = t;
    s.granted_by = actor;
    s.level = pr.level;
    s.sets = pr.sets;
    pr.spans.push_back(std::move(s));
  };
  auto close_partner = [&](Partner& pr) {
    if (!pr.spans.empty()) close(pr.spans.back());
  };
  // A change of level or sets while active: close the span, open one with the new grant.
  auto partner_changed = [&](Partner& pr) {
    if (pr.status != PartnerStatus::kActive) return;
    close_partner(pr);
    open_partner(pr);
  };
  auto end_share = [&]() {
    auto it = shares_.find(PairKey(account, user));
    if (it == shares_.end() || !it->second.live) return;
    close(it->second.spans.back());
    it->second.live = false;
    it->second.permissions = nullptr;
  };

  std::visit(
      Overloaded{
          [&](const events::AccountOpened& e) {
            add_account_member(c.accounts.Find(e.account_id), "owner", e.owner_subject);
          },
          [&](const events::AccountMemberAdded& e) {
            add_account_member(account, e.role, e.subject);
          },
          [&](const events::AccountMemberRoleChanged& e) {
            auto it = account_members_.find(PairKey(account, user));
            if (account == kNone || it == account_members_.end() || !it->second.live) return;
            AccountMember& m = it->second;
            close(m.spans.back());
            m.patterns = policy::AccountRole(e.to_role);
            open_member(m.spans, ids.role, nullptr);
          },
          [&](const events::AccountMemberRemoved&) {
            auto it = account_members_.find(PairKey(account, user));
            if (account == kNone || it == account_members_.end() || !it->second.live) return;
            close(it->second.spans.back());
            it->second.live = false;
            it->second.patterns = nullptr;
          },
          [&](const events::RoleChanged&) {
            if (WorkspaceMember* m = find_ws_member()) {
              regrant(*m, ids.role, ids.slot, m->spans.back().extras);
            }
          },
          // Access and scope changes keep the role (and so the live slot).
          [&](const events::AccessChanged& e) {
            if (WorkspaceMember* m = find_ws_member()) {
              const auto& old = m->spans.back();
              events::Scope scope = old.extras ? old.extras->scope : events::Scope{};
              regrant(*m, old.role, m->slot, MakeExtras(e.access, std::move(scope)));
            }
          },
          [&](const events::ScopeChanged& e) {
            if (WorkspaceMember* m = find_ws_member()) {
              const auto& old = m->spans.back();
              events::AccessMap access = old.extras ? old.extras->access : events::AccessMap{};
              regrant(*m, old.role, m->slot, MakeExtras(std::move(access), e.scope));
            }
          },
          [&](const events::MemberRemoved&) {
            if (WorkspaceMember* m = find_ws_member()) {
              close(m->spans.back());
              m->live = false;
              m->slot = nullptr;
            }
          },
          [&](const events::InviteAccepted& e) {
            join(MemberSource::kInvite, MakeExtras(e.access, e.scope), e.subject);
          },
          [&](const events::LinkJoined& e) {
            join(MemberSource::kLink, nullptr, e.subject);
          },
          [&](const events::PartnerInvited& e) {
            uint32_t label = ids.item;
            if (partner_index_.count(label) != 0 || ws == kNone) return;
            Partner pr;
            pr.id = label;
            pr.workspace = ws;
            pr.partner_account = c.accounts.Find(e.partner_account_id);
            pr.level = ids.role;
            pr.sets = e.sets;
            pr.permissions = PartnerPatterns(e.access_level);
            pr.invited_position = p;
            pr.invited_at = t;
            pr.invited_by = actor;
            auto index = static_cast<uint32_t>(partners_.size());
            partners_.push_back(std::move(pr));
            partner_index_.emplace(label, index);
            Add(ws_partners_, ws, index);
            Add(partner_account_partners_, partners_[index].partner_account, index);
          },
          [&](const events::PartnerAccepted&) {
            if (Partner* pr = find_partner()) {
              if (pr->status == PartnerStatus::kRevoked) return;
              pr->status = PartnerStatus::kActive;
              open_partner(*pr);
            }
          },
          [&](const events::PartnerAccessChanged& e) {
            if (Partner* pr = find_partner()) {
              pr->level = ids.role;
              pr->permissions = PartnerPatterns(e.to_level);
              partner_changed(*pr);
            }
          },
          [&](const events::PartnerSetsAssigned& e) {
            if (Partner* pr = find_partner()) {
              for (const auto& s : e.sets) {
                if (!Contains(pr->sets, s)) pr->sets.push_back(s);
              }
              partner_changed(*pr);
            }
          },
          [&](const events::PartnerSetsRevoked& e) {
            if (Partner* pr = find_partner()) {
              std::erase_if(pr->sets, [&](const std::string& s) { return Contains(e.sets, s); });
              partner_changed(*pr);
            }
          },
          [&](const events::PartnerSuspended&) {
            if (Partner* pr = find_partner()) {
              if (pr->status == PartnerStatus::kRevoked) return;
              close_partner(*pr);
              pr->status = PartnerStatus::kSuspended;
            }
          },
          [&](const events::PartnerResumed&) {
            if (Partner* pr = find_partner()) {
              if (pr->status == PartnerStatus::kRevoked) return;
              pr->status = PartnerStatus::kActive;
              open_partner(*pr);
            }
          },
          [&](const events::PartnerRevoked&) {
            if (Partner* pr = find_partner()) {
              close_partner(*pr);
              pr->status = PartnerStatus::kRevoked;
            }
          },
          [&](const events::SharedAccessGranted& e) {
            if (account == kNone || user == kNone) return;
            auto [it, inserted] = shares_.try_emplace(PairKey(account, user));
            if (inserted) {
              Add(account_grantees_, account, user);
              Add(user_share_accounts_, user, account);
            }
            Share& s = it->second;
            if (s.live) close(s.spans.back());
            s.live = true;
            s.grantee_account =
                e.grantee_account_id.empty() ? kNone : c.accounts.Find(e.grantee_account_id);
            s.all_containers = e.all_containers;
            s.containers = e.containers;
            s.billing = e.billing;
            s.permissions = SharePatterns(e.billing);
            ShareSpan span;
            span.from_position = p;
            span.from_time = t;
            span.granted_by = actor;
            span.all_containers = e.all_containers;
            span.containers = e.containers;
            span.billing = e.billing;
            s.spans.push_back(std::move(span));
          },
          [&](const events::SharedAccessRemoved&) { end_share(); },
          [&](const events::SharedAccessRetired&) { end_share(); },
          [&](const auto&) {},
      },
      r.event);
}

// ---- Live checks ----

Decision Access::Check(const Catalog& c, uint32_t user, uint32_t ws, std::string_view permission,
                       const Where& where) const {
  Decision d;
  d.position = c.position();
  if (user == kNone || ws == kNone) return d;
  const WorkspaceInfo* w = c.workspace(ws);
  if (w == nullptr || !w->created) return d;

  if (w->account != kNone) {
    auto it = account_members_.find(PairKey(w->account, user));
    if (it != account_members_.end() && it->second.live &&
        policy::Allows(policy::Grant{it->second.patterns}, permission, where)) {
      const MemberSpan& s = it->second.spans.back();
      d.allowed = true;
      d.reason = MakeReason(c, Via::kAccountMember, c.labels.Name(s.role), s);
      return d;
    }
  }
  {
    auto it = ws_members_.find(PairKey(ws, user));
    if (it != ws_members_.end() && it->second.live && it->second.slot != nullptr) {
      const MemberSpan& s = it->second.spans.back();
      policy::Grant g{it->second.slot->live(), s.extras ? &s.extras->access : nullptr,
                      s.extras ? &s.extras->scope : nullptr};
      if (policy::Allows(g, permission, where)) {
        d.allowed = true;
        d.reason = MakeReason(c, Via::kWorkspaceMember, c.labels.Name(s.role), s);
        return d;
      }
    }
  }
  if (auto r = PartnerReason(c, user, ws, permission, where, c.position(), /*live=*/true)) {
    d.allowed = true;
    d.reason = r;
    return d;
  }
  if (w->account != kNone) {
    auto it = shares_.find(PairKey(w->account, user));
    if (it != shares_.end() && it->second.live) {
      const Share& s = it->second;
      if (ShareCovers(s.containers, s.all_containers, c.workspaces.Name(ws)) &&
          policy::PatternsAllow(*s.permissions, permission)) {
        d.allowed = true;
        d.reason = MakeReason(c, Via::kSharedAccess, s.billing ? kSharedBilling : kShared,
                              s.spans.back());
      }
    }
  }
  return d;
}

std::optional<Reason> Access::PartnerReason(const Catalog& c, uint32_t user, uint32_t ws,
                                            std::string_view permission, const Where& where,
                                            uint64_t p, bool live) const {
  if (where.set.empty()) return std::nullopt;  // partners reach sets only: set= is required
  for (uint32_t index : Get(ws_partners_, ws)) {
    const Partner& pr = partners_[index];
    const PartnerSpan* ps = nullptr;
    if (live) {
      if (pr.status != PartnerStatus::kActive || pr.spans.empty()) continue;
      ps = &pr.spans.back();
    } else {
      ps = SpanAt(pr.spans, p);
      if (ps == nullptr) continue;
    }
    if (!Contains(ps->sets, where.set)) continue;
    const policy::Patterns* perms = PartnerPatterns(c.labels.Name(ps->level));
    if (perms == nullptr || !policy::PatternsAllow(*perms, permission)) continue;
    auto m = account_members_.find(PairKey(pr.partner_account, user));
    if (m == account_members_.end()) continue;
    const MemberSpan* ms = nullptr;
    if (live) {
      if (!m->second.live) continue;
      ms = &m->second.spans.back();
    } else {
      ms = SpanAt(m->second.spans, p);
      if (ms == nullptr) continue;
    }
    // The grant was completed by the later of the relationship's and the membership's start.
    const Span& later = ms->from_position > ps->from_position ? static_cast<const Span&>(*ms)
                                                              : static_cast<const Span&>(*ps);
    return MakeReason(c, Via::kPartner, c.labels.Name(ps->level), later);
  }
  return std::nullopt;
}

Decision Access::CheckAccount(const Catalog& c, uint32_t user, uint32_t account,
                              std::string_view permission, std::string_view resource) const {
  Decision d;
  d.position = c.position();
  if (user == kNone || account == kNone) return d;
  auto it = account_members_.find(PairKey(account, user));
  if (it != account_members_.end() && it->second.live &&
      policy::Allows(policy::Grant{it->second.patterns}, permission)) {
    const MemberSpan& s = it->second.spans.back();
    d.allowed = true;
    d.reason = MakeReason(c, Via::kAccountMember, c.labels.Name(s.role), s);
    return d;
  }
  auto sh = shares_.find(PairKey(account, user));
  if (sh != shares_.end() && sh->second.live) {
    const Share& s = sh->second;
    bool covered = policy::ModuleOf(permission) == "billing" ||
                   (!resource.empty() && ShareCovers(s.containers, s.all_containers, resource));
    if (covered && policy::PatternsAllow(*s.permissions, permission)) {
      d.allowed = true;
      d.reason = MakeReason(c, Via::kSharedAccess, s.billing ? kSharedBilling : kShared,
                            s.spans.back());
    }
  }
  return d;
}

// ---- As-of checks ----

Decision Access::CheckAt(const Catalog& c, uint32_t user, uint32_t ws, std::string_view permission,
                         const Where& where, uint64_t p) const {
  Decision d;
  d.position = p;
  if (user == kNone || ws == kNone) return d;
  const WorkspaceInfo* w = c.workspace(ws);
  if (w == nullptr || !w->ExistsAt(p)) return d;

  if (w->account != kNone) {
    auto it = account_members_.find(PairKey(w->account, user));
    if (it != account_members_.end()) {
      if (const MemberSpan* s = SpanAt(it->second.spans, p)) {
        std::string_view role = c.labels.Name(s->role);
        if (policy::Allows(policy::Grant{policy::AccountRole(role)}, permission, where)) {
          d.allowed = true;
          d.reason = MakeReason(c, Via::kAccountMember, role, *s);
          return d;
        }
      }
    }
  }
  {
    auto it = ws_members_.find(PairKey(ws, user));
    if (it != ws_members_.end()) {
      if (const MemberSpan* s = SpanAt(it->second.spans, p)) {
        std::string_view role = c.labels.Name(s->role);
        const RoleSlot* slot = w->Slot(role);
        policy::Grant g{slot ? slot->AsOf(p) : nullptr, s->extras ? &s->extras->access : nullptr,
                        s->extras ? &s->extras->scope : nullptr};
        if (policy::Allows(g, permission, where)) {
          d.allowed = true;
          d.reason = MakeReason(c, Via::kWorkspaceMember, role, *s);
          return d;
        }
      }
    }
  }
  if (auto r = PartnerReason(c, user, ws, permission, where, p, /*live=*/false)) {
    d.allowed = true;
    d.reason = r;
    return d;
  }
  if (w->account != kNone) {
    auto it = shares_.find(PairKey(w->account, user));
    if (it != shares_.end()) {
      if (const ShareSpan* s = SpanAt(it->second.spans, p)) {
        if (ShareCovers(s->containers, s->all_containers, c.workspaces.Name(ws)) &&
            policy::PatternsAllow(*SharePatterns(s->billing), permission)) {
          d.allowed = true;
          d.reason = MakeReason(c, Via::kSharedAccess, s->billing ? kSharedBilling : kShared, *s);
        }
      }
    }
  }
  return d;
}

Decision Access::CheckAccountAt(const Catalog& c, uint32_t user, uint32_t account,
                                std::string_view permission, std::string_view resource,
                                uint64_t p) const {
  Decision d;
  d.position = p;
  if (user == kNone || account == kNone) return d;
  auto it = account_members_.find(PairKey(account, user));
  if (it != account_members_.end()) {
    if (const MemberSpan* s = SpanAt(it->second.spans, p)) {
      std::string_view role = c.labels.Name(s->role);
      if (policy::Allows(policy::Grant{policy::AccountRole(role)}, permission)) {
        d.allowed = true;
        d.reason = MakeReason(c, Via::kAccountMember, role, *s);
        return d;
      }
    }
  }
  auto sh = shares_.find(PairKey(account, user));
  if (sh != shares_.end()) {
    if (const ShareSpan* s = SpanAt(sh->second.spans, p)) {
      bool covered = policy::ModuleOf(permission) == "billing" ||
                     (!resource.empty() && ShareCovers(s->containers, s->all_containers, resource));
      if (covered && policy::PatternsAllow(*SharePatterns(s->billing), permission)) {
        d.allowed = true;
        d.reason = MakeReason(c, Via::kSharedAccess, s->billing ? kSharedBilling : kShared, *s);
      }
    }
  }
  return d;
}

// ---- Enumerations ----

namespace {

// One principal's path into a workspace at a position, as the enumerations see it.
struct Path {
  uint32_t user;
  Via via;
  std::string_view role;
  const policy::Patterns* patterns;  // role patterns (as of p) or the path's permissions
  const GrantExtras* extras;         // workspace members only
  const std::vector<std::string>* sets;  // partners only
};

}  // namespace

template <class F>
static void ForEachPath(const Catalog& c, const Access& a, uint32_t ws, uint64_t p, F&& f) {
  const WorkspaceInfo* w = c.workspace(ws);
  if (w == nullptr || !w->ExistsAt(p)) return;
  if (w->account != kNone) {
    for (uint32_t user : a.AccountUsers(w->account)) {
      const AccountMember* m = a.FindAccountMember(w->account, user);
      if (const MemberSpan* s = SpanAt(m->spans, p)) {
        std::string_view role = c.labels.Name(s->role);
        f(Path{user, Via::kAccountMember, role, policy::AccountRole(role), nullptr, nullptr});
      }
    }
  }
  for (uint32_t user : a.WorkspaceUsers(ws)) {
    const WorkspaceMember* m = a.FindWorkspaceMember(ws, user);
    if (const MemberSpan* s = SpanAt(m->spans, p)) {
      std::string_view role = c.labels.Name(s->role);
      const RoleSlot* slot = w->Slot(role);
      f(Path{user, Via::kWorkspaceMember, role, slot ? slot->AsOf(p) : nullptr, s->extras.get(),
             nullptr});
    }
  }
  for (uint32_t index : a.WorkspacePartners(ws)) {
    const Partner& pr = a.partner_at(index);
    const PartnerSpan* ps = SpanAt(pr.spans, p);
    if (ps == nullptr) continue;
    std::string_view level = c.labels.Name(ps->level);
    for (uint32_t user : a.AccountUsers(pr.partner_account)) {
      const AccountMember* m = a.FindAccountMember(pr.partner_account, user);
      if (SpanAt(m->spans, p) != nullptr) {
        f(Path{user, Via::kPartner, level, PartnerPatterns(level), nullptr, &ps->sets});
      }
    }
  }
  if (w->account != kNone) {
    const std::string& ws_name = c.workspaces.Name(ws);
    for (uint32_t user : a.ShareGrantees(w->account)) {
      const Share* sh = a.FindShare(w->account, user);
      const ShareSpan* s = SpanAt(sh->spans, p);
      if (s == nullptr || !ShareCovers(s->containers, s->all_containers, ws_name)) continue;
      f(Path{user, Via::kSharedAccess, s->billing ? kSharedBilling : kShared,
             SharePatterns(s->billing), nullptr, nullptr});
    }
  }
}

WhoHasResult Access::WhoHas(const Catalog& c, uint32_t ws, std::string_view permission,
                            const Where& where, uint64_t p) const {
  std::map<std::string_view, Holder> found;
  ForEachPath(c, *this, ws, p, [&](const Path& path) {
    bool allowed = false;
    if (path.via == Via::kWorkspaceMember) {
      policy::Grant g{path.patterns, path.extras ? &path.extras->access : nullptr, nullptr};
      allowed = policy::GrantAllowsPermission(g, permission) &&
                LooseScope(path.extras ? &path.extras->scope : nullptr, where);
    } else if (path.via == Via::kPartner) {
      allowed = path.patterns && policy::PatternsAllow(*path.patterns, permission) &&
                (where.set.empty() || Contains(*path.sets, where.set));
    } else {
      allowed = path.patterns && policy::PatternsAllow(*path.patterns, permission);
    }
    if (!allowed) return;
    std::string_view name = c.users.Name(path.user);
    auto it = found.find(name);
    if (it != found.end() && it->second.via <= path.via) return;
    found[name] = Holder{std::string(name), path.via, std::string(path.role)};
  });
  WhoHasResult out;
  out.position = p;
  out.principals.reserve(found.size());
  for (auto& [name, holder] : found) out.principals.push_back(std::move(holder));
  return out;
}

std::map<std::string, ReviewEntry> Access::Everyone(const Catalog& c, uint32_t ws,
                                                    uint64_t p) const {
  std::map<std::string, ReviewEntry> found;
  ForEachPath(c, *this, ws, p, [&](const Path& path) {
    std::string name = c.users.Name(path.user);
    auto it = found.find(name);
    if (it != found.end() && it->second.via <= path.via) return;
    found[name] = ReviewEntry{name, std::string(path.role), path.via};
  });
  return found;
}

UserAccessResult Access::UserAccess(const Catalog& c, uint32_t user, uint64_t p) const {
  UserAccessResult out;
  out.position = p;
  if (user == kNone) return out;
  auto add = [&](uint32_t ws, std::string_view role, Via via) -> WorkspaceAccess& {
    const WorkspaceInfo* w = c.workspace(ws);
    WorkspaceAccess& e = out.workspaces.emplace_back();
    e.workspace_id = c.workspaces.Name(ws);
    e.account_id = c.accounts.Name(w->account);
    e.role = role;
    e.via = via;
    return e;
  };
  for (uint32_t acct : Get(user_accounts_, user)) {
    const AccountMember* m = FindAccountMember(acct, user);
    const MemberSpan* s = SpanAt(m->spans, p);
    if (s == nullptr) continue;
    std::string_view role = c.labels.Name(s->role);
    const policy::Patterns* patterns = policy::AccountRole(role);
    // Workspaces of the account (account members reach all of them).
    for (uint32_t ws : c.account(acct)->workspaces) {
      const WorkspaceInfo* w = c.workspace(ws);
      if (!w->ExistsAt(p)) continue;
      WorkspaceAccess& e = add(ws, role, Via::kAccountMember);
      if (w->tmpl && patterns) e.permissions = policy::ListPermissions({patterns}, *w->tmpl);
    }
    // Partner relationships in which this account is the partner.
    for (uint32_t index : PartnersOfAccount(acct)) {
      const Partner& pr = partners_[index];
      const PartnerSpan* ps = SpanAt(pr.spans, p);
      const WorkspaceInfo* w = c.workspace(pr.workspace);
      if (ps == nullptr || w == nullptr || !w->ExistsAt(p)) continue;
      std::string_view level = c.labels.Name(ps->level);
      WorkspaceAccess& e = add(pr.workspace, level, Via::kPartner);
      if (const policy::Patterns* perms = PartnerPatterns(level)) e.permissions = *perms;
      e.scope.sets = ps->sets;
    }
  }
  for (uint32_t ws : Get(user_workspaces_, user)) {
    const WorkspaceMember* m = FindWorkspaceMember(ws, user);
    const MemberSpan* s = SpanAt(m->spans, p);
    const WorkspaceInfo* w = c.workspace(ws);
    if (s == nullptr || !w->ExistsAt(p)) continue;
    std::string_view role = c.labels.Name(s->role);
    WorkspaceAccess& e = add(ws, role, Via::kWorkspaceMember);
    const RoleSlot* slot = w->Slot(role);
    policy::Grant g{slot ? slot->AsOf(p) : nullptr, s->extras ? &s->extras->access : nullptr,
                    nullptr};
    if (w->tmpl) e.permissions = policy::ListPermissions(g, *w->tmpl);
    if (s->extras) {
      e.access = s->extras->access;
      e.scope = s->extras->scope;
    }
  }
  for (uint32_t acct : Get(user_share_accounts_, user)) {
    const Share* sh = FindShare(acct, user);
    const ShareSpan* s = SpanAt(sh->spans, p);
    if (s == nullptr) continue;
    for (uint32_t ws : c.account(acct)->workspaces) {
      const WorkspaceInfo* w = c.workspace(ws);
      if (!w->ExistsAt(p) || !ShareCovers(s->containers, s->all_containers, c.workspaces.Name(ws))) {
        continue;
      }
      WorkspaceAccess& e = add(ws, s->billing ? kSharedBilling : kShared, Via::kSharedAccess);
      e.permissions = *SharePatterns(s->billing);
    }
  }
  std::sort(out.workspaces.begin(), out.workspaces.end(),
            [](const WorkspaceAccess& a, const WorkspaceAccess& b) {
              return std::tie(a.workspace_id, a.via, a.role) < std::tie(b.workspace_id, b.via, b.role);
            });
  return out;
}

AccessHistoryResult Access::History(const Catalog& c, uint32_t ws, uint32_t user,
                                    uint64_t p) const {
  AccessHistoryResult out;
  out.position = p;
  const WorkspaceInfo* w = c.workspace(ws);
  if (user == kNone || w == nullptr || !w->ExistsAt(p)) return out;
  auto by = [&](uint32_t label) { return std::string(Catalog::ActorUser(c.labels.Name(label))); };
  auto fill_end = [&](Interval& iv, const Span& s) {
    if (EndAsOf(s, p) != 0) {
      iv.to_position = s.to_position;
      iv.to_time = s.to_time;
      iv.revoked_by = by(s.revoked_by);
    }
  };
  if (w->account != kNone) {
    if (const AccountMember* m = FindAccountMember(w->account, user)) {
      for (const MemberSpan& s : m->spans) {
        if (s.from_position > p) break;
        uint64_t end = EndAsOf(s, p);
        if (end != 0 && end <= w->created_position) continue;  // before the workspace existed
        Interval iv;
        iv.role = c.labels.Name(s.role);
        iv.via = Via::kAccountMember;
        // Clipped to the workspace's creation: the account grant reached it from then.
        if (s.from_position < w->created_position) {
          iv.from_position = w->created_position;
          iv.from_time = w->created_at;
        } else {
          iv.from_position = s.from_position;
          iv.from_time = s.from_time;
        }
        iv.granted_by = by(s.granted_by);
        fill_end(iv, s);
        out.intervals.push_back(std::move(iv));
      }
    }
  }
  if (const WorkspaceMember* m = FindWorkspaceMember(ws, user)) {
    for (const MemberSpan& s : m->spans) {
      if (s.from_position > p) break;
      Interval iv;
      iv.role = c.labels.Name(s.role);
      iv.via = Via::kWorkspaceMember;
      iv.from_position = s.from_position;
      iv.from_time = s.from_time;
      iv.granted_by = by(s.granted_by);
      fill_end(iv, s);
      if (s.extras) {
        iv.access = s.extras->access;
        iv.scope = s.extras->scope;
      }
      out.intervals.push_back(std::move(iv));
    }
  }
  for (uint32_t index : WorkspacePartners(ws)) {
    const Partner& pr = partners_[index];
    const AccountMember* m = FindAccountMember(pr.partner_account, user);
    if (m == nullptr) continue;
    for (const PartnerSpan& ps : pr.spans) {
      if (ps.from_position > p) break;
      for (const MemberSpan& ms : m->spans) {
        if (ms.from_position > p) break;
        uint64_t pe = EndAsOf(ps, p), me = EndAsOf(ms, p);
        const Span& start = ms.from_position > ps.from_position ? static_cast<const Span&>(ms)
                                                                : static_cast<const Span&>(ps);
        uint64_t end = pe == 0 ? me : (me == 0 ? pe : std::min(pe, me));
        if (end != 0 && end <= start.from_position) continue;  // no overlap
        Interval iv;
        iv.role = c.labels.Name(ps.level);
        iv.via = Via::kPartner;
        iv.from_position = start.from_position;
        iv.from_time = start.from_time;
        iv.granted_by = by(start.granted_by);
        if (end != 0) {
          const Span& stop = (pe != 0 && (me == 0 || pe <= me)) ? static_cast<const Span&>(ps)
                                                                : static_cast<const Span&>(ms);
          fill_end(iv, stop);
        }
        iv.scope.sets = ps.sets;
        iv.partner_id = c.labels.Name(pr.id);
        out.intervals.push_back(std::move(iv));
      }
    }
  }
  if (w->account != kNone) {
    if (const Share* sh = FindShare(w->account, user)) {
      const std::string& ws_name = c.workspaces.Name(ws);
      for (const ShareSpan& s : sh->spans) {
        if (s.from_position > p) break;
        if (!ShareCovers(s.containers, s.all_containers, ws_name)) continue;
        Interval iv;
        iv.role = s.billing ? kSharedBilling : kShared;
        iv.via = Via::kSharedAccess;
        iv.from_position = s.from_position;
        iv.from_time = s.from_time;
        iv.granted_by = by(s.granted_by);
        fill_end(iv, s);
        out.intervals.push_back(std::move(iv));
      }
    }
  }
  std::stable_sort(out.intervals.begin(), out.intervals.end(),
                   [](const Interval& a, const Interval& b) {
                     return std::tie(a.from_position, a.via) < std::tie(b.from_position, b.via);
                   });
  return out;
}

// ---- Lookups ----

const WorkspaceMember* Access::FindWorkspaceMember(uint32_t ws, uint32_t user) const {
  auto it = ws_members_.find(PairKey(ws, user));
  return it == ws_members_.end() ? nullptr : &it->second;
}
const AccountMember* Access::FindAccountMember(uint32_t account, uint32_t user) const {
  auto it = account_members_.find(PairKey(account, user));
  return it == account_members_.end() ? nullptr : &it->second;
}
const Partner* Access::FindPartner(uint32_t label) const {
  auto it = partner_index_.find(label);
  return it == partner_index_.end() ? nullptr : &partners_[it->second];
}
const Share* Access::FindShare(uint32_t account, uint32_t user) const {
  auto it = shares_.find(PairKey(account, user));
  return it == shares_.end() ? nullptr : &it->second;
}

// ---- Snapshots ----

void Access::Save(Writer& w) const {
  auto keys = SortedKeys(ws_members_);
  w.U64(keys.size());
  for (uint64_t k : keys) {
    const WorkspaceMember& m = ws_members_.at(k);
    w.U64(k);
    w.Bool(m.live);
    w.U8(static_cast<uint8_t>(m.source));
    w.U64(m.joined_position);
    w.I64(m.joined_at);
    w.Str(m.subject);
    SaveMemberSpans(w, m.spans);
  }
  keys = SortedKeys(account_members_);
  w.U64(keys.size());
  for (uint64_t k : keys) {
    const AccountMember& m = account_members_.at(k);
    w.U64(k);
    w.Bool(m.live);
    w.U64(m.joined_position);
    w.I64(m.joined_at);
    w.Str(m.subject);
    SaveMemberSpans(w, m.spans);
  }
  w.U64(partners_.size());
  for (const Partner& pr : partners_) {
    w.U32(pr.id);
    w.U32(pr.workspace);
    w.U32(pr.partner_account);
    w.U8(static_cast<uint8_t>(pr.status));
    w.U32(pr.level);
    w.Strings(pr.sets);
    w.U64(pr.invited_position);
    w.I64(pr.invited_at);
    w.U32(pr.invited_by);
    w.U64(pr.spans.size());
    for (const auto& s : pr.spans) {
      SaveSpan(w, s);
      w.U32(s.level);
      w.Strings(s.sets);
    }
  }
  keys = SortedKeys(shares_);
  w.U64(keys.size());
  for (uint64_t k : keys) {
    const Share& s = shares_.at(k);
    w.U64(k);
    w.Bool(s.live);
    w.U32(s.grantee_account);
    w.Bool(s.all_containers);
    w.Strings(s.containers);
    w.Bool(s.billing);
    w.U64(s.spans.size());
    for (const auto& sp : s.spans) {
      SaveSpan(w, sp);
      w.Bool(sp.all_containers);
      w.Strings(sp.containers);
      w.Bool(sp.billing);
    }
  }
}

bool Access::Load(Reader& r, const Catalog& c) {
  size_t n = r.Count(4);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    uint64_t k = r.U64();
    WorkspaceMember& m = ws_members_[k];
    m.live = r.Bool();
    m.source = static_cast<MemberSource>(r.U8() & 1);
    m.joined_position = r.U64();
    m.joined_at = r.I64();
    m.subject = r.Str();
    m.spans = LoadMemberSpans(r);
    const WorkspaceInfo* w = c.workspace(static_cast<uint32_t>(k >> 32));
    if (w == nullptr || (m.live && m.spans.empty())) return false;
    if (m.live) m.slot = w->Slot(c.labels.Name(m.spans.back().role));
  }
  n = r.Count(4);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    uint64_t k = r.U64();
    AccountMember& m = account_members_[k];
    m.live = r.Bool();
    m.joined_position = r.U64();
    m.joined_at = r.I64();
    m.subject = r.Str();
    m.spans = LoadMemberSpans(r);
    if (m.live && m.spans.empty()) return false;
    if (m.live) m.patterns = policy::AccountRole(c.labels.Name(m.spans.back().role));
  }
  n = r.Count(8);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    Partner pr;
    pr.id = r.U32();
    pr.workspace = r.U32();
    pr.partner_account = r.U32();
    pr.status = static_cast<PartnerStatus>(r.U8() & 3);
    pr.level = r.U32();
    pr.sets = r.Strings();
    pr.invited_position = r.U64();
    pr.invited_at = r.I64();
    pr.invited_by = r.U32();
    pr.spans.resize(r.Count(8));
    for (auto& s : pr.spans) {
      LoadSpan(r, s);
      s.level = r.U32();
      s.sets = r.Strings();
    }
    pr.permissions = PartnerPatterns(c.labels.Name(pr.level));
    partner_index_[pr.id] = static_cast<uint32_t>(partners_.size());
    partners_.push_back(std::move(pr));
  }
  n = r.Count(4);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    uint64_t k = r.U64();
    Share& s = shares_[k];
    s.live = r.Bool();
    s.grantee_account = r.U32();
    s.all_containers = r.Bool();
    s.containers = r.Strings();
    s.billing = r.Bool();
    s.spans.resize(r.Count(8));
    for (auto& sp : s.spans) {
      LoadSpan(r, sp);
      sp.all_containers = r.Bool();
      sp.containers = r.Strings();
      sp.billing = r.Bool();
    }
    if (s.live && s.spans.empty()) return false;
    if (s.live) s.permissions = SharePatterns(s.billing);
  }
  if (!r.ok()) return false;
  RebuildIndexes(c);
  return true;
}

void Access::RebuildIndexes(const Catalog&) {
  for (uint64_t k : SortedKeys(ws_members_)) {
    auto ws = static_cast<uint32_t>(k >> 32), user = static_cast<uint32_t>(k);
    Add(ws_users_, ws, user);
    Add(user_workspaces_, user, ws);
  }
  for (uint64_t k : SortedKeys(account_members_)) {
    auto acct = static_cast<uint32_t>(k >> 32), user = static_cast<uint32_t>(k);
    Add(account_users_, acct, user);
    Add(user_accounts_, user, acct);
  }
  for (uint32_t i = 0; i < partners_.size(); ++i) {
    Add(ws_partners_, partners_[i].workspace, i);
    Add(partner_account_partners_, partners_[i].partner_account, i);
  }
  for (uint64_t k : SortedKeys(shares_)) {
    auto acct = static_cast<uint32_t>(k >> 32), user = static_cast<uint32_t>(k);
    Add(account_grantees_, acct, user);
    Add(user_share_accounts_, user, acct);
  }
}

}  // namespace roster::projections
