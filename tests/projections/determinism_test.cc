// Determinism: thousands of random commands over many accounts, executed by the real
// CommandHandler (so every event sequence is one the deciders accept), while the engine
// follows on its projector thread and snapshots now and then. Then:
//   - every projector rebuilt from zero has the live digest;
//   - a replay to position N has the digest the live engine had at N;
//   - a restart from the last snapshot catches up to the same digest;
//   - live answers recorded at N equal as-of answers for N asked at the end.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <random>
#include <thread>

#include "commands/handler.h"
#include "projections/engine.h"
#include "projections/json.h"
#include "projections/warm_arena.h"
#include "storage/memory_store.h"

namespace roster::projections {
namespace {

// The warm arena is opt-in (warm_arena.h); these tests turn it on before its first use.
const bool kWarmArenaOn = [] { return setenv("ROSTER_WARM_ARENA", "on", 1) == 0; }();

using namespace std::chrono_literals;
using namespace roster::commands;

constexpr Micros kT0 = 1'790'000'000'000'000;

class RandomLedger {
 public:
  explicit RandomLedger(uint32_t seed) : rng_(seed), clock_(kT0), store_(&clock_) {
    handler_ = std::make_unique<CommandHandler>(store_, clock_, HandlerOptions{.ids = &ids_});
    EXPECT_TRUE(handler_->status().ok());
  }

  storage::MemoryEventStore& store() { return store_; }
  uint64_t head() const { return store_.GetHead().position; }
  size_t accepted() const { return accepted_; }
  std::vector<std::string> users() const {
    std::vector<std::string> out;
    for (int i = 0; i < kUsers; ++i) out.push_back(User(i));
    return out;
  }
  const std::vector<std::string>& workspaces() const { return workspaces_; }

