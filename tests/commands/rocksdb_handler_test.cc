// The command handler over the durable RocksDbEventStore: threads racing commands on one
// account never break a rule, two handlers (two processes' worth of caches) over one store
// stay correct through version conflicts, and a restart rebuilds exactly the same state;
// with caches of one account and one key, the same holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "commands/handler.h"
#include "storage/rocksdb_store.h"
#include "tests/commands/handler_support.h"
#include "tests/commands/test_support.h"

namespace roster::commands {
namespace {

using namespace roster::commands::testing;

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/roster-commands-XXXXXX";
    char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr int kThreads = 8;

class RocksDbHandlerTest : public ::testing::Test, protected HandlerCalls {
 protected:
  RocksDbHandlerTest() { Reopen(); }

  void Reopen(HandlerOptions options = {}) {
    handler_.reset();
    store_.reset();
    auto opened = storage::RocksDbEventStore::Open(storage::RocksDbOptions{.path = dir_.path()});
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    store_ = std::move(opened).value();
    handler_ = std::make_unique<CommandHandler>(*store_, clock_, options);
    ASSERT_TRUE(handler_->status().ok()) << handler_->status().ToString();
  }

  CommandHandler& Handler() override { return *handler_; }

  void SetUpWorld() {
    Ok(OpenAccount{"a1", "Acme", "standard", "global", "owner", Mail("owner")});
    Ok(CreateWorkspace{"a1", "w1", "One", "standard", {}}, U("owner"));
  }

  // Runs fn(i) on kThreads threads released together.
  template <class Fn>
  void Race(Fn fn) {
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) std::this_thread::yield();
        fn(i);
      });
    }
    for (auto& t : threads) t.join();
  }

  size_t CountEvents(events::EventType type) { return testing::CountEvents(*store_, type); }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<storage::RocksDbEventStore> store_;
  std::unique_ptr<CommandHandler> handler_;
};

