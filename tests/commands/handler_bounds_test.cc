// The handler's bounded memory (HandlerOptions::idempotency_cache_entries,
// account_cache_entries) over MemoryEventStore: a key dropped from memory is answered from
// the store's idempotency record, an evicted account is folded again from its stream, an
// account with a command in flight is never evicted, and capacity 1 keeps every answer.
// Also LruCache itself.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "commands/handler.h"
#include "commands/lru_cache.h"
#include "events/codec.h"
#include "storage/memory_store.h"
#include "tests/commands/handler_support.h"
#include "tests/commands/test_support.h"
#include "tests/storage/forwarding_store.h"

namespace roster::commands {
namespace {

using namespace roster::commands::testing;
using namespace std::chrono_literals;

// ---- LruCache ----

TEST(LruCache, DropsTheLeastRecentlyUsedBeyondItsCapacity) {
  LruCache<int> cache(2);
  cache.Put("a", 1);
  cache.Put("b", 2);
  ASSERT_NE(cache.Find("a"), nullptr);  // a is now the most recently used
  cache.Put("c", 3);
  cache.Trim();
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_EQ(*cache.Find("a"), 1);
  EXPECT_EQ(*cache.Find("c"), 3);
}

TEST(LruCache, PuttingAKnownKeyReplacesItsValueWithoutGrowing) {
  LruCache<int> cache(1);
  cache.Put("a", 1);
  cache.Put("a", 2);
  cache.Trim();
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(*cache.Find("a"), 2);
  cache.Put("b", 3);
  cache.Trim();
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Find("a"), nullptr);
  EXPECT_EQ(*cache.Find("b"), 3);
}

TEST(LruCache, KeptEntriesStayAndTheCacheMayExceedItsCapacity) {
  LruCache<int> cache(1);
  cache.Put("pinned", 1);
  cache.Put("b", 2);
  cache.Put("c", 3);
  cache.Trim([](int v) { return v == 1; });  // the oldest is kept: the newer ones go
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_NE(cache.Find("pinned"), nullptr);
  cache.Put("d", 4);
  cache.Put("e", 5);
  cache.Trim([](int) { return true; });  // all kept: above the capacity
  EXPECT_EQ(cache.size(), 3u);
  cache.Trim();
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_NE(cache.Find("e"), nullptr) << "the most recently used one stays";
}

// ---- the handler ----

// Forwards to a MemoryEventStore, counts idempotency lookups, and can hold appends to one
// stream (a command "in flight") until released.
class GatedStore final : public storage::testing::ForwardingEventStore {
 public:
  using ForwardingEventStore::ForwardingEventStore;

  void Hold(std::string stream) {
    std::lock_guard lock(mu_);
    held_ = std::move(stream);
    open_ = false;
    arrivals_ = 0;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Appends to the held stream that arrived (waiting or passed) since Hold.
  int arrivals() {
    std::lock_guard lock(mu_);
    return arrivals_;
  }
  bool WaitForArrivals(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return arrivals_ >= n; });
  }
  int lookups() {
    std::lock_guard lock(mu_);
    return lookups_;
  }

  Result<storage::AppendResult> Append(storage::AppendRequest request) override {
    {
      std::unique_lock lock(mu_);
      if (request.stream == held_) {
        ++arrivals_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return open_; });
      }
    }
    return inner_.Append(std::move(request));
  }
  Result<std::optional<storage::AppendResult>> FindIdempotencyKey(
      std::string_view key) const override {
    {
      std::lock_guard lock(mu_);
      ++lookups_;
    }
    return inner_.FindIdempotencyKey(key);
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string held_;
  bool open_ = true;
  int arrivals_ = 0;
  mutable int lookups_ = 0;
};

class BoundsTest : public ::testing::Test, protected HandlerCalls {
 protected:
  BoundsTest() : store_(&clock_), gate_(store_) {}

  void Start(HandlerOptions options) {
    handler_.reset();
    handler_ = std::make_unique<CommandHandler>(gate_, clock_, options);
    ASSERT_TRUE(handler_->status().ok()) << handler_->status().ToString();
  }

  CommandHandler& Handler() override { return *handler_; }

  // Account a1 (owner "owner"), workspace w1, adm an admin of w1; account a2 (owner "o2").
  void SetUpWorld() {
    SetUpAccountWithAdmin();
    Ok(OpenAccount{"a2", "Other", "standard", "global", "o2", Mail("o2")});
    Ok(CreateWorkspace{"a2", "w2", "Two", "standard", {}}, U("o2"));
  }

  SendInvite Invite(const std::string& user, const std::string& ws = "w1",
                    const std::string& role = "viewer") {
    return SendInvite{ws, Mail(user), role, {}, {}};
  }