  // Executes one random command; rejections are fine (they append nothing).
  void Step() {
    clock_.Advance(static_cast<Micros>(Pick(1, 5000)) * 1000);  // up to 5 s
    if (Pick(0, 200) == 0) clock_.Advance(8LL * 24 * 3600 * kMicrosPerSecond);  // expiries
    Command c;
    Actor actor = Actor::Service();
    int kind = Pick(0, 99);
    if (accounts_.size() < 3 || kind < 3) {
      int n = static_cast<int>(accounts_.size());
      std::string id = "acct" + std::to_string(n);
      bool partner = n % 4 == 3;
      c = OpenAccount{id, "Account " + std::to_string(n), partner ? "partner" : "standard",
                      n % 3 == 0 ? "eu" : "global", User(Pick(0, kUsers - 1)), ""};
      auto& open = std::get<OpenAccount>(c);
      open.owner_email = Mail(open.owner_user_id);
      if (Run(c, actor)) {
        accounts_.push_back(id);
        owners_[id] = open.owner_user_id;
        if (partner) partner_accounts_.push_back(id);
      }
      return;
    }
    const std::string& account = accounts_[Pick(0, static_cast<int>(accounts_.size()) - 1)];
    if (workspaces_.empty() || kind < 6) {
      std::string id = "ws" + std::to_string(workspaces_.size());
      static const char* kTemplates[] = {"standard", "orders", "partner_program"};
      std::string tmpl = kTemplates[Pick(0, 2)];
      c = CreateWorkspace{account, id, "Workspace " + id, tmpl, {}};
      if (Run(c, actor)) {
        workspaces_.push_back(id);
        template_of_[id] = tmpl;
      }
      return;
    }
    const std::string ws = workspaces_[Pick(0, static_cast<int>(workspaces_.size()) - 1)];
    const std::string user = User(Pick(0, kUsers - 1));
    const policy::Template* tmpl = policy::FindTemplate(template_of_[ws]);
    auto role = [&] {
      if (Pick(0, 9) == 0 && !custom_roles_[ws].empty()) {
        return custom_roles_[ws][Pick(0, static_cast<int>(custom_roles_[ws].size()) - 1)];
      }
      return tmpl->roles[Pick(0, static_cast<int>(tmpl->roles.size()) - 1)].first;
    };
    auto module = [&] { return tmpl->modules[Pick(0, static_cast<int>(tmpl->modules.size()) - 1)]; };
    static const char* kLevels[] = {"none", "view", "edit", "manage"};
    static const char* kMarkets[] = {"DE", "FR", "US"};
    static const char* kSets[] = {"s1", "s2", "s3"};
    const std::string member = KnownOr(ws_members_, ws, user);
    const std::string account_member = KnownOr(account_members_, account, user);
    if (kind < 10) {
      static const char* kAccountRoles[] = {"owner", "admin", "viewer"};
      if (Run(AddAccountMember{account, user, Mail(user), kAccountRoles[Pick(0, 2)]}, actor)) {
        account_members_[account].push_back(user);
      }
      return;
    } else if (kind < 12) {
      static const char* kAccountRoles[] = {"admin", "viewer"};
      c = ChangeAccountMember{account, account_member, kAccountRoles[Pick(0, 1)]};
    } else if (kind < 13) {
      c = RemoveAccountMember{account, account_member};
    } else if (kind < 15) {
      std::string name = "custom" + std::to_string(Pick(0, 3));
      std::vector<std::string> patterns = {module() + "." + (Pick(0, 1) ? "view" : "*")};
      if (Pick(0, 1)) patterns.push_back("team.view");
      c = DefineRole{ws, name, patterns};
      if (Run(c, actor)) {
        auto& roles = custom_roles_[ws];
        if (std::find(roles.begin(), roles.end(), name) == roles.end()) roles.push_back(name);
      }
      return;
    } else if (kind < 30) {
      events::AccessMap access;
      if (Pick(0, 3) == 0) access[module()] = kLevels[Pick(0, 3)];
      events::Scope scope;
      if (Pick(0, 3) == 0) scope.markets = {kMarkets[Pick(0, 2)]};
      c = SendInvite{ws, Mail(user), role(), access, scope};
      auto r = handler_->Execute(c, actor);
      if (r.ok()) {
        ++accepted_;
        invites_.push_back({r->invitation_id, r->token, user, ws});
      }
      return;
    } else if (kind < 45 && !invites_.empty()) {
      auto& inv = invites_[Pick(0, static_cast<int>(invites_.size()) - 1)];
      int what = Pick(0, 9);
      if (what < 7) {
        if (Run(AcceptInvite{inv.token}, Actor::User(inv.user, Mail(inv.user)))) {
          ws_members_[inv.ws].push_back(inv.user);
        }
        return;
      } else if (what < 9) {
        auto r = handler_->Execute(ResendInvite{inv.id}, actor);
        if (r.ok()) {
          ++accepted_;
          inv.token = r->token;
        }
        return;
      } else {
        c = CancelInvite{inv.id};
      }
    } else if (kind < 58) {
      UpdateMember u{ws, member, {}, {}, {}};
      int what = Pick(0, 2);
      if (what == 0) u.role = role();
      if (what == 1) u.access = std::map<std::string, std::string>{
                         {module(), Pick(0, 4) == 0 ? "inherit" : kLevels[Pick(0, 3)]}};
      if (what == 2) {
        ScopePatch patch;
        patch.markets = Pick(0, 1) ? std::vector<std::string>{} :
                                     std::vector<std::string>{kMarkets[Pick(0, 2)]};
        if (Pick(0, 1)) patch.sets = std::vector<std::string>{kSets[Pick(0, 2)]};
        u.scope = patch;
      }
      c = u;
    } else if (kind < 62) {
      c = RemoveMember{ws, member};
    } else if (kind < 68) {
      int what = Pick(0, 3);
      if (what == 0) {
        auto r = handler_->Execute(PutInviteLink{ws, role(), true}, actor);
        if (r.ok()) {
          ++accepted_;
          if (!r->token.empty()) link_tokens_[ws] = r->token;
        }
        return;
      } else if (what == 1) {
        auto r = handler_->Execute(RegenerateInviteLink{ws}, actor);
        if (r.ok()) {
          ++accepted_;
          link_tokens_[ws] = r->token;
        }
        return;
      } else if (what == 2) {
        c = DisableInviteLink{ws};
      } else {
        if (link_tokens_.count(ws) == 0) return;
        auto r = handler_->Execute(JoinByLink{link_tokens_[ws]}, Actor::User(user, Mail(user)));
        if (r.ok()) {
          ++accepted_;
          if (r->joined) ws_members_[ws].push_back(user);
        }
        return;
      }
    } else if (kind < 82 && !partner_accounts_.empty()) {
      int what = Pick(0, 9);
      if (what < 2 || partners_.empty()) {
        static const char* kPartnerLevels[] = {"view", "download", "edit"};
        const auto& pa = partner_accounts_[Pick(0, static_cast<int>(partner_accounts_.size()) - 1)];
        auto r = handler_->Execute(
            InvitePartner{ws, pa, kPartnerLevels[Pick(0, 2)], {kSets[Pick(0, 2)]}}, actor);
        if (r.ok()) {
          ++accepted_;
          partners_.push_back({r->partner_id, pa});
        }
        return;
      }
      const auto& [pid, pa] = partners_[Pick(0, static_cast<int>(partners_.size()) - 1)];
      if (what < 4) {
        c = AcceptPartner{pid};
        actor = Actor::User(owners_[pa], Mail(owners_[pa]));
      } else if (what < 6) {
        UpdatePartner u{pid, {}, {}, {}};
        if (Pick(0, 1)) u.access_level = Pick(0, 1) ? "download" : "edit";
        if (Pick(0, 1)) u.assign_sets = {kSets[Pick(0, 2)]};
        if (Pick(0, 2) == 0) u.revoke_sets = {kSets[Pick(0, 2)]};
        c = u;
      } else if (what < 7) {
        c = SuspendPartner{pid, "reason"};
      } else if (what < 9) {
        c = ResumePartner{pid, ""};
      } else {
        c = RevokePartner{pid, ""};
      }
    } else if (kind < 92) {
      // Shared access to an owner of another standard account in the same region.
      const std::string& grantee_account =
          accounts_[Pick(0, static_cast<int>(accounts_.size()) - 1)];
      const std::string& grantee = owners_[grantee_account];
      int what = Pick(0, 3);
      if (what < 2) {
        bool all = Pick(0, 1);
        std::vector<std::string> containers;
        if (!all) containers = {ws, "c" + std::to_string(Pick(0, 3))};
        c = GrantShare{account, grantee, grantee_account, all, containers, Pick(0, 1) == 1};
      } else if (what == 2) {
        c = RemoveShare{account, grantee};
      } else {
        c = RetireShare{account, grantee};
        actor = Actor::User(grantee, Mail(grantee));
      }
    } else if (kind < 93) {
      c = EraseSubject{Mail(user)};
    } else {
      // Acting as a user (rule 1 applies): an account owner changes roles.
      const std::string& owner = owners_[account];
      c = UpdateMember{ws, member, role(), {}, {}};
      actor = Actor::User(owner, Mail(owner));
    }
    Run(c, actor);
  }