TEST_F(RocksDbHandlerTest, EightThreadsInvitingOneAddressYieldOneInvitation) {
  SetUpWorld();
  std::atomic<int> sent{0}, pending{0}, other{0};
  Race([&](int) {
    auto r = handler_->Execute(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("owner"), {});
    if (r.ok()) {
      sent.fetch_add(1);
    } else if (r.error().code() == ErrorCode::kInvitePending) {
      pending.fetch_add(1);
    } else {
      other.fetch_add(1);
    }
  });
  EXPECT_EQ(sent.load(), 1);
  EXPECT_EQ(pending.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(CountEvents(events::EventType::kInviteSent), 1u);
}

TEST_F(RocksDbHandlerTest, ConcurrentDemotionsKeepOneAdmin) {
  SetUpWorld();
  for (int i = 0; i < kThreads; ++i) {
    std::string user = "adm" + std::to_string(i);
    auto inv = Ok(SendInvite{"w1", Mail(user), "admin", {}, {}}, U("owner"));
    Ok(AcceptInvite{inv.token}, U(user));
  }
  // Every admin demotes the next one, and the owner demotes them all, at once.
  std::atomic<int> last_admin{0};
  Race([&](int i) {
    std::string target = "adm" + std::to_string((i + 1) % kThreads);
    for (const Actor& actor : {U("adm" + std::to_string(i)), U("owner")}) {
      auto r = handler_->Execute(UpdateMember{"w1", target, "editor", {}, {}}, actor, {});
      if (!r.ok() && r.error().code() == ErrorCode::kLastAdmin) last_admin.fetch_add(1);
    }
  });
  auto state = handler_->SnapshotAccount("a1");
  ASSERT_TRUE(state.has_value());
  int admins = 0;
  for (const auto& [uid, m] : state->workspaces.at("w1").members) admins += m.role == "admin";
  EXPECT_EQ(admins, 1);
  EXPECT_GE(last_admin.load(), 1);
}

TEST_F(RocksDbHandlerTest, TwoHandlersOverOneStoreResolveConflictsByRetrying) {
  SetUpWorld();
  // Two writers of one stream can starve each other for a few rounds (each conflict means
  // the other made progress); give both room to retry. In production one rosterd owns a
  // data directory (RocksDB's lock), so conflicts come only from other tools.
  handler_ = std::make_unique<CommandHandler>(*store_, clock_, HandlerOptions{.max_attempts = 50});
  CommandHandler second(*store_, clock_, HandlerOptions{.max_attempts = 50});
  ASSERT_TRUE(second.status().ok());
  // Distinct addresses: everyone succeeds, through retries when the other handler moved
  // the stream.
  std::atomic<int> failures{0};
  Race([&](int i) {
    CommandHandler& h = i % 2 == 0 ? *handler_ : second;
    for (int k = 0; k < 5; ++k) {
      std::string email = "u" + std::to_string(i) + "-" + std::to_string(k) + "@x.io";
      auto r = h.Execute(SendInvite{"w1", email, "viewer", {}, {}}, U("owner"), {});
      if (!r.ok()) {
        failures.fetch_add(1);
        ADD_FAILURE() << r.error().ToString();
      }
    }
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CountEvents(events::EventType::kInviteSent), size_t{kThreads * 5});
  // One address from both handlers at once: still exactly one invitation.
  std::atomic<int> sent{0};
  Race([&](int i) {
    CommandHandler& h = i % 2 == 0 ? *handler_ : second;
    auto r = h.Execute(SendInvite{"w1", Mail("same"), "viewer", {}, {}}, U("owner"), {});
    if (r.ok()) sent.fetch_add(1);
  });
  EXPECT_EQ(sent.load(), 1);
  // Both caches agree with the log.
  EXPECT_EQ(*handler_->SnapshotAccount("a1"), *second.SnapshotAccount("a1"));
}

TEST_F(RocksDbHandlerTest, ManyAccountsInParallelThenARestartRebuildsTheSameState) {
  Race([&](int i) {
    std::string a = "acct" + std::to_string(i);
    std::string owner = "own" + std::to_string(i);
    std::string ws = "ws" + std::to_string(i);
    Ok(OpenAccount{a, "A", "standard", i % 2 ? "eu" : "global", owner, Mail(owner)});
    Ok(CreateWorkspace{a, ws, "W", i % 3 ? "standard" : "orders", {}}, U(owner));
    std::string role = i % 3 ? "editor" : "reviewer";
    for (int k = 0; k < 10; ++k) {
      std::string u = "m" + std::to_string(i) + "_" + std::to_string(k);
      auto inv = Ok(SendInvite{ws, Mail(u), role, {}, {}}, U(owner));
      if (k % 3 == 0) inv.token = Ok(ResendInvite{inv.invitation_id}, U(owner)).token;
      if (k % 2 == 0) Ok(AcceptInvite{inv.token}, U(u));
    }
    auto link = Ok(PutInviteLink{ws, role, false}, U(owner));
    Ok(JoinByLink{link.token}, U("linker" + std::to_string(i)));
  });
  std::map<std::string, std::string> digests;
  for (int i = 0; i < kThreads; ++i) {
    std::string a = "acct" + std::to_string(i);
    auto s = handler_->SnapshotAccount(a);
    ASSERT_TRUE(s.has_value());
    digests[a] = StateDigest(*s);
    EXPECT_EQ(s->workspaces.begin()->second.members.size(), 6u);
  }
  EXPECT_TRUE(store_->Verify().ok);

  Reopen();
  for (const auto& [a, digest] : digests) {
    auto s = handler_->SnapshotAccount(a);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(StateDigest(*s), digest) << a;
  }
  EXPECT_EQ(handler_->directory().AccountCount(), size_t{kThreads});
}

TEST_F(RocksDbHandlerTest, AnIdempotentRepeatAfterReopeningReturnsTheSameToken) {
  SetUpWorld();
  CommandMeta meta{.idempotency_key = "req-7", .fingerprint = "sha:abc"};
  auto first = Ok(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("owner"), meta);
  Reopen();
  auto again = handler_->Execute(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("owner"), meta);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(again->deduplicated);
  EXPECT_EQ(again->token, first.token);
  EXPECT_EQ(again->invitation_id, first.invitation_id);
  EXPECT_EQ(again->position, first.position);
  CommandMeta reused{.idempotency_key = "req-7", .fingerprint = "sha:def"};
  auto bad = handler_->Execute(SendInvite{"w1", Mail("x"), "viewer", {}, {}}, U("owner"), reused);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kIdempotencyKeyReused);
  // A concurrent repeat of one keyed request appends once.
  CommandMeta once{.idempotency_key = "req-8", .fingerprint = "sha:1"};
  std::atomic<int> ok{0};
  std::set<std::string> tokens;
  std::mutex mu;
  Race([&](int) {
    auto r = handler_->Execute(SendInvite{"w1", Mail("carol"), "viewer", {}, {}}, U("owner"), once);
    if (r.ok()) {
      ok.fetch_add(1);
      std::lock_guard lock(mu);
      tokens.insert(r->token);
    }
  });
  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_EQ(CountEvents(events::EventType::kInviteSent), 2u);
}

TEST_F(RocksDbHandlerTest, TinyCachesKeepEveryRuleUnderEightThreads) {
  Reopen({.idempotency_cache_entries = 1, .account_cache_entries = 1});
  const std::vector<std::string> accounts = {"a1", "a2", "a3"};
  for (const auto& a : accounts) {
    Ok(OpenAccount{a, "A", "standard", "global", "own-" + a, Mail("own-" + a)});
    Ok(CreateWorkspace{a, "w-" + a, "W", "standard", {}}, U("own-" + a));
  }
  std::atomic<int> sent{0}, pending{0}, repeats{0}, other{0};
  Race([&](int i) {
    for (size_t k = 0; k < accounts.size(); ++k) {
      const std::string& a = accounts[(i + k) % accounts.size()];
      // One address per account from every thread: exactly one invitation each.
      auto r = handler_->Execute(SendInvite{"w-" + a, Mail("same-" + a), "viewer", {}, {}},
                                 U("own-" + a), {});
      if (r.ok()) {
        sent.fetch_add(1);
      } else if (r.error().code() == ErrorCode::kInvitePending) {
        pending.fetch_add(1);
      } else {
        other.fetch_add(1);
        ADD_FAILURE() << r.error().ToString();
      }
      // A keyed invitation of our own, then its repeat (other threads churn both caches).
      std::string user = "t" + std::to_string(i) + "-" + a;
      CommandMeta meta{.idempotency_key = "key-" + user, .fingerprint = "fp-" + user};
      SendInvite invite{"w-" + a, Mail(user), "viewer", {}, {}};
      auto first = handler_->Execute(invite, U("own-" + a), meta);
      auto again = handler_->Execute(invite, U("own-" + a), meta);
      if (first.ok() && again.ok() && again->deduplicated && again->token == first->token &&
          again->position == first->position) {
        repeats.fetch_add(1);
      } else {
        other.fetch_add(1);
        ADD_FAILURE() << user << ": " << (first.ok() ? "" : first.error().ToString()) << " "
                      << (again.ok() ? "" : again.error().ToString());
      }
    }
  });
  EXPECT_EQ(sent.load(), 3);
  EXPECT_EQ(pending.load(), kThreads * 3 - 3);
  EXPECT_EQ(repeats.load(), kThreads * 3);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(CountEvents(events::EventType::kInviteSent), size_t{3 + kThreads * 3});
  // Accounts in use during the race may have held the cache above its bound; the next use
  // trims it.
  EXPECT_LE(handler_->stats().cached_accounts, accounts.size());
  EXPECT_EQ(handler_->stats().remembered_keys, 1u);
  std::map<std::string, AccountState> bounded;
  for (const auto& a : accounts) bounded[a] = *handler_->SnapshotAccount(a);
  // A thread that has just answered may hold an account a moment longer (Finish answers,
  // then hands the account on); the next use after it lets go trims it.
  for (int i = 0; i < 2000 && handler_->stats().cached_accounts != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    handler_->SnapshotAccount(accounts.back());
  }
  EXPECT_EQ(handler_->stats().cached_accounts, 1u);
  Reopen();
  for (const auto& a : accounts) EXPECT_EQ(*handler_->SnapshotAccount(a), bounded[a]) << a;
}

TEST_F(RocksDbHandlerTest, ARepeatOnASecondHandlerIsAnsweredFromTheStore) {
  SetUpWorld();
  CommandHandler second(*store_, clock_);
  ASSERT_TRUE(second.status().ok());
  // The key is appended by the first handler after the second one started.
  CommandMeta meta{.idempotency_key = "req-9", .fingerprint = "sha:9"};
  auto first = Ok(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("owner"), meta);
  auto again = second.Execute(SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("owner"), meta);
  ASSERT_TRUE(again.ok()) << again.error().ToString() << " (must not be invite_pending)";
  EXPECT_TRUE(again->deduplicated);
  EXPECT_EQ(again->token, first.token);
  EXPECT_EQ(again->position, first.position);
  EXPECT_EQ(second.stats().idempotency_lookups, 1u);
  CommandMeta reused{.idempotency_key = "req-9", .fingerprint = "sha:other"};
  auto bad = second.Execute(SendInvite{"w1", Mail("bob"), "editor", {}, {}}, U("owner"), reused);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kIdempotencyKeyReused);
  EXPECT_EQ(CountEvents(events::EventType::kInviteSent), 1u);
}