  uint64_t Head() const { return store_.GetHead().position; }

  size_t CountEvents(events::EventType type) { return testing::CountEvents(store_, type); }

  ManualClock clock_;
  storage::MemoryEventStore store_;
  GatedStore gate_;
  std::unique_ptr<CommandHandler> handler_;
};

TEST_F(BoundsTest, ZeroCapacitiesAreRefusedAtStart) {
  CommandHandler no_keys(gate_, clock_, HandlerOptions{.idempotency_cache_entries = 0});
  EXPECT_EQ(no_keys.status().code(), ErrorCode::kInvalidField);
  EXPECT_NE(no_keys.status().message().find("idempotency_cache_entries"), std::string::npos);
  CommandHandler no_accounts(gate_, clock_, HandlerOptions{.account_cache_entries = 0});
  EXPECT_EQ(no_accounts.status().code(), ErrorCode::kInvalidField);
  auto r = no_accounts.Execute(OpenAccount{"a1", "Acme", "standard", "global", "o", Mail("o")},
                               Svc());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(Head(), 0u);
}

TEST_F(BoundsTest, ARepeatOfAKeyDroppedFromMemoryIsAnsweredFromTheStore) {
  Start({.idempotency_cache_entries = 1});
  SetUpWorld();
  CommandMeta k1{.idempotency_key = "k1", .fingerprint = "fp-bob"};
  CommandMeta k2{.idempotency_key = "k2", .fingerprint = "fp-carol"};
  auto first = Ok(Invite("bob"), U("adm"), k1);
  Ok(Invite("carol"), U("adm"), k2);  // drops k1 from memory
  EXPECT_EQ(handler_->stats().remembered_keys, 1u);
  const uint64_t head = Head();
  const int lookups = gate_.lookups();

  // Deciding again would answer invite_pending: the answer must come from the store.
  auto again = handler_->Execute(Invite("bob"), U("adm"), k1);
  ASSERT_NO_FATAL_FAILURE(ExpectRepeatOf(again, first));
  ASSERT_EQ(again->events.size(), 1u);
  EXPECT_EQ(again->events[0].type, events::EventType::kInviteSent);
  EXPECT_EQ(gate_.lookups(), lookups + 1) << "one read of the store's record";
  EXPECT_EQ(Head(), head) << "a repeat appends nothing";

  // k1 is in memory again (k2 dropped): its next repeat needs no store read.
  ASSERT_TRUE(handler_->Execute(Invite("bob"), U("adm"), k1).ok());
  EXPECT_EQ(gate_.lookups(), lookups + 1);
  EXPECT_EQ(handler_->stats().remembered_keys, 1u);
}

TEST_F(BoundsTest, AKeyReusedWithAnotherBodyAfterEvictionIsStillRejected) {
  Start({.idempotency_cache_entries = 1});
  SetUpWorld();
  CommandMeta k1{.idempotency_key = "k1", .fingerprint = "fp-bob-viewer"};
  Ok(Invite("bob"), U("adm"), k1);
  Ok(Invite("carol"), U("adm"), {.idempotency_key = "k2", .fingerprint = "fp-carol"});
  const uint64_t head = Head();

  // Same key, another body: the same invitee (deciding would say invite_pending) ...
  CommandMeta other{.idempotency_key = "k1", .fingerprint = "fp-bob-editor"};
  EXPECT_EQ(Code(Invite("bob", "w1", "editor"), U("adm"), other),
            ErrorCode::kIdempotencyKeyReused);
  // ... and another account altogether (routing elsewhere, deciding would succeed).
  CommandMeta elsewhere{.idempotency_key = "k1", .fingerprint = "fp-dan-w2"};
  EXPECT_EQ(Code(Invite("dan", "w2"), U("o2"), elsewhere), ErrorCode::kIdempotencyKeyReused);
  EXPECT_EQ(Head(), head);
  // The original still answers.
  auto again = handler_->Execute(Invite("bob"), U("adm"), k1);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(again->deduplicated);
}

