// Test ledgers for projections: events appended straight to a MemoryEventStore, one
// append per event, the clock moving one second per event so times are distinct.
//
//   LedgerBuilder b;
//   b.Account("acme", "Acme", "ana", "ana@acme.io");      // AccountOpened (owner ana)
//   b.Workspace("acme", "w1", "Spring Catalogue");          // WorkspaceCreated
//   uint64_t p = b.Join("acme", "w1", "bo", "bo@acme.io", "editor");  // InviteAccepted
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "base/clock.h"
#include "base/crypto.h"
#include "events/codec.h"
#include "storage/memory_store.h"

namespace roster::projections::testing {

inline constexpr Micros kStart = 1'790'000'000'000'000;  // 2026-09-21T...

class LedgerBuilder {
 public:
  LedgerBuilder() : clock_(kStart), store_(&clock_) {}

  storage::MemoryEventStore& store() { return store_; }
  ManualClock& clock() { return clock_; }

  // Appends one event to "account-<account>" (or `stream` verbatim when it has no
  // "account-" prefix and is "privacy"). Returns its position. Time advances 1 s first.
  uint64_t Append(const std::string& account, const events::Event& e,
                  const std::string& actor = "service") {
    clock_.Advance(kMicrosPerSecond);
    storage::AppendRequest req;
    req.stream = account == "privacy" ? "privacy" : "account-" + account;
    req.actor = actor;
    req.events.push_back({events::TypeOf(e), events::EncodeEvent(e)});
    auto r = store_.Append(std::move(req));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->last_position : 0;
  }
  Micros Now() const { return clock_.Now(); }

  events::Bytes Key(const std::string& email) {
    return events::Bytes{std::string(AsBytes(HmacSha256(store_.LedgerSecret(), email)))};
  }
  std::string Subject(const std::string& email) {
    auto s = store_.Vault().SubjectFor(Key(email), email);
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : std::string();
  }

  // ---- Shorthands (actor defaults to "service") ----
  uint64_t Account(const std::string& id, const std::string& name, const std::string& owner,
                   const std::string& owner_email, const std::string& plan = "standard",
                   const std::string& region = "eu") {
    return Append(id, events::AccountOpened{id, name, plan, region, owner, Key(owner_email),
                                            Subject(owner_email)});
  }
  uint64_t AccountMember(const std::string& account, const std::string& user,
                         const std::string& email, const std::string& role,
                         const std::string& actor = "service") {
    return Append(account, events::AccountMemberAdded{user, Key(email), Subject(email), role},
                  actor);
  }
  uint64_t Workspace(const std::string& account, const std::string& ws, const std::string& name,
                     const std::string& tmpl = "standard", int64_t ttl = 7 * 24 * 3600) {
    return Append(account, events::WorkspaceCreated{ws, name, tmpl, ttl});
  }
  uint64_t Invite(const std::string& account, const std::string& ws, const std::string& inv,
                  const std::string& email, const std::string& role, Micros expires_at,
                  const std::string& actor = "service", events::AccessMap access = {},
                  events::Scope scope = {}) {
    return Append(account,
                  events::InviteSent{ws, inv, Key(email), Subject(email), role, access, scope,
                                     events::Bytes{std::string(32, 't')}, expires_at},
                  actor);
  }
  // InviteAccepted (actor: the user).
  uint64_t Join(const std::string& account, const std::string& ws, const std::string& user,
                const std::string& email, const std::string& role, events::AccessMap access = {},
                events::Scope scope = {}, const std::string& invitation = "") {
    return Append(account,
                  events::InviteAccepted{ws, invitation.empty() ? "inv_" + user : invitation, user,
                                         Key(email), Subject(email), role, access, scope},
                  "user:" + user);
  }
  uint64_t LinkJoin(const std::string& account, const std::string& ws, const std::string& user,
                    const std::string& email, const std::string& role) {
    return Append(account, events::LinkJoined{ws, user, Key(email), Subject(email), role},
                  "user:" + user);
  }

 private:
  ManualClock clock_;
  storage::MemoryEventStore store_;
};

}  // namespace roster::projections::testing
