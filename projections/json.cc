#include "projections/json.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace roster::projections {
namespace json = boost::json;
namespace {

json::array Strings(const std::vector<std::string>& list) {
  json::array a;
  a.reserve(list.size());
  for (const auto& s : list) a.emplace_back(s);
  return a;
}

json::object AccessJson(const events::AccessMap& access) {
  json::object o;
  for (const auto& [m, l] : access) o[m] = l;
  return o;
}

json::object ScopeJson(const events::Scope& s) {
  return json::object{
      {"markets", Strings(s.markets)}, {"sets", Strings(s.sets)}, {"groups", Strings(s.groups)}};
}

void PutEmail(json::object& o, const Email& e) {
  if (e.email) {
    o["email"] = *e.email;
  } else {
    o["email"] = nullptr;
  }
  o["email_erased"] = e.erased;
}

json::value Cursor(const std::optional<std::string>& c) {
  return c ? json::value(*c) : json::value(nullptr);
}

}  // namespace

json::object DecisionToJson(const Decision& d) {
  json::object o;
  o["allowed"] = d.allowed;
  if (d.reason) {
    const Reason& r = *d.reason;
    o["reason"] = json::object{{"via", ViaName(r.via)},
                               {"role", r.role},
                               {"granted_position", r.granted_position},
                               {"granted_at", FormatRfc3339(r.granted_at)},
                               {"granted_by", r.granted_by}};
  } else {
    o["reason"] = nullptr;
  }
  o["position"] = d.position;
  return o;
}

json::object WhoHasToJson(const WhoHasResult& r) {
  json::array a;
  for (const Holder& h : r.principals) {
    a.push_back(json::object{{"user_id", h.user_id}, {"via", ViaName(h.via)}, {"role", h.role}});
  }
  return json::object{{"principals", std::move(a)}, {"position", r.position}};
}

json::object UserAccessToJson(const UserAccessResult& r) {
  json::array a;
  for (const WorkspaceAccess& w : r.workspaces) {
    a.push_back(json::object{{"workspace_id", w.workspace_id},
                             {"account_id", w.account_id},
                             {"role", w.role},
                             {"via", ViaName(w.via)},
                             {"permissions", Strings(w.permissions)},
                             {"access", AccessJson(w.access)},
                             {"scope", ScopeJson(w.scope)}});
  }
  return json::object{{"workspaces", std::move(a)}, {"position", r.position}};
}

json::object AccessHistoryToJson(const AccessHistoryResult& r) {
  json::array a;
  for (const Interval& iv : r.intervals) {
    json::object o{{"role", iv.role},
                   {"via", ViaName(iv.via)},
                   {"from_position", iv.from_position},
                   {"from_time", FormatRfc3339(iv.from_time)},
                   {"granted_by", iv.granted_by},
                   {"access", AccessJson(iv.access)},
                   {"scope", ScopeJson(iv.scope)}};
    o["to_position"] = iv.to_position ? json::value(*iv.to_position) : json::value(nullptr);
    o["to_time"] = iv.to_time ? json::value(FormatRfc3339(*iv.to_time)) : json::value(nullptr);
    o["revoked_by"] = iv.revoked_by ? json::value(*iv.revoked_by) : json::value(nullptr);
    if (!iv.partner_id.empty()) o["partner_id"] = iv.partner_id;
    a.push_back(std::move(o));
  }
  return json::object{{"intervals", std::move(a)}, {"position", r.position}};
}

json::object AccessReviewToJson(const AccessReviewResult& r) {
  auto entries = [](const std::vector<ReviewEntry>& list) {
    json::array a;
    for (const ReviewEntry& e : list) {
      a.push_back(json::object{{"user_id", e.user_id}, {"role", e.role}, {"via", ViaName(e.via)}});
    }
    return a;
  };
  json::array changed;
  for (const RoleChange& c : r.changed) {
    changed.push_back(
        json::object{{"user_id", c.user_id}, {"from_role", c.from_role}, {"to_role", c.to_role}});
  }
  return json::object{{"gained", entries(r.gained)},
                      {"lost", entries(r.lost)},
                      {"changed", std::move(changed)},
                      {"from_position", r.from_position},
                      {"to_position", r.to_position},
                      {"position", r.position}};
}