TEST_F(BoundsTest, ARepeatAfterARestartIsAnsweredFromTheStoreNotFromAScan) {
  Start({.idempotency_cache_entries = 1, .account_cache_entries = 1});
  SetUpWorld();
  CommandMeta k1{.idempotency_key = "k1", .fingerprint = "fp-1"};
  auto first = Ok(Invite("bob"), U("adm"), k1);
  auto ws = Ok(CreateWorkspace{"a2", "", "Three", "standard", {}}, U("o2"),
               {.idempotency_key = "k-ws", .fingerprint = "fp-ws"});
  const uint64_t head = Head();

  Start({.idempotency_cache_entries = 1, .account_cache_entries = 1});
  EXPECT_EQ(handler_->stats().remembered_keys, 0u) << "start-up reads no keys";
  const int lookups = gate_.lookups();
  auto again = handler_->Execute(Invite("bob"), U("adm"), k1);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(again->deduplicated);
  EXPECT_EQ(again->token, first.token);
  EXPECT_EQ(again->position, first.position);
  EXPECT_EQ(again->version, first.version);
  EXPECT_EQ(gate_.lookups(), lookups + 1);
  // A handler-assigned id comes back too (not a second workspace).
  auto ws_again = handler_->Execute(CreateWorkspace{"a2", "", "Three", "standard", {}}, U("o2"),
                                    {.idempotency_key = "k-ws", .fingerprint = "fp-ws"});
  ASSERT_TRUE(ws_again.ok()) << ws_again.error().ToString();
  EXPECT_EQ(ws_again->workspace_id, ws.workspace_id);
  EXPECT_EQ(Code(Invite("bob", "w1", "admin"), U("adm"),
                 {.idempotency_key = "k1", .fingerprint = "fp-2"}),
            ErrorCode::kIdempotencyKeyReused);
  EXPECT_EQ(Head(), head);
}

TEST_F(BoundsTest, AnEvictedAccountIsFoldedAgainAndKeepsWorking) {
  Start({.account_cache_entries = 1});
  SetUpWorld();
  auto before = handler_->SnapshotAccount("a1");
  ASSERT_TRUE(before.has_value());
  const uint64_t loads = handler_->stats().account_loads;
  ASSERT_TRUE(handler_->SnapshotAccount("a2").has_value());  // evicts a1
  EXPECT_EQ(handler_->stats().cached_accounts, 1u);

  // Another writer appends to a1 while it is out of the cache.
  storage::AppendRequest req;
  req.stream = "account-a1";
  req.expected = storage::ExpectedVersion::Exact(before->version);
  events::Event e = events::WorkspaceCreated{"w-ext", "External", "standard", 3600};
  req.events.push_back({events::TypeOf(e), events::EncodeEvent(e)});
  req.actor = "system";
  ASSERT_TRUE(store_.Append(req).ok());

  auto bob = Ok(Invite("bob"), U("adm"));
  EXPECT_EQ(bob.version, before->version + 2) << "folded from the stream, foreign event included";
  EXPECT_EQ(handler_->stats().account_loads, loads + 2) << "a2 loaded, a1 loaded again";
  EXPECT_EQ(handler_->stats().cached_accounts, 1u);
  // Rules still see the whole state.
  EXPECT_EQ(Code(Invite("bob"), U("adm")), ErrorCode::kInvitePending);
  EXPECT_EQ(Code(Invite("adm"), U("adm")), ErrorCode::kCannotInviteSelf);
  EXPECT_EQ(Code(RemoveMember{"w1", "adm"}, U("adm")), ErrorCode::kCannotModifySelf);
  Ok(AcceptInvite{bob.token}, U("bob"));
  Ok(Invite("erin", "w2"), U("o2"));  // a2 again: a1 evicted again
  Ok(UpdateMember{"w1", "bob", "editor", {}, {}}, U("adm"));

  auto bounded_a1 = handler_->SnapshotAccount("a1");
  auto bounded_a2 = handler_->SnapshotAccount("a2");
  Start({});  // unbounded enough: a fresh fold of everything
  EXPECT_EQ(*handler_->SnapshotAccount("a1"), *bounded_a1);
  EXPECT_EQ(*handler_->SnapshotAccount("a2"), *bounded_a2);
  EXPECT_EQ(bounded_a1->workspaces.count("w-ext"), 1u);
  EXPECT_EQ(bounded_a1->workspaces.at("w1").members.at("bob").role, "editor");
}

TEST_F(BoundsTest, AnAccountWithACommandInFlightIsNeverEvicted) {
  Start({.account_cache_entries = 1});
  SetUpWorld();
  ASSERT_TRUE(handler_->SnapshotAccount("a1").has_value());
  gate_.Hold("account-a1");
  Result<CommandResult> first = Error(ErrorCode::kInternal, "not run");
  Result<CommandResult> second = Error(ErrorCode::kInternal, "not run");
  std::thread t1([&] { first = handler_->Execute(Invite("bob"), U("adm")); });
  ASSERT_TRUE(gate_.WaitForArrivals(1));  // a1's command holds its Slot, inside Append

  Ok(Invite("erin", "w2"), U("o2"));  // a2 used: a1 is over capacity but in use
  EXPECT_EQ(handler_->stats().cached_accounts, 2u);
  const uint64_t loads = handler_->stats().account_loads;

  // A second command on a1 must wait for the first on the same Slot, not load a new one.
  std::thread t2([&] { second = handler_->Execute(Invite("carol"), U("adm")); });
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(gate_.arrivals(), 1) << "the second command reached the store while the first "
                                    "was in flight: it did not serialize on the same Slot";
  EXPECT_EQ(handler_->stats().account_loads, loads) << "a1 was folded again while in use";
  gate_.Release();
  t1.join();
  t2.join();
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->version, first->version + 1);
  EXPECT_EQ(store_.StreamVersion("account-a1"), second->version);

  Ok(Invite("fay", "w2"), U("o2"));  // a1 no longer in use: trimmed back to the capacity
  EXPECT_EQ(handler_->stats().cached_accounts, 1u);
  auto a1 = handler_->SnapshotAccount("a1");
  EXPECT_EQ(a1->invitations.size(), 3u);  // adm (accepted), bob, carol
}