 private:
  static constexpr int kUsers = 120;
  static std::string User(int i) { return "u" + std::to_string(i); }
  static std::string Mail(const std::string& user) { return user + "@ex.io"; }
  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Run(const Command& c, const Actor& a) {
    auto r = handler_->Execute(c, a);
    if (r.ok()) ++accepted_;
    return r.ok();
  }

  struct Invite {
    std::string id, token, user, ws;
  };
  // A known member of `group` (workspace or account) or, now and then, anyone.
  std::string KnownOr(const std::map<std::string, std::vector<std::string>>& known,
                      const std::string& group, const std::string& anyone) {
    auto it = known.find(group);
    if (it == known.end() || it->second.empty() || Pick(0, 4) == 0) return anyone;
    return it->second[Pick(0, static_cast<int>(it->second.size()) - 1)];
  }
  std::map<std::string, std::vector<std::string>> ws_members_, account_members_;

  std::mt19937 rng_;
  ManualClock clock_;
  storage::MemoryEventStore store_;
  SequentialIdSource ids_;
  std::unique_ptr<CommandHandler> handler_;
  std::vector<std::string> accounts_, partner_accounts_, workspaces_;
  std::map<std::string, std::string> owners_, template_of_;
  std::map<std::string, std::vector<std::string>> custom_roles_;
  std::vector<Invite> invites_;
  std::map<std::string, std::string> link_tokens_;
  std::vector<std::pair<std::string, std::string>> partners_;
  size_t accepted_ = 0;
};

// A battery of access answers, rendered, for comparing live with as-of.
std::string Answers(const Engine& e, const std::vector<std::string>& users,
                    const std::vector<std::string>& workspaces, const AsOf& at) {
  static const char* kPerms[] = {"team.manage", "products.edit", "orders.approve",
                                 "assets.download", "containers.view", "billing.edit"};
  std::string out;
  for (size_t i = 0; i < users.size(); i += 7) {
    for (const auto& ws : workspaces) {
      for (const char* p : kPerms) {
        out += boost::json::serialize(DecisionToJson(e.Check(users[i], p, ws, {}, at)));
        out += boost::json::serialize(
            DecisionToJson(e.Check(users[i], p, ws, {.market = "DE", .set = "s1"}, at)));
      }
    }
    out += boost::json::serialize(UserAccessToJson(e.UserAccess(users[i], at)));
  }
  for (const auto& ws : workspaces) {
    auto who = e.WhoHas(ws, "team.manage", {}, at);
    if (who.ok()) out += boost::json::serialize(WhoHasToJson(*who));
  }
  return out;
}

// The team views and audit pages, rendered: their derived indexes (audit position lists,
// note and history chains) are not in the digests, so the answers are compared too.
std::string ViewAnswers(const Engine& e, const std::vector<std::string>& users,
                        const std::vector<std::string>& workspaces) {
  std::string out;
  auto add = [&](const auto& result, auto render) {
    out += result.ok() ? boost::json::serialize(render(*result)) : result.status().ToString();
    out += '\n';
  };
  for (const auto& ws : workspaces) {
    PageRequest page{7, ""};
    for (int i = 0; i < 3; ++i) {
      auto a = e.Audit({.workspace = ws}, page);
      add(a, AuditPageToJson);
      if (!a.ok() || !a->next_cursor) break;
      page.cursor = *a->next_cursor;
    }
    add(e.Audit({.workspace = ws, .type = "RoleChanged"}, {.limit = 5}), AuditPageToJson);
    add(e.Partners(ws), PartnersToJson);
    add(e.Invitations(ws, InviteStatusFilter::kAll, Micros{1'790'000'000'000'000}, {}),
        InvitationsToJson);
    add(e.Members(ws), MembersToJson);
  }
  for (size_t i = 0; i < users.size(); i += 3) {
    add(e.Activity(users[i], {.limit = 5}), AuditPageToJson);
    add(e.Audit({.subject = users[i]}, {.limit = 5}), AuditPageToJson);
    add(e.Notifications(users[i], {}), NotificationsToJson);
  }
  return out;
}

TEST(Determinism, RandomCommandsRebuildReplayAndRestartAgree) {
  RandomLedger ledger(20260611);
  // Busy factor 1: snapshots are also written while commands flow (at least two below).
  Engine live(ledger.store(), {.snapshot_every_events = 700, .snapshot_busy_factor = 1});
  ASSERT_TRUE(live.Start().ok());

  struct Checkpoint {
    uint64_t position;
    Digests digests;
    std::vector<std::string> workspaces;  // those that existed then
    std::string answers;
  };
  const std::vector<std::string> users = ledger.users();
  std::vector<Checkpoint> checkpoints;
  const int kCommands = 6000;
  for (int i = 1; i <= kCommands; ++i) {
    ledger.Step();
    if (i % 1000 == 0) {
      ASSERT_TRUE(live.WaitFor(ledger.head(), 10s));
      checkpoints.push_back({live.position(), live.digests(), ledger.workspaces(),
                             Answers(live, users, ledger.workspaces(), AsOf::Live())});
    }
  }
  ASSERT_TRUE(live.WaitFor(ledger.head(), 10s));
  Digests final_digests = live.digests();
  uint64_t head = ledger.head();
  std::printf("%d commands, %zu accepted, %llu events\n", kCommands, ledger.accepted(),
              static_cast<unsigned long long>(head));
  EXPECT_GT(ledger.accepted(), 1500u) << "the generator should produce many valid commands";
  EXPECT_GT(head, 2000u);
  live.Stop();  // writes the last snapshot
  EXPECT_GE(live.stats().snapshots_written, 2u);

  // Every event type the vocabulary has appears (the generator covers the domain).
  std::set<events::EventType> types;
  ASSERT_TRUE(ledger.store()
                  .Scan(1, 0,
                        [&](const events::RecordedEvent& r) {
                          types.insert(r.envelope.type);
                          return true;
                        })
                  .ok());
  std::string missing;
  for (events::EventType t : events::AllEventTypes()) {
    if (types.count(t) == 0) missing += std::string(events::TypeName(t)) + " ";
  }
  std::printf("event types missing: %s\n", missing.empty() ? "none" : missing.c_str());
  EXPECT_GE(types.size(), 30u) << "missing event types: " << missing;

  // Rebuilt from zero: same digest for each projector.
  Engine rebuilt(ledger.store(), {.snapshots = false});
  ASSERT_TRUE(rebuilt.CatchUp().ok());
  Digests d = rebuilt.digests();
  EXPECT_EQ(d.catalog, final_digests.catalog);
  EXPECT_EQ(d.access, final_digests.access);
  EXPECT_EQ(d.team, final_digests.team);
  EXPECT_EQ(d.audit, final_digests.audit);
  EXPECT_EQ(d, final_digests);
  std::string views = ViewAnswers(live, users, ledger.workspaces());
  EXPECT_GT(views.size(), 10'000u);
  EXPECT_TRUE(views == ViewAnswers(rebuilt, users, ledger.workspaces()))
      << "team and audit views differ between the live and the rebuilt state";

  // Replays to each checkpoint equal the live state then; as-of answers equal live ones.
  for (const auto& cp : checkpoints) {
    auto replay = Engine::ReplayUntil(ledger.store(), cp.position);
    ASSERT_TRUE(replay.ok());
    EXPECT_EQ((*replay)->digests(), cp.digests) << "replay to " << cp.position;
    std::string asof = Answers(rebuilt, users, cp.workspaces, AsOf::Position(cp.position));
    if (asof != cp.answers) {
      size_t at = 0;
      while (at < asof.size() && at < cp.answers.size() && asof[at] == cp.answers[at]) ++at;
      ADD_FAILURE() << "as-of " << cp.position << " differs from live at offset " << at
                    << ":\n  as-of: " << asof.substr(at > 200 ? at - 200 : 0, 400)
                    << "\n  live:  " << cp.answers.substr(at > 200 ? at - 200 : 0, 400);
    }
  }

  // Restart from the snapshot written at Stop(), after more commands: catches up to the
  // same digest as a rebuild.
  for (int i = 0; i < 300; ++i) ledger.Step();
  Engine restarted(ledger.store());
  ASSERT_TRUE(restarted.Start().ok());
  EXPECT_EQ(restarted.stats().snapshot_loaded_at, head);
  ASSERT_TRUE(restarted.WaitFor(ledger.head(), 10s));
  EXPECT_LT(restarted.stats().events_applied, ledger.head());
  Engine rebuilt_again(ledger.store(), {.snapshots = false});
  ASSERT_TRUE(rebuilt_again.CatchUp().ok());
  EXPECT_EQ(restarted.digests(), rebuilt_again.digests());
  EXPECT_TRUE(ViewAnswers(restarted, users, ledger.workspaces()) ==
              ViewAnswers(rebuilt_again, users, ledger.workspaces()))
      << "team and audit views differ between the restarted and the rebuilt state";
}

// The same ledger built in the warm arena (warm_arena.h: the memory a long catch-up
// allocates, populated ahead by another thread) and in jemalloc's own arenas: the same
// digests and views. Skipped where the binary does not allocate with jemalloc (the
// sanitizer build).
TEST(Determinism, ACatchUpInTheWarmArenaBuildsTheSameState) {
  if (!warm_arena::Available()) GTEST_SKIP() << "jemalloc is not this binary's allocator";
  RandomLedger ledger(20261124);
  for (int i = 0; i < 3000; ++i) ledger.Step();
  const std::vector<std::string> users = ledger.users();

  Engine plain(ledger.store(), {.snapshots = false, .pipeline_min_events = 64});
  ASSERT_TRUE(plain.CatchUp().ok());
  warm_arena::Stats before = warm_arena::GetStats();
  Engine warm(ledger.store(), {.snapshots = false, .pipeline_min_events = 64});
  std::thread([&] {
    warm_arena::ScopedBinding bind(size_t{1} << 30);  // as a 2M-event catch-up would ask
    ASSERT_TRUE(bind.active());
    ASSERT_TRUE(warm.CatchUp().ok());
  }).join();
  warm_arena::Stats after = warm_arena::GetStats();
  EXPECT_GT(after.bytes_handed_out, before.bytes_handed_out) << "the state came from the arena";
  EXPECT_EQ(warm.digests(), plain.digests());
  EXPECT_TRUE(ViewAnswers(warm, users, ledger.workspaces()) ==
              ViewAnswers(plain, users, ledger.workspaces()));
}

}  // namespace
}  // namespace roster::projections
