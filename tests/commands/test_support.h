// Helpers for the commands tests: event builders for "given" histories, a fake
// CrossAccountView, deterministic email keys, and readable event rendering.
#pragma once

#include <boost/json/serialize.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "commands/account_state.h"
#include "commands/commands.h"
#include "commands/decider.h"
#include "events/json.h"

namespace roster::commands::testing {

using events::Event;

inline constexpr Micros kT0 = 1'790'000'000'000'000;  // when the given events happened
inline constexpr Micros kSecond = kMicrosPerSecond;
inline constexpr Micros kHour = 3600 * kSecond;
inline constexpr Micros kDay = 24 * kHour;

// Deterministic stand-in for the handler's HMAC: tests need equal keys for equal
// (case-insensitive) addresses, nothing more.
inline events::Bytes Key(std::string_view email) { return {"k:" + LowerAscii(email)}; }
inline std::string Subject(std::string_view email) { return "sub:" + LowerAscii(email); }
inline std::string Mail(std::string_view user) { return std::string(user) + "@x.io"; }

inline Actor U(const std::string& user) { return Actor::User(user, Mail(user)); }
inline Actor Svc() { return Actor::Service(); }

inline std::string Render(const Event& e) {
  return std::string(events::TypeName(e)) + boost::json::serialize(events::EventToJson(e));
}
inline std::string Render(const std::vector<Event>& es) {
  std::string out;
  for (const auto& e : es) out += Render(e) + "\n";
  return out;
}

// ---- given-event builders (account "a1" unless said otherwise) ----
inline Event Opened(std::string account = "a1", std::string owner = "owner",
                    std::string plan = "standard", std::string region = "global") {
  return events::AccountOpened{account, "Acme", plan,           region, owner,
                               Key(Mail(owner)), Subject(Mail(owner))};
}
inline Event AccMember(const std::string& user, const std::string& role) {
  return events::AccountMemberAdded{user, Key(Mail(user)), Subject(Mail(user)), role};
}
inline Event Ws(std::string id = "w1", std::string tmpl = "standard",
                int64_t ttl = 7 * 24 * 3600) {
  return events::WorkspaceCreated{id, "Workspace " + id, tmpl, ttl};
}
inline Event Invited(const std::string& ws, const std::string& inv, const std::string& user,
                     const std::string& role, const std::string& token, Micros expires_at,
                     events::AccessMap access = {}, events::Scope scope = {}) {
  return events::InviteSent{ws,   inv,    Key(Mail(user)),  Subject(Mail(user)), role,
                            access, scope, TokenHash(token), expires_at};
}
// A workspace member who joined by accepting invitation `inv`.
inline Event Accepted(const std::string& ws, const std::string& user, const std::string& role,
                      events::AccessMap access = {}, events::Scope scope = {},
                      const std::string& inv = "") {
  return events::InviteAccepted{ws,   inv.empty() ? "inv_" + user : inv, user, Key(Mail(user)),
                                Subject(Mail(user)), role, access, scope};
}
inline Event LinkJoin(const std::string& ws, const std::string& user, const std::string& role) {
  return events::LinkJoined{ws, user, Key(Mail(user)), Subject(Mail(user)), role};
}
inline Event Link(const std::string& ws, const std::string& role, const std::string& token) {
  return events::LinkCreated{ws, role, TokenHash(token)};
}
inline Event PartnerInv(const std::string& ws, const std::string& pid, const std::string& acct,
                        const std::string& level, std::vector<std::string> sets) {
  return events::PartnerInvited{ws, pid, acct, level, std::move(sets)};
}

// Folds `given` as stream versions 1.. at positions 1.., recorded at kT0 by the service.
inline AccountState Fold(const std::vector<Event>& given) {
  AccountState s;
  uint64_t v = 0;
  for (const auto& e : given) {
    ++v;
    events::RecordedEvent rec;
    rec.envelope.position = v;
    rec.envelope.version = v;
    rec.envelope.stream = "account-a1";
    rec.envelope.type = events::TypeOf(e);
    rec.envelope.recorded_at = kT0;
    rec.envelope.actor = "service";
    rec.event = e;
    Evolve(s, rec);
  }
  return s;
}

// Other accounts, as the handler's Directory would answer.
class FakeAccounts final : public CrossAccountView {
 public:
  void Add(const std::string& id, const std::string& plan, const std::string& region,
           std::set<std::string> admins = {}) {
    accounts_[id] = {AccountInfo{plan, region}, std::move(admins)};
  }
  void AddWorkspace(const std::string& id) { workspaces_.insert(id); }
  std::optional<AccountInfo> FindAccount(std::string_view id) const override {
    auto it = accounts_.find(std::string(id));
    if (it == accounts_.end()) return std::nullopt;
    return it->second.first;
  }
  bool Administers(std::string_view user, std::string_view id) const override {
    auto it = accounts_.find(std::string(id));
    return it != accounts_.end() && it->second.second.count(std::string(user)) > 0;
  }
  bool WorkspaceExists(std::string_view id) const override {
    return workspaces_.count(std::string(id)) > 0;
  }

 private:
  std::map<std::string, std::pair<AccountInfo, std::set<std::string>>> accounts_;
  std::set<std::string> workspaces_;
};

// The email a command writes (its key and subject go into the context).
inline std::string CommandEmail(const Command& c) {
  if (auto* o = std::get_if<OpenAccount>(&c)) return o->owner_email;
  if (auto* m = std::get_if<AddAccountMember>(&c)) return m->email;
  if (auto* i = std::get_if<SendInvite>(&c)) return i->email;
  return "";
}

}  // namespace roster::commands::testing