json::object MembersToJson(const MembersResult& r) {
  json::array a;
  for (const MemberView& m : r.members) {
    json::object o{{"user_id", m.user_id}};
    PutEmail(o, m.email);
    o["role"] = m.role;
    o["access"] = AccessJson(m.access);
    o["scope"] = ScopeJson(m.scope);
    o["source"] = m.source;
    o["joined_at"] = FormatRfc3339(m.joined_at);
    o["joined_position"] = m.joined_position;
    a.push_back(std::move(o));
  }
  return json::object{
      {"members", std::move(a)}, {"next_cursor", Cursor(r.next_cursor)}, {"position", r.position}};
}

json::object InvitationToJson(const InvitationView& v) {
  json::object o{{"invitation_id", v.invitation_id}, {"workspace_id", v.workspace_id}};
  PutEmail(o, v.email);
  o["role"] = v.role;
  o["access"] = AccessJson(v.access);
  o["scope"] = ScopeJson(v.scope);
  o["status"] = v.status;
  o["invited_by"] = v.invited_by;
  o["sent_at"] = FormatRfc3339(v.sent_at);
  o["first_sent_at"] = FormatRfc3339(v.first_sent_at);
  o["expires_at"] = FormatRfc3339(v.expires_at);
  return o;
}

json::object InvitationsToJson(const InvitationsResult& r) {
  json::array a;
  for (const InvitationView& v : r.invitations) a.push_back(InvitationToJson(v));
  return json::object{{"invitations", std::move(a)},
                      {"next_cursor", Cursor(r.next_cursor)},
                      {"position", r.position}};
}

json::object LinkToJson(const LinkView& v) {
  return json::object{{"role", v.role},
                      {"enabled", v.enabled},
                      {"created_at", FormatRfc3339(v.created_at)},
                      {"created_by", v.created_by},
                      {"updated_at", FormatRfc3339(v.updated_at)},
                      {"workspace_id", v.workspace_id},
                      {"position", v.position}};
}

json::object PartnerToJson(const PartnerView& v) {
  json::array history;
  for (const PartnerHistoryItem& h : v.history) {
    json::object o = h.fields;
    o["position"] = h.position;
    o["type"] = h.type;
    o["at"] = FormatRfc3339(h.at);
    o["actor"] = h.actor;
    history.push_back(std::move(o));
  }
  return json::object{{"partner_id", v.partner_id},
                      {"workspace_id", v.workspace_id},
                      {"partner_account_id", v.partner_account_id},
                      {"status", v.status},
                      {"access_level", v.access_level},
                      {"sets", Strings(v.sets)},
                      {"history", std::move(history)},
                      {"position", v.position}};
}

json::object PartnersToJson(const PartnersResult& r) {
  json::array a;
  for (const PartnerView& v : r.partners) {
    json::object o = PartnerToJson(v);
    o.erase("position");
    a.push_back(std::move(o));
  }
  return json::object{{"partners", std::move(a)}, {"position", r.position}};
}

json::object SharesToJson(const SharesResult& r) {
  json::array a;
  for (const ShareView& s : r.shares) {
    a.push_back(json::object{
        {"account_id", s.account_id},
        {"grantee_user_id", s.grantee_user_id},
        {"grantee_account_id", s.grantee_account_id},
        {"containers", s.all_containers ? json::value("all") : json::value(Strings(s.containers))},
        {"billing", s.billing},
        {"granted_at", FormatRfc3339(s.granted_at)},
        {"granted_by", s.granted_by},
        {"granted_position", s.granted_position}});
  }
  return json::object{{"shares", std::move(a)}, {"position", r.position}};
}