// ---- ExecuteAsync ----

// Many commands in flight from one thread, several per account: each account's commands
// are decided in arrival order (versions follow submission order), every one is durable
// and folded, and a snapshot taken after them waits its turn and sees them all.
TEST_F(RocksDbHandlerTest, AsyncCommandsQueuePerAccountInArrivalOrder) {
  constexpr int kAccounts = 4, kPerAccount = 50;
  for (int a = 0; a < kAccounts; ++a) {
    std::string acc = "a" + std::to_string(a), ws = "w" + std::to_string(a);
    Ok(OpenAccount{acc, "Acme", "standard", "global", "owner", Mail("owner")});
    Ok(CreateWorkspace{acc, ws, "One", "standard", {}}, U("owner"));
  }
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  std::map<std::string, std::vector<std::pair<int, uint64_t>>> versions;  // account → (i, v)
  std::vector<std::string> failures;
  for (int i = 0; i < kPerAccount; ++i) {
    for (int a = 0; a < kAccounts; ++a) {
      std::string acc = "a" + std::to_string(a);
      SendInvite c{"w" + std::to_string(a), Mail("u" + std::to_string(i)), "viewer", {}, {}};
      handler_->ExecuteAsync(c, U("owner"), {}, [&, acc, i](Result<CommandResult> r) {
        std::lock_guard lock(mu);
        if (r.ok()) {
          versions[acc].emplace_back(i, r->version);
        } else {
          failures.push_back(r.error().ToString());
        }
        ++answered;
        cv.notify_all();
      });
    }
  }
  for (int a = 0; a < kAccounts; ++a) {
    auto snapshot = handler_->SnapshotAccount("a" + std::to_string(a));
    ASSERT_TRUE(snapshot.has_value());
    EXPECT_EQ(snapshot->version, 2u + kPerAccount) << "the snapshot waited for the queue";
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return answered == kAccounts * kPerAccount; });
  EXPECT_TRUE(failures.empty()) << failures.front();
  for (auto& [acc, list] : versions) {
    ASSERT_EQ(list.size(), size_t{kPerAccount}) << acc;
    std::sort(list.begin(), list.end());
    for (int i = 0; i < kPerAccount; ++i) {
      EXPECT_EQ(list[i].second, uint64_t(3 + i)) << acc << " command " << i;
    }
  }
  EXPECT_EQ(CountEvents(events::EventType::kInviteSent), size_t{kAccounts * kPerAccount});
  EXPECT_TRUE(store_->Verify().ok);
}

