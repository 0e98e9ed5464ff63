#include "projections/audit.h"

#include <algorithm>

#include "projections/fields.h"

namespace roster::projections {

std::string Audit::SubjectOf(const events::Event& event) {
  return std::visit(
      Overloaded{
          [](const events::AccountOpened& e) { return e.account_id; },
          [](const events::AccountMemberAdded& e) { return e.user_id; },
          [](const events::AccountMemberRoleChanged& e) { return e.user_id; },
          [](const events::AccountMemberRemoved& e) { return e.user_id; },
          [](const events::WorkspaceCreated& e) { return e.workspace_id; },
          [](const events::RoleDefined& e) { return e.role; },
          [](const events::RoleChanged& e) { return e.user_id; },
          [](const events::AccessChanged& e) { return e.user_id; },
          [](const events::ScopeChanged& e) { return e.user_id; },
          [](const events::MemberRemoved& e) { return e.user_id; },
          [](const events::InviteSent& e) { return e.invitation_id; },
          [](const events::InviteResent& e) { return e.invitation_id; },
          [](const events::InviteCancelled& e) { return e.invitation_id; },
          [](const events::InviteAccepted& e) { return e.user_id; },
          [](const events::InviteSuperseded& e) { return e.invitation_id; },
          [](const events::LinkCreated& e) { return e.workspace_id; },
          [](const events::LinkRoleChanged& e) { return e.workspace_id; },
          [](const events::LinkRegenerated& e) { return e.workspace_id; },
          [](const events::LinkDisabled& e) { return e.workspace_id; },
          [](const events::LinkJoined& e) { return e.user_id; },
          [](const events::PartnerInvited& e) { return e.partner_id; },
          [](const events::PartnerAccepted& e) { return e.partner_id; },
          [](const events::PartnerAccessChanged& e) { return e.partner_id; },
          [](const events::PartnerSetsAssigned& e) { return e.partner_id; },
          [](const events::PartnerSetsRevoked& e) { return e.partner_id; },
          [](const events::PartnerSuspended& e) { return e.partner_id; },
          [](const events::PartnerResumed& e) { return e.partner_id; },
          [](const events::PartnerRevoked& e) { return e.partner_id; },
          [](const events::SharedAccessGranted& e) { return e.grantee_user_id; },
          [](const events::SharedAccessRemoved& e) { return e.grantee_user_id; },
          [](const events::SharedAccessRetired& e) { return e.grantee_user_id; },
          [](const events::SubjectErased& e) { return ToHex(e.email_key.data); },
      },
      event);
}

void Audit::Index(uint64_t p, const AuditRow& row) {
  if (row.account != kNone) by_account_[row.account].push_back(p);
  if (row.workspace != kNone) by_workspace_[row.workspace].push_back(p);
  if (row.actor != kNone) by_actor_[row.actor].push_back(p);
  if (row.subject != kNone) by_subject_[row.subject].push_back(p);
  by_type_[row.type].push_back(p);
}

void Audit::Apply(const events::RecordedEvent& r, const Catalog& c) {
  AuditRow row;
  row.account = c.AccountOfStream(r.envelope.stream);
  std::string_view ws_id = WorkspaceIdOf(r.event);
  if (!ws_id.empty()) row.workspace = c.workspaces.Find(ws_id);
  row.actor = c.labels.Find(r.envelope.actor);
  std::string subject = SubjectOf(r.event);
  if (!subject.empty()) row.subject = subjects_.Intern(subject);
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
  static const std::vector<uint64_t> kEmpty;
  const std::vector<uint64_t>* best = nullptr;
  auto consider = [&](bool use, const auto& index, auto key) {
    if (!use) return;
    auto it = index.find(key);
    const std::vector<uint64_t>* list = it == index.end() ? &kEmpty : &it->second;
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
  auto it = by_actor_.find(actor);
  if (it == by_actor_.end()) return out;
  const auto& list = it->second;
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