json::object AccountToJson(const AccountView& v) {
  json::array members;
  for (const AccountMemberView& m : v.members) {
    json::object o{{"user_id", m.user_id}};
    PutEmail(o, m.email);
    o["role"] = m.role;
    o["joined_at"] = FormatRfc3339(m.joined_at);
    o["joined_position"] = m.joined_position;
    members.push_back(std::move(o));
  }
  json::array workspaces;
  for (const WorkspaceSummary& w : v.workspaces) {
    workspaces.push_back(json::object{
        {"workspace_id", w.workspace_id}, {"name", w.name}, {"template", w.template_name}});
  }
  return json::object{{"account_id", v.account_id}, {"name", v.name},
                      {"plan", v.plan},             {"region", v.region},
                      {"members", std::move(members)}, {"workspaces", std::move(workspaces)},
                      {"position", v.position}};
}

json::object WorkspaceToJson(const WorkspaceView& v) {
  json::object roles;
  for (const auto& [name, patterns] : v.roles) roles[name] = Strings(patterns);
  return json::object{{"workspace_id", v.workspace_id},
                      {"account_id", v.account_id},
                      {"name", v.name},
                      {"template", v.template_name},
                      {"invite_ttl_seconds", v.invite_ttl_seconds},
                      {"roles", std::move(roles)},
                      {"position", v.position}};
}

json::object NotificationsToJson(const NotificationsResult& r) {
  json::array a;
  for (const NotificationView& n : r.notifications) {
    a.push_back(json::object{{"position", n.position},
                             {"kind", n.kind},
                             {"text", n.text},
                             {"recorded_at", FormatRfc3339(n.recorded_at)}});
  }
  return json::object{{"notifications", std::move(a)},
                      {"next_cursor", Cursor(r.next_cursor)},
                      {"position", r.position}};
}

json::object AuditEntryToJson(const AuditEntry& e) {
  json::object o;
  o["position"] = e.position;
  o["recorded_at"] = FormatRfc3339(e.recorded_at);
  o["type"] = e.type;
  o["actor"] = e.actor;
  o["subject"] = e.subject;
  o["account_id"] = e.account_id ? json::value(*e.account_id) : json::value(nullptr);
  o["workspace_id"] = e.workspace_id ? json::value(*e.workspace_id) : json::value(nullptr);
  o["summary"] = e.summary;
  o["data"] = e.data;
  o["hash"] = e.hash;
  return o;
}

json::object AuditPageToJson(const AuditPage& page) {
  json::array a;
  a.reserve(page.entries.size());
  for (const AuditEntry& e : page.entries) a.push_back(AuditEntryToJson(e));
  return json::object{{"entries", std::move(a)},
                      {"next_cursor", Cursor(page.next_cursor)},
                      {"position", page.position}};
}

std::string CsvCell(std::string_view text) {
  std::string cell;
  if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' ||
                        text[0] == '\t' || text[0] == '\r')) {
    cell.push_back('\'');
  }
  cell.append(text);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char ch : cell) {
    if (ch == '"') quoted.push_back('"');
    quoted.push_back(ch);
  }
  quoted.push_back('"');
  return quoted;
}

std::string AuditCsvHeader() {
  return "position,recorded_at,type,actor,subject,account_id,workspace_id,summary,hash,data\r\n";
}

std::string AuditCsvRow(const AuditEntry& e) {
  std::string row;
  auto cell = [&](std::string_view text) {
    if (!row.empty()) row.push_back(',');
    row += CsvCell(text);
  };
  cell(std::to_string(e.position));
  cell(FormatRfc3339(e.recorded_at));
  cell(e.type);
  cell(e.actor);
  cell(e.subject);
  cell(e.account_id.value_or(""));
  cell(e.workspace_id.value_or(""));
  cell(e.summary);
  cell(e.hash);
  cell(json::serialize(e.data));
  row += "\r\n";
  return row;
}

}  // namespace roster::projections