// An answer known without an append comes back on the calling thread; a durable one on
// the store's committing thread. A callback may start the next command.
TEST_F(RocksDbHandlerTest, AsyncAnswersComeFromTheCallerOrTheCommittingThread) {
  SetUpWorld();
  // Execute returns once its answer is given, and the committing thread hands the account
  // on right after (Finish). A snapshot waits its turn and releases the account before it
  // returns, so the rejection below finds the account idle and is decided here.
  ASSERT_TRUE(handler_->SnapshotAccount("a1").has_value());
  const auto caller = std::this_thread::get_id();
  std::thread::id rejected_on, committed_on;
  handler_->ExecuteAsync(SendInvite{"w1", "not-an-email", "viewer", {}, {}}, U("owner"), {},
                         [&](Result<CommandResult> r) {
                           EXPECT_FALSE(r.ok());
                           rejected_on = std::this_thread::get_id();
                         });
  EXPECT_EQ(rejected_on, caller);

  std::mutex mu;
  std::condition_variable cv;
  std::vector<Result<CommandResult>> chain;
  handler_->ExecuteAsync(
      SendInvite{"w1", Mail("bob"), "viewer", {}, {}}, U("owner"), {},
      [&](Result<CommandResult> first) {
        committed_on = std::this_thread::get_id();
        handler_->ExecuteAsync(SendInvite{"w1", Mail("cy"), "viewer", {}, {}}, U("owner"), {},
                               [&, first](Result<CommandResult> second) {
                                 std::lock_guard lock(mu);
                                 chain.push_back(first);
                                 chain.push_back(std::move(second));
                                 cv.notify_all();
                               });
      });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return chain.size() == 2; }));
  EXPECT_NE(committed_on, caller);
  ASSERT_TRUE(chain[0].ok()) << chain[0].error().ToString();
  ASSERT_TRUE(chain[1].ok()) << chain[1].error().ToString();
  EXPECT_EQ(chain[1]->version, chain[0]->version + 1);
}

