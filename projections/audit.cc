#include "projections/audit.h"

#include <algorithm>

#include "projections/fields.h"

namespace roster::projections {

std::string_view Audit::SubjectOf(const events::Event& event, std::string* scratch) {
  return std::visit(
      Overloaded{
          [](const events::AccountOpened& e) -> std::string_view { return e.account_id; },
          [](const events::AccountMemberAdded& e) -> std::string_view { return e.user_id; },
          [](const events::AccountMemberRoleChanged& e) -> std::string_view { return e.user_id; },
          [](const events::AccountMemberRemoved& e) -> std::string_view { return e.user_id; },
          [](const events::WorkspaceCreated& e) -> std::string_view { return e.workspace_id; },
          [](const events::RoleDefined& e) -> std::string_view { return e.role; },
          [](const events::RoleChanged& e) -> std::string_view { return e.user_id; },
          [](const events::AccessChanged& e) -> std::string_view { return e.user_id; },
          [](const events::ScopeChanged& e) -> std::string_view { return e.user_id; },
          [](const events::MemberRemoved& e) -> std::string_view { return e.user_id; },
          [](const events::InviteSent& e) -> std::string_view { return e.invitation_id; },
          [](const events::InviteResent& e) -> std::string_view { return e.invitation_id; },
          [](const events::InviteCancelled& e) -> std::string_view { return e.invitation_id; },
          [](const events::InviteAccepted& e) -> std::string_view { return e.user_id; },
          [](const events::InviteSuperseded& e) -> std::string_view { return e.invitation_id; },
          [](const events::LinkCreated& e) -> std::string_view { return e.workspace_id; },
          [](const events::LinkRoleChanged& e) -> std::string_view { return e.workspace_id; },
          [](const events::LinkRegenerated& e) -> std::string_view { return e.workspace_id; },
          [](const events::LinkDisabled& e) -> std::string_view { return e.workspace_id; },
          [](const events::LinkJoined& e) -> std::string_view { return e.user_id; },
          [](const events::PartnerInvited& e) -> std::string_view { return e.partner_id; },
          [](const events::PartnerAccepted& e) -> std::string_view { return e.partner_id; },
          [](const events::PartnerAccessChanged& e) -> std::string_view { return e.partner_id; },
          [](const events::PartnerSetsAssigned& e) -> std::string_view { return e.partner_id; },
          [](const events::PartnerSetsRevoked& e) -> std::string_view { return e.partner_id; },
          [](const events::PartnerSuspended& e) -> std::string_view { return e.partner_id; },
          [](const events::PartnerResumed& e) -> std::string_view { return e.partner_id; },
          [](const events::PartnerRevoked& e) -> std::string_view { return e.partner_id; },
          [](const events::SharedAccessGranted& e) -> std::string_view { return e.grantee_user_id; },
          [](const events::SharedAccessRemoved& e) -> std::string_view { return e.grantee_user_id; },
          [](const events::SharedAccessRetired& e) -> std::string_view { return e.grantee_user_id; },
          [&](const events::SubjectErased& e) -> std::string_view {
            *scratch = ToHex(e.email_key.data);
            return *scratch;
          },
      },
      event);
}

size_t Audit::Lists::Count(uint32_t v) const {
  size_t n = 0;
  if (static_cast<size_t>(v) + 1 < offsets.size()) n += offsets[v + 1] - offsets[v];
  if (v < live.size()) n += live[v].size();
  return n;
}

template <class F>
void Audit::ForEachDimension(F&& f) {
  f(by_account_, [](const AuditRow& r) { return r.account; });
  f(by_workspace_, [](const AuditRow& r) { return r.workspace; });
  f(by_actor_, [](const AuditRow& r) { return r.actor; });
  f(by_subject_, [](const AuditRow& r) { return r.subject; });
  f(by_type_, [](const AuditRow& r) { return static_cast<uint32_t>(r.type); });
}

void Audit::Index(uint64_t p, const AuditRow& row) {
  by_account_.Add(row.account, p);
  by_workspace_.Add(row.workspace, p);
  by_actor_.Add(row.actor, p);
  by_subject_.Add(row.subject, p);
  by_type_.Add(row.type, p);
}

void Audit::Seal() {
  const uint64_t n = rows_.size();
  if (n == sealed_) return;
  if (n > UINT32_MAX) {  // positions no longer fit the sealed arrays: the live lists
    for (uint64_t p = indexed_ + 1; p <= n; ++p) Index(p, rows_[p - 1]);
    indexed_ = n;
    return;
  }
  // A counting sort per dimension: count per value, prefix sums, then every position in
  // ascending order to its value's range (so each range is sorted).
  ForEachDimension([&](Lists& lists, auto value) {
    BigVector<uint32_t> offsets;
    for (const AuditRow& row : rows_) {
      uint32_t v = value(row);
      if (v == kNone) continue;
      if (static_cast<size_t>(v) + 2 > offsets.size()) {
        offsets.resize(std::max<size_t>(static_cast<size_t>(v) + 2, offsets.size() * 3 / 2));
      }
      ++offsets[v + 1];
    }
    for (size_t i = 1; i < offsets.size(); ++i) offsets[i] += offsets[i - 1];
    BigVector<uint32_t> sealed(offsets.empty() ? 0 : offsets.back());
    BigVector<uint32_t> next(offsets);
    for (uint32_t p = 1; p <= n; ++p) {
      uint32_t v = value(rows_[p - 1]);
      if (v != kNone) sealed[next[v]++] = p;
    }
    lists.offsets = std::move(offsets);
    lists.sealed = std::move(sealed);
    std::vector<std::vector<uint64_t>>().swap(lists.live);
  });
  sealed_ = indexed_ = n;
}

uint32_t Audit::SubjectId(std::string_view subject, const Catalog& c, const EventIds& ids) {
  // The subject is usually a name the catalog already resolved for this event.
  auto cached = [&](std::vector<uint32_t>& cache, uint32_t id) -> uint32_t* {
    if (id >= cache.size()) cache.resize(std::max<size_t>(id + 1, cache.size() * 3 / 2), kNone);
    return &cache[id];
  };
  // Found in the recent table of the interner the catalog has just used for the same name
  // (in cache), not by comparing with the stored name (a cache miss per event).
  uint32_t* slot = nullptr;
  if (ids.user != kNone && c.users.FindRecent(subject) == ids.user) {
    slot = cached(user_subject_, ids.user);
  } else if (ids.item != kNone && c.labels.FindRecent(subject) == ids.item) {
    slot = cached(label_subject_, ids.item);
  } else if (ids.workspace != kNone && c.workspaces.FindRecent(subject) == ids.workspace) {
    slot = cached(workspace_subject_, ids.workspace);
  }
  if (slot == nullptr) return subjects_.Intern(subject);
  if (*slot == kNone) *slot = subjects_.Intern(subject);
  return *slot;
}

void Audit::Apply(const events::RecordedEvent& r, const Catalog& c, const EventIds& ids) {
  AuditRow row;
  row.account = ids.account;
  row.workspace = ids.workspace;
  row.actor = ids.actor;
  std::string scratch;
  std::string_view subject = SubjectOf(r.event, &scratch);
  if (!subject.empty()) row.subject = SubjectId(subject, c, ids);
  row.type = static_cast<uint16_t>(r.envelope.type);
  rows_.push_back(row);
  if (bulk_) return;  // unindexed until EndBulk
  if (indexed_ + 1 == rows_.size()) {
    Index(rows_.size(), row);
    indexed_ = rows_.size();
  } else {
    Seal();  // a bulk catch-up that did not end with EndBulk
  }
}

bool Audit::Matches(const AuditRow& row, const AuditSelector& s) const {
  return (!s.use_account || row.account == s.account) &&
         (!s.use_workspace || row.workspace == s.workspace) &&
         (!s.use_actor || row.actor == s.actor) && (!s.use_subject || row.subject == s.subject) &&
         (!s.use_type || row.type == s.type);
}

std::vector<uint64_t> Audit::Select(const AuditSelector& s, size_t limit, bool* more,
                                    uint64_t* next) const {
  *more = false;
  *next = 0;
  std::vector<uint64_t> out;
  uint64_t lo = std::max<uint64_t>(s.from_position, 1);
  uint64_t hi = std::min<uint64_t>(s.to_position, rows_.size());
  if (lo > hi) return out;

  // The most selective list among the filters used; nullptr = scan positions.
  const Lists* best = nullptr;
  uint32_t best_key = kNone;
  size_t best_count = 0;
  bool none = false;  // a filter on kNone: nothing is indexed under it, nothing matches
  auto consider = [&](bool use, const Lists& lists, uint32_t key) {
    if (!use) return;
    none |= key == kNone;
    size_t count = lists.Count(key);
    if (best == nullptr || count < best_count) {
      best = &lists;
      best_key = key;
      best_count = count;
    }
  };
  consider(s.use_account, by_account_, s.account);
  consider(s.use_workspace, by_workspace_, s.workspace);
  consider(s.use_actor, by_actor_, s.actor);
  consider(s.use_subject, by_subject_, s.subject);
  consider(s.use_type, by_type_, s.type);
  if (none) return out;

  bool stopped = false;
  auto take = [&](uint64_t p) -> bool {  // false: stop
    if (!Matches(rows_[p - 1], s)) return true;
    if (out.size() == limit) {
      *more = true;
      *next = p;
      stopped = true;
      return false;
    }
    out.push_back(p);
    return true;
  };
  if (best == nullptr) {
    for (uint64_t p = lo; p <= hi; ++p) {
      if (!take(p)) break;
    }
    return out;
  }
  // Sealed, live, then unindexed positions: each part ascending, the parts in order.
  if (static_cast<size_t>(best_key) + 1 < best->offsets.size() && lo <= sealed_) {
    auto first = best->sealed.begin() + best->offsets[best_key];
    auto last = best->sealed.begin() + best->offsets[best_key + 1];
    for (auto it = std::lower_bound(first, last, lo); it != last && *it <= hi; ++it) {
      if (!take(*it)) break;
    }
  }
  if (!stopped && best_key < best->live.size()) {
    const std::vector<uint64_t>& list = best->live[best_key];
    for (auto it = std::lower_bound(list.begin(), list.end(), lo); it != list.end() && *it <= hi;
         ++it) {
      if (!take(*it)) break;
    }
  }
  for (uint64_t p = std::max(lo, indexed_ + 1); !stopped && p <= hi; ++p) take(p);
  return out;
}

std::vector<uint64_t> Audit::ByActorNewestFirst(uint32_t actor, uint64_t before, size_t limit,
                                                bool* more, uint64_t* next) const {
  *more = false;
  *next = 0;
  std::vector<uint64_t> out;
  uint64_t top = before == 0 ? rows_.size() : std::min<uint64_t>(before - 1, rows_.size());
  bool stopped = false;
  auto take = [&](uint64_t p) -> bool {  // false: stop
    if (out.size() == limit) {
      *more = true;
      *next = p + 1;  // exclusive bound that includes p
      stopped = true;
      return false;
    }
    out.push_back(p);
    return true;
  };
  // Unindexed, live, then sealed positions, each newest first.
  for (uint64_t p = top; !stopped && p > indexed_; --p) {
    if (rows_[p - 1].actor == actor && !take(p)) break;
  }
  if (!stopped && actor < by_actor_.live.size()) {
    const std::vector<uint64_t>& list = by_actor_.live[actor];
    auto end = std::upper_bound(list.begin(), list.end(), top);
    while (end != list.begin()) {
      --end;
      if (!take(*end)) break;
    }
  }
  if (!stopped && static_cast<size_t>(actor) + 1 < by_actor_.offsets.size()) {
    auto first = by_actor_.sealed.begin() + by_actor_.offsets[actor];
    auto last = by_actor_.sealed.begin() + by_actor_.offsets[actor + 1];
    auto end = std::upper_bound(first, last, top);
    while (end != first) {
      --end;
      if (!take(*end)) break;
    }
  }
  return out;
}

void Audit::Save(Writer& w) const {
  subjects_.Save(w);
  w.U64(rows_.size());
  // kNone is written as 0 and ids as id+1, so the common values stay one byte.
  auto id = [&](uint32_t v) { w.U64(v == kNone ? 0 : static_cast<uint64_t>(v) + 1); };
  for (const AuditRow& row : rows_) {
    id(row.account);
    id(row.workspace);
    id(row.actor);
    id(row.subject);
    w.U32(row.type);
  }
}

bool Audit::Load(Reader& r) {
  if (!subjects_.Load(r)) return false;
  rows_.resize(r.Count(5));
  auto id = [&]() -> uint32_t {
    uint64_t v = r.U64();
    if (v == 0) return kNone;
    if (v - 1 >= kNone) r.Fail();
    return static_cast<uint32_t>(v - 1);
  };
  for (size_t i = 0; i < rows_.size() && r.ok(); ++i) {
    AuditRow& row = rows_[i];
    row.account = id();
    row.workspace = id();
    row.actor = id();
    row.subject = id();
    uint32_t type = r.U32();
    if (type > UINT16_MAX) r.Fail();
    row.type = static_cast<uint16_t>(type);
  }
  if (r.ok()) Seal();
  return r.ok();
}

}  // namespace roster::projections
