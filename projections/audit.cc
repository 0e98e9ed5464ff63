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

namespace {

void Add(std::vector<std::vector<uint64_t>>& index, uint32_t id, uint64_t p) {
  if (id == kNone) return;
  if (id >= index.size()) index.resize(std::max<size_t>(id + 1, index.size() * 3 / 2));
  index[id].push_back(p);
}

const std::vector<uint64_t>& Get(const std::vector<std::vector<uint64_t>>& index, uint32_t id) {
  static const std::vector<uint64_t> kEmpty;
  return id < index.size() ? index[id] : kEmpty;
}

}  // namespace

void Audit::Index(uint64_t p, const AuditRow& row) {
  Add(by_account_, row.account, p);
  Add(by_workspace_, row.workspace, p);
  Add(by_actor_, row.actor, p);
  Add(by_subject_, row.subject, p);
  Add(by_type_, row.type, p);
}

uint32_t Audit::SubjectId(std::string_view subject, const Catalog& c, const EventIds& ids) {
  // The subject is usually a name the catalog already resolved for this event.
  auto cached = [&](std::vector<uint32_t>& cache, uint32_t id) -> uint32_t* {
    if (id >= cache.size()) cache.resize(std::max<size_t>(id + 1, cache.size() * 3 / 2), kNone);
    return &cache[id];
  };
  uint32_t* slot = nullptr;
  if (ids.user != kNone && subject == c.users.Name(ids.user)) {
    slot = cached(user_subject_, ids.user);
  } else if (ids.item != kNone && subject == c.labels.Name(ids.item)) {
    slot = cached(label_subject_, ids.item);
  } else if (ids.workspace != kNone && subject == c.workspaces.Name(ids.workspace)) {
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
  Index(rows_.size(), row);
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
  const std::vector<uint64_t>* best = nullptr;
  auto consider = [&](bool use, const PositionLists& index, uint32_t key) {
    if (!use) return;
    const std::vector<uint64_t>* list = &Get(index, key);
    if (best == nullptr || list->size() < best->size()) best = list;
  };
  consider(s.use_account, by_account_, s.account);
  consider(s.use_workspace, by_workspace_, s.workspace);
  consider(s.use_actor, by_actor_, s.actor);
  consider(s.use_subject, by_subject_, s.subject);
  consider(s.use_type, by_type_, s.type);

  auto take = [&](uint64_t p) -> bool {  // false: stop
    if (!Matches(rows_[p - 1], s)) return true;
    if (out.size() == limit) {
      *more = true;
      *next = p;
      return false;
    }
    out.push_back(p);
    return true;
  };
  if (best == nullptr) {
    for (uint64_t p = lo; p <= hi; ++p) {
      if (!take(p)) break;
    }
  } else {
    for (auto it = std::lower_bound(best->begin(), best->end(), lo);
         it != best->end() && *it <= hi; ++it) {
      if (!take(*it)) break;
    }
  }
  return out;
}

std::vector<uint64_t> Audit::ByActorNewestFirst(uint32_t actor, uint64_t before, size_t limit,
                                                bool* more, uint64_t* next) const {
  *more = false;
  *next = 0;
  std::vector<uint64_t> out;
  const auto& list = Get(by_actor_, actor);
  auto end = before == 0 ? list.end() : std::lower_bound(list.begin(), list.end(), before);
  while (end != list.begin()) {
    --end;
    if (out.size() == limit) {
      *more = true;
      *next = *end + 1;  // exclusive bound that includes *end
      break;
    }
    out.push_back(*end);
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
    Index(i + 1, row);
  }
  return r.ok();
}

}  // namespace roster::projections