// A store that shuts down under commands in flight answers every one of them (the
// appends queued behind it fail with unavailable), and the account queue drains.
TEST_F(RocksDbHandlerTest, AsyncCommandsInFlightAreAnsweredWhenTheStoreShutsDown) {
  SetUpWorld();
  std::atomic<int> answered{0}, failed{0};
  constexpr int kCommands = 200;
  for (int i = 0; i < kCommands; ++i) {
    handler_->ExecuteAsync(SendInvite{"w1", Mail("u" + std::to_string(i)), "viewer", {}, {}},
                           U("owner"), {}, [&](Result<CommandResult> r) {
                             if (!r.ok()) {
                               EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable)
                                   << r.error().ToString();
                               failed.fetch_add(1);
                             }
                             answered.fetch_add(1);
                           });
  }
  store_->Shutdown();
  for (int spin = 0; spin < 1000 && answered.load() < kCommands; ++spin) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(answered.load(), kCommands);
  EXPECT_EQ(Code(SendInvite{"w1", Mail("late"), "viewer", {}, {}}, U("owner")),
            ErrorCode::kUnavailable);
}

// An account not in memory is folded where HandlerOptions::load_elsewhere sends it (the
// gateway: a pool, never an I/O thread); a loaded one is not sent; a refusal folds here.
TEST_F(RocksDbHandlerTest, AnAccountNotInMemoryIsFoldedWhereTheOptionsSay) {
  SetUpWorld();
  for (int i = 0; i < 20; ++i) {
    Ok(SendInvite{"w1", Mail("u" + std::to_string(i)), "viewer", {}, {}}, U("owner"));
  }
  std::mutex mu;
  std::vector<std::jthread> loaders;
  std::set<std::thread::id> loader_ids;
  bool refuse = false;
  HandlerOptions options;
  options.load_elsewhere = [&](std::function<void()> task) {
    std::lock_guard lock(mu);
    if (refuse) return false;
    loaders.emplace_back([&, task = std::move(task)] {
      {
        std::lock_guard inner(mu);
        loader_ids.insert(std::this_thread::get_id());
      }
      task();
    });
    return true;
  };
  Reopen(options);  // empty caches: a1 must be folded from its stream

  auto first = handler_->Execute(SendInvite{"w1", Mail("new"), "viewer", {}, {}}, U("owner"));
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->version, 23u);  // opened, workspace, 20 invitations, this one
  EXPECT_EQ(handler_->stats().loads_elsewhere, 1u);
  Ok(SendInvite{"w1", Mail("newer"), "viewer", {}, {}}, U("owner"));
  EXPECT_EQ(handler_->stats().loads_elsewhere, 1u) << "a loaded account is not sent away";
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(loader_ids.size(), 1u);
    EXPECT_EQ(loader_ids.count(std::this_thread::get_id()), 0u);
    refuse = true;
  }

  Reopen(options);
  Ok(SendInvite{"w1", Mail("newest"), "viewer", {}, {}}, U("owner"));  // folded here
  EXPECT_EQ(handler_->stats().loads_elsewhere, 0u);
  handler_.reset();  // before `loaders` (joined) and the options they use go
}

}  // namespace
}  // namespace roster::commands