TEST_F(BoundsTest, ARepeatWhileTheOriginalIsInFlightGetsTheOriginalAnswer) {
  Start({.idempotency_cache_entries = 1, .account_cache_entries = 1});
  SetUpWorld();
  CommandMeta k{.idempotency_key = "k-flight", .fingerprint = "fp"};
  gate_.Hold("account-a1");
  Result<CommandResult> first = Error(ErrorCode::kInternal, "not run");
  Result<CommandResult> repeat = Error(ErrorCode::kInternal, "not run");
  std::thread t1([&] { first = handler_->Execute(Invite("bob"), U("adm"), k); });
  ASSERT_TRUE(gate_.WaitForArrivals(1));
  std::thread t2([&] { repeat = handler_->Execute(Invite("bob"), U("adm"), k); });
  std::this_thread::sleep_for(50ms);
  gate_.Release();
  t1.join();
  t2.join();
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_TRUE(repeat.ok()) << repeat.error().ToString() << " (must not be invite_pending)";
  EXPECT_FALSE(first->deduplicated);
  EXPECT_TRUE(repeat->deduplicated);
  EXPECT_EQ(repeat->token, first->token);
  EXPECT_EQ(repeat->position, first->position);
  EXPECT_EQ(gate_.arrivals(), 1) << "the repeat never appended";
  EXPECT_EQ(CountEvents(events::EventType::kInviteSent), 2u);  // adm's and bob's
}

TEST_F(BoundsTest, CapacityOneForBothCachesKeepsEveryAnswer) {
  Start({.idempotency_cache_entries = 1, .account_cache_entries = 1});
  SetUpWorld();
  // Alternate accounts and keys so every command misses both caches.
  std::vector<std::pair<CommandMeta, CommandResult>> firsts;
  for (int i = 0; i < 6; ++i) {
    const bool on_a1 = i % 2 == 0;
    std::string user = "u" + std::to_string(i);
    CommandMeta meta{.idempotency_key = "key-" + std::to_string(i),
                     .fingerprint = "fp-" + std::to_string(i)};
    firsts.emplace_back(meta, Ok(Invite(user, on_a1 ? "w1" : "w2"), U(on_a1 ? "adm" : "o2"), meta));
  }
  const uint64_t head = Head();
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 6; ++i) {
      const bool on_a1 = i % 2 == 0;
      std::string user = "u" + std::to_string(i);
      auto& [meta, first] = firsts[i];
      auto again = handler_->Execute(Invite(user, on_a1 ? "w1" : "w2"), U(on_a1 ? "adm" : "o2"),
                                     meta);
      ASSERT_TRUE(again.ok()) << i << ": " << again.error().ToString();
      EXPECT_TRUE(again->deduplicated);
      EXPECT_EQ(again->token, first.token) << i;
      EXPECT_EQ(again->position, first.position) << i;
      CommandMeta reused{.idempotency_key = meta.idempotency_key, .fingerprint = "other"};
      EXPECT_EQ(Code(Invite("x" + std::to_string(i), "w1"), U("adm"), reused),
                ErrorCode::kIdempotencyKeyReused)
          << i;
    }
  }
  EXPECT_EQ(Head(), head);
  HandlerStats stats = handler_->stats();
  EXPECT_EQ(stats.cached_accounts, 1u);
  EXPECT_EQ(stats.remembered_keys, 1u);
  // New work still runs and agrees with a fresh fold.
  Ok(Invite("late"), U("adm"));
  Ok(Invite("late", "w2"), U("o2"));
  auto a1 = handler_->SnapshotAccount("a1");
  auto a2 = handler_->SnapshotAccount("a2");
  Start({});
  EXPECT_EQ(*handler_->SnapshotAccount("a1"), *a1);
  EXPECT_EQ(*handler_->SnapshotAccount("a2"), *a2);
}

}  // namespace
}  // namespace roster::commands
