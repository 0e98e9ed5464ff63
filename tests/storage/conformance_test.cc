// The EventStore contract, run against both stores: MemoryEventStore and
// RocksDbEventStore (on a temporary directory). A behaviour belongs here when every
// store must have it; RocksDB-only behaviour (reopen, read-only, crashes, failed syncs)
// lives in rocksdb_store_test.cc, fault_injection_test.cc and crash_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <set>
#include <thread>

#include "base/clock.h"
#include "events/codec.h"
#include "storage/memory_store.h"
#include "storage/rocksdb_store.h"
#include "tests/storage/test_util.h"

namespace roster::storage {
namespace {

using std::chrono::milliseconds;
using testing::MakeAppend;
using testing::MakeEvent;
using testing::TempDir;

struct MemoryHarness {
  static constexpr const char* kName = "Memory";
  ManualClock clock;
  std::unique_ptr<MemoryEventStore> store = std::make_unique<MemoryEventStore>(&clock);
  EventStore& Store() { return *store; }
  void Corrupt(uint64_t position, size_t offset) { store->CorruptForTest(position, offset); }
};

struct RocksHarness {
  static constexpr const char* kName = "RocksDb";
  TempDir dir;
  ManualClock clock;
  std::unique_ptr<RocksDbEventStore> store;
  RocksHarness() {
    auto opened = RocksDbEventStore::Open({.path = dir.Sub("log"), .clock = &clock});
    if (!opened.ok()) {
      ADD_FAILURE() << opened.error().ToString();
      std::abort();
    }
    store = std::move(opened).value();
  }
  EventStore& Store() { return *store; }
  void Corrupt(uint64_t position, size_t offset) {
    Status st = store->CorruptForTest(position, offset);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
};

template <class H>
class ConformanceTest : public ::testing::Test {
 protected:
  EventStore& store() { return h_.Store(); }
  ManualClock& clock() { return h_.clock; }
  void Corrupt(uint64_t position, size_t offset) { h_.Corrupt(position, offset); }

  AppendResult MustAppend(AppendRequest r) {
    auto result = store().Append(std::move(r));
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : AppendResult{};
  }
  // n single-event appends to `stream`, expected version Any.
  void Fill(const std::string& stream, int n) {
    for (int i = 0; i < n; ++i) MustAppend(MakeAppend(stream, ExpectedVersion::Any(), 1, i));
  }
  std::vector<events::RecordedEvent> ScanAll(uint64_t from = 1, uint64_t to = 0) {
    std::vector<events::RecordedEvent> out;
    Status st = store().Scan(from, to, [&](const events::RecordedEvent& e) {
      out.push_back(e);
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  H h_;
};

struct HarnessNames {
  template <class H>
  static std::string GetName(int) {
    return H::kName;
  }
};

using Stores = ::testing::Types<MemoryHarness, RocksHarness>;
TYPED_TEST_SUITE(ConformanceTest, Stores, HarnessNames);

// ---- expected versions ----

TYPED_TEST(ConformanceTest, FirstAppendStartsAtPositionOneVersionOne) {
  auto r = this->MustAppend(MakeAppend("account-a", ExpectedVersion::NoStream()));
  EXPECT_EQ(r.first_position, 1u);
  EXPECT_EQ(r.last_position, 1u);
  EXPECT_EQ(r.stream_version, 1u);
  EXPECT_EQ(r.recorded_at, this->clock().Now());
  EXPECT_FALSE(r.deduplicated);
  EXPECT_EQ(this->store().StreamVersion("account-a"), 1u);
}

TYPED_TEST(ConformanceTest, ExpectedAnyAppendsWhateverTheVersion) {
  this->Fill("account-a", 3);
  auto r = this->MustAppend(MakeAppend("account-a", ExpectedVersion::Any()));
  EXPECT_EQ(r.stream_version, 4u);
}

TYPED_TEST(ConformanceTest, ExpectedNoStreamRejectsAnExistingStream) {
  this->Fill("account-a", 1);
  auto r = this->store().Append(MakeAppend("account-a", ExpectedVersion::NoStream()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kVersionConflict);
  EXPECT_EQ(this->store().GetHead().position, 1u);
}

TYPED_TEST(ConformanceTest, ExpectedExactAppendsAtThatVersion) {
  this->MustAppend(MakeAppend("account-a", ExpectedVersion::Exact(0)));
  auto r = this->MustAppend(MakeAppend("account-a", ExpectedVersion::Exact(1)));
  EXPECT_EQ(r.stream_version, 2u);
}

TYPED_TEST(ConformanceTest, ExpectedExactMismatchIsAVersionConflictNamingTheCurrentVersion) {
  this->Fill("account-a", 2);
  for (uint64_t wrong : {0u, 1u, 3u, 7u}) {
    auto r = this->store().Append(MakeAppend("account-a", ExpectedVersion::Exact(wrong)));
    ASSERT_FALSE(r.ok()) << wrong;
    EXPECT_EQ(r.error().code(), ErrorCode::kVersionConflict);
    ASSERT_EQ(r.error().extra().size(), 1u);
    EXPECT_EQ(r.error().extra()[0], (std::pair<std::string, std::string>("current_version", "2")));
  }
  EXPECT_EQ(this->store().StreamVersion("account-a"), 2u);
  EXPECT_EQ(this->store().GetHead().position, 2u);
}

// AppendAsync answers what Append would, once, through the callback.
TYPED_TEST(ConformanceTest, AppendAsyncAnswersWhatAppendWould) {
  this->Fill("account-a", 1);
  auto async = [&](AppendRequest r) {
    std::promise<Result<AppendResult>> answer;
    auto future = answer.get_future();
    std::atomic<int> calls{0};
    this->store().AppendAsync(std::move(r), [&](Result<AppendResult> result) {
      calls.fetch_add(1);
      answer.set_value(std::move(result));
    });
    Result<AppendResult> out = future.get();
    EXPECT_EQ(calls.load(), 1);
    return out;
  };
  auto ok = async(MakeAppend("account-a", ExpectedVersion::Exact(1), 2));
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->first_position, 2u);
  EXPECT_EQ(ok->last_position, 3u);
  EXPECT_EQ(ok->stream_version, 3u);
  EXPECT_EQ(this->store().GetHead().position, 3u);  // durable and visible when answered
  auto conflict = async(MakeAppend("account-a", ExpectedVersion::Exact(1)));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code(), ErrorCode::kVersionConflict);
  AppendRequest keyed = MakeAppend("account-b", ExpectedVersion::Any());
  keyed.idempotency_key = "k";
  auto first = async(keyed);
  auto again = async(keyed);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_TRUE(again->deduplicated);
  EXPECT_EQ(again->first_position, first->first_position);
  EXPECT_TRUE(this->store().Verify().ok);
}

TYPED_TEST(ConformanceTest, ARejectedAppendLeavesNoTrace) {
  this->Fill("account-a", 1);
  ASSERT_FALSE(this->store().Append(MakeAppend("account-b", ExpectedVersion::Exact(4))).ok());
  EXPECT_EQ(this->store().StreamVersion("account-b"), 0u);
  auto r = this->MustAppend(MakeAppend("account-b", ExpectedVersion::NoStream()));
  EXPECT_EQ(r.first_position, 2u);  // no gap where the rejected append was
  EXPECT_TRUE(this->store().Verify().ok);
}

// ---- positions and versions ----

TYPED_TEST(ConformanceTest, PositionsAreGaplessAcrossStreamsAndVersionsPerStream) {
  std::vector<std::string> streams = {"account-a", "account-b", "account-a",
                                      "account-c", "account-a", "account-b"};
  uint64_t expected_position = 1;
  std::map<std::string, uint64_t> versions;
  for (const auto& s : streams) {
    auto r = this->MustAppend(MakeAppend(s, ExpectedVersion::Any()));
    EXPECT_EQ(r.first_position, expected_position++);
    EXPECT_EQ(r.stream_version, ++versions[s]);
  }
  for (const auto& [s, v] : versions) EXPECT_EQ(this->store().StreamVersion(s), v) << s;
  EXPECT_EQ(this->store().StreamVersion("account-unknown"), 0u);
}

TYPED_TEST(ConformanceTest, AMultiEventAppendTakesConsecutivePositionsAndVersions) {
  this->Fill("account-b", 1);
  auto r = this->MustAppend(MakeAppend("account-a", ExpectedVersion::NoStream(), 5, 100));
  EXPECT_EQ(r.first_position, 2u);
  EXPECT_EQ(r.last_position, 6u);
  EXPECT_EQ(r.stream_version, 5u);
  auto all = this->ScanAll();
  ASSERT_EQ(all.size(), 6u);
  for (uint64_t i = 0; i < 5; ++i) {
    const auto& env = all[1 + i].envelope;
    EXPECT_EQ(env.position, 2 + i);
    EXPECT_EQ(env.version, 1 + i);
    EXPECT_EQ(env.payload, MakeEvent(100 + i).payload);
  }
}

TYPED_TEST(ConformanceTest, EnvelopeCarriesEveryRequestField) {
  this->clock().Set(1'800'000'000'123'456);
  AppendRequest req = MakeAppend("account-a", ExpectedVersion::Any(), 1, 7);
  req.actor = "service:billing";
  req.correlation_id = "corr-x";
  req.causation_id = "cause-y";
  req.idempotency_key = "key-z";
  this->MustAppend(req);
  auto e = this->store().Read(1);
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->envelope.stream, "account-a");
  EXPECT_EQ(e->envelope.type, events::EventType::kRoleChanged);
  EXPECT_EQ(e->envelope.recorded_at, 1'800'000'000'123'456);
  EXPECT_EQ(e->envelope.actor, "service:billing");
  EXPECT_EQ(e->envelope.correlation_id, "corr-x");
  EXPECT_EQ(e->envelope.causation_id, "cause-y");
  EXPECT_EQ(e->envelope.idempotency_key, "key-z");
  EXPECT_EQ(e->envelope.payload, MakeEvent(7).payload);
  auto body = std::get_if<events::RoleChanged>(&e->event);
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(body->workspace_id, "ws_7");
}

// ---- reads ----

TYPED_TEST(ConformanceTest, ReadStreamReturnsVersionRangesUpToMax) {
  for (int i = 0; i < 5; ++i) {
    this->MustAppend(MakeAppend("account-a", ExpectedVersion::Any(), 1, i));
    this->MustAppend(MakeAppend("account-b", ExpectedVersion::Any(), 1, 100 + i));
  }
  auto all = this->store().ReadStream("account-a", 1, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  for (uint64_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*all)[i].envelope.version, i + 1);
    EXPECT_EQ((*all)[i].envelope.position, 2 * i + 1);
    EXPECT_EQ((*all)[i].envelope.stream, "account-a");
  }
  auto middle = this->store().ReadStream("account-b", 2, 2);
  ASSERT_TRUE(middle.ok());
  ASSERT_EQ(middle->size(), 2u);
  EXPECT_EQ((*middle)[0].envelope.version, 2u);
  EXPECT_EQ((*middle)[1].envelope.version, 3u);
  EXPECT_EQ((*middle)[1].envelope.position, 6u);

  auto from_zero = this->store().ReadStream("account-a", 0, 1);  // 0 reads from version 1
  ASSERT_TRUE(from_zero.ok());
  ASSERT_EQ(from_zero->size(), 1u);
  EXPECT_EQ((*from_zero)[0].envelope.version, 1u);

  EXPECT_TRUE(this->store().ReadStream("account-a", 6, 10)->empty());
  EXPECT_TRUE(this->store().ReadStream("account-a", 1, 0)->empty());
  EXPECT_TRUE(this->store().ReadStream("account-zzz", 1, 10)->empty());
  // A stream whose name is a prefix of another's sees only its own events.
  this->MustAppend(MakeAppend("account-a2", ExpectedVersion::Any()));
  EXPECT_EQ(this->store().ReadStream("account-a", 1, 100)->size(), 5u);
  EXPECT_EQ(this->store().ReadStream("account-a2", 1, 100)->size(), 1u);
}

TYPED_TEST(ConformanceTest, ScanHonoursFromToAndEarlyStop) {
  this->Fill("account-a", 10);
  auto all = this->ScanAll();
  ASSERT_EQ(all.size(), 10u);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(all[i].envelope.position, i + 1);

  auto range = this->ScanAll(3, 5);
  ASSERT_EQ(range.size(), 3u);
  EXPECT_EQ(range.front().envelope.position, 3u);
  EXPECT_EQ(range.back().envelope.position, 5u);

  EXPECT_EQ(this->ScanAll(0, 2).size(), 2u);   // from 0 means from 1
  EXPECT_EQ(this->ScanAll(8, 0).size(), 3u);   // to 0 means the head
  EXPECT_EQ(this->ScanAll(8, 99).size(), 3u);  // past the head stops at the head
  EXPECT_EQ(this->ScanAll(11, 0).size(), 0u);
  EXPECT_EQ(this->ScanAll(6, 5).size(), 0u);

  int seen = 0;
  Status st = this->store().Scan(1, 0, [&](const events::RecordedEvent&) { return ++seen < 4; });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(seen, 4);
}

// ScanOwned hands over the same events as Scan, as rvalues the consumer may move from;
// both the store's own implementation and the interface's default (copying) one.
TYPED_TEST(ConformanceTest, ScanOwnedHandsOverWhatScanShows) {
  this->Fill("account-a", 12);
  const auto all = this->ScanAll();
  ASSERT_EQ(all.size(), 12u);
  using Impl = std::function<Status(uint64_t, uint64_t, const EventStore::OwnedEventVisitor&)>;
  EventStore& store = this->store();
  const Impl impls[] = {
      [&](uint64_t f, uint64_t t, const auto& v) { return store.ScanOwned(f, t, v); },
      [&](uint64_t f, uint64_t t, const auto& v) { return store.EventStore::ScanOwned(f, t, v); }};
  for (const Impl& scan_owned : impls) {
    std::vector<events::RecordedEvent> owned;
    Status st = scan_owned(3, 9, [&](events::RecordedEvent&& e) {
      owned.push_back(std::move(e));
      return true;
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(owned.size(), 7u);
    for (size_t i = 0; i < owned.size(); ++i) {
      const events::RecordedEvent& want = all[i + 2];
      EXPECT_EQ(owned[i].envelope.position, want.envelope.position);
      EXPECT_EQ(owned[i].envelope.hash, want.envelope.hash);
      EXPECT_EQ(owned[i].envelope.payload, want.envelope.payload);
      EXPECT_EQ(events::EncodeEvent(owned[i].event), events::EncodeEvent(want.event));
    }
    int seen = 0;
    st = scan_owned(0, 0, [&](events::RecordedEvent&&) { return ++seen < 4; });
    EXPECT_TRUE(st.ok());
    EXPECT_EQ(seen, 4);
  }
  // Moving the events out does not disturb what later scans see.
  EXPECT_EQ(this->ScanAll()[4].envelope.hash, all[4].envelope.hash);
}

TYPED_TEST(ConformanceTest, ReadByPositionAndNotFound) {
  this->Fill("account-a", 3);
  auto e = this->store().Read(2);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->envelope.position, 2u);
  EXPECT_EQ(e->envelope.version, 2u);
  for (uint64_t missing : {0u, 4u, 1000u}) {
    auto r = this->store().Read(missing);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  }
}

// ---- the chain ----

TYPED_TEST(ConformanceTest, AnEmptyLogHasAZeroHead) {
  EXPECT_EQ(this->store().GetHead(), Head{});
  auto report = this->store().Verify();
  EXPECT_TRUE(report.ok);
  EXPECT_EQ(report.checked, 0u);
}

TYPED_TEST(ConformanceTest, HeadHashIsTheLastEventsHashAndPrevHashesLink) {
  this->Fill("account-a", 3);
  this->MustAppend(MakeAppend("account-b", ExpectedVersion::Any(), 3));
  auto all = this->ScanAll();
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0].envelope.prev_hash, Hash256{});
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_EQ(all[i].envelope.prev_hash, all[i - 1].envelope.hash) << i;
    EXPECT_NE(all[i].envelope.hash, Hash256{});
  }
  // Each hash is SHA-256(prev_hash ‖ canonical bytes).
  for (const auto& e : all) {
    events::Envelope without_hash = e.envelope;
    without_hash.hash = {};
    EXPECT_EQ(events::ChainHash(e.envelope.prev_hash, events::EncodeEnvelope(without_hash)),
              e.envelope.hash);
  }
  Head head = this->store().GetHead();
  EXPECT_EQ(head.position, 6u);
  EXPECT_EQ(head.hash, all.back().envelope.hash);
  auto report = this->store().Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.checked, 6u);
  EXPECT_EQ(report.head, head);
}

TYPED_TEST(ConformanceTest, VerifyNamesTheFirstCorruptedPosition) {
  this->Fill("account-a", 5);
  this->Corrupt(3, 40);
  auto report = this->store().Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 3u);
  EXPECT_EQ(report.checked, 2u);
  EXPECT_NE(report.problem.find("hash"), std::string::npos) << report.problem;
}

// ---- idempotency ----

TYPED_TEST(ConformanceTest, ARepeatedIdempotencyKeyReturnsTheOriginalAndAppendsNothing) {
  AppendRequest req = MakeAppend("account-a", ExpectedVersion::NoStream(), 2);
  req.idempotency_key = "req-1";
  req.idempotency_fingerprint = "fp-1";
  req.idempotency_payload = "{\"id\":\"inv_1\"}";
  auto first = this->MustAppend(req);
  EXPECT_FALSE(first.deduplicated);
  this->Fill("account-b", 1);
  const Head head = this->store().GetHead();

  this->clock().Advance(5 * kMicrosPerSecond);
  auto repeat = this->store().Append(req);  // NoStream would now conflict: the key wins
  ASSERT_TRUE(repeat.ok()) << repeat.error().ToString();
  EXPECT_TRUE(repeat->deduplicated);
  EXPECT_EQ(repeat->first_position, first.first_position);
  EXPECT_EQ(repeat->last_position, first.last_position);
  EXPECT_EQ(repeat->stream_version, first.stream_version);
  EXPECT_EQ(repeat->recorded_at, first.recorded_at);
  EXPECT_EQ(repeat->idempotency_fingerprint, "fp-1");
  EXPECT_EQ(repeat->idempotency_payload, "{\"id\":\"inv_1\"}");
  EXPECT_EQ(this->store().GetHead(), head);
  EXPECT_EQ(this->store().StreamVersion("account-a"), 2u);
}

TYPED_TEST(ConformanceTest, FindIdempotencyKeyAnswersLikeARepeatWithoutAppending) {
  auto unknown = this->store().FindIdempotencyKey("req-9");
  ASSERT_TRUE(unknown.ok()) << unknown.error().ToString();
  EXPECT_FALSE(unknown->has_value());

  AppendRequest req = MakeAppend("account-a", ExpectedVersion::NoStream(), 3);
  req.idempotency_key = "req-9";
  req.idempotency_fingerprint = "fp-9";
  req.idempotency_payload = "{\"id\":\"inv_9\"}";
  auto first = this->MustAppend(req);
  this->Fill("account-b", 2);
  const Head head = this->store().GetHead();

  auto found = this->store().FindIdempotencyKey("req-9");
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  ASSERT_TRUE(found->has_value());
  const AppendResult& r = **found;
  EXPECT_TRUE(r.deduplicated);
  EXPECT_EQ(r.first_position, first.first_position);
  EXPECT_EQ(r.last_position, first.last_position);
  EXPECT_EQ(r.stream_version, 3u);
  EXPECT_EQ(r.recorded_at, first.recorded_at);
  EXPECT_EQ(r.idempotency_fingerprint, "fp-9");
  EXPECT_EQ(r.idempotency_payload, "{\"id\":\"inv_9\"}");
  EXPECT_EQ(this->store().GetHead(), head);  // a lookup, never an append

  auto other = this->store().FindIdempotencyKey("req-90");  // a prefix is not the key
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TYPED_TEST(ConformanceTest, AReusedKeyWithADifferentRequestReturnsTheOriginalFingerprint) {
  AppendRequest req = MakeAppend("account-a", ExpectedVersion::Any());
  req.idempotency_key = "req-1";
  req.idempotency_fingerprint = "fp-original";
  this->MustAppend(req);
  AppendRequest other = MakeAppend("account-b", ExpectedVersion::Any(), 3);
  other.idempotency_key = "req-1";
  other.idempotency_fingerprint = "fp-other";
  auto r = this->store().Append(other);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->deduplicated);
  EXPECT_EQ(r->idempotency_fingerprint, "fp-original");  // the caller sees the mismatch
  EXPECT_EQ(this->store().StreamVersion("account-b"), 0u);
  EXPECT_EQ(this->store().GetHead().position, 1u);
}

TYPED_TEST(ConformanceTest, ConcurrentRepeatsOfOneKeyAppendOnce) {
  std::vector<std::thread> threads;
  std::vector<AppendResult> results(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      AppendRequest req = MakeAppend("account-a", ExpectedVersion::Any());
      req.idempotency_key = "same-key";
      auto r = this->store().Append(req);
      ASSERT_TRUE(r.ok());
      results[t] = *r;
    });
  }
  for (auto& t : threads) t.join();
  int originals = 0;
  for (const auto& r : results) {
    originals += r.deduplicated ? 0 : 1;
    EXPECT_EQ(r.first_position, 1u);
  }
  EXPECT_EQ(originals, 1);
  EXPECT_EQ(this->store().GetHead().position, 1u);
}

// ---- validation ----

TYPED_TEST(ConformanceTest, MalformedAppendsAreInvalidFields) {
  auto expect_invalid = [&](AppendRequest r, const std::string& field) {
    auto result = this->store().Append(std::move(r));
    ASSERT_FALSE(result.ok()) << field;
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidField) << field;
    EXPECT_EQ(result.error().message().rfind(field, 0), 0u) << result.error().message();
  };
  expect_invalid(MakeAppend("", ExpectedVersion::Any()), "stream");
  expect_invalid(MakeAppend(std::string(257, 's'), ExpectedVersion::Any()), "stream");
  expect_invalid(MakeAppend(std::string("acc\0unt", 7), ExpectedVersion::Any()), "stream");
  expect_invalid(MakeAppend("account-a", ExpectedVersion::Any(), 0), "events");
  expect_invalid(MakeAppend("account-a", ExpectedVersion::Any(), kMaxEventsPerAppend + 1),
                 "events");
  AppendRequest big = MakeAppend("account-a", ExpectedVersion::Any());
  big.events[0].payload.assign(kMaxPayloadBytes + 1, 'x');
  expect_invalid(big, "payload");
  AppendRequest long_key = MakeAppend("account-a", ExpectedVersion::Any());
  long_key.idempotency_key.assign(257, 'k');
  expect_invalid(long_key, "idempotency_key");
  EXPECT_EQ(this->store().GetHead().position, 0u);
  // The limits themselves are fine.
  auto max = this->MustAppend(
      MakeAppend(std::string(256, 's'), ExpectedVersion::Any(), kMaxEventsPerAppend));
  EXPECT_EQ(max.last_position, kMaxEventsPerAppend);
}

// ---- live tail and shutdown ----

TYPED_TEST(ConformanceTest, WaitForHeadWakesOnAppend) {
  this->Fill("account-a", 1);
  std::atomic<uint64_t> seen{0};
  auto start = std::chrono::steady_clock::now();
  std::thread waiter([&] { seen = this->store().WaitForHead(1, milliseconds(10'000)); });
  std::this_thread::sleep_for(milliseconds(20));
  this->Fill("account-a", 1);
  waiter.join();
  EXPECT_EQ(seen.load(), 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TYPED_TEST(ConformanceTest, WaitForHeadReturnsAtOnceWhenAlreadyPastAndTimesOutOtherwise) {
  this->Fill("account-a", 2);
  EXPECT_EQ(this->store().WaitForHead(1, milliseconds(10'000)), 2u);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(this->store().WaitForHead(2, milliseconds(50)), 2u);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, milliseconds(45));
  EXPECT_LT(waited, milliseconds(5'000));
}

TYPED_TEST(ConformanceTest, ShutdownWakesWaitersAndRefusesAppends) {
  this->Fill("account-a", 1);
  std::thread waiter([&] { EXPECT_EQ(this->store().WaitForHead(1, milliseconds(60'000)), 1u); });
  std::this_thread::sleep_for(milliseconds(20));
  auto start = std::chrono::steady_clock::now();
  this->store().Shutdown();
  waiter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  auto r = this->store().Append(MakeAppend("account-a", ExpectedVersion::Any()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  this->store().Shutdown();  // idempotent
  // Committed data stays readable.
  EXPECT_EQ(this->ScanAll().size(), 1u);
  EXPECT_TRUE(this->store().Verify().ok);
}

// ---- concurrency ----

TYPED_TEST(ConformanceTest, ConcurrentExactVersionAppendsToOneStreamNeverShareAVersion) {
  constexpr int kThreads = 8, kPerThread = 8;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread;) {
        uint64_t v = this->store().StreamVersion("account-hot");
        auto r = this->store().Append(
            MakeAppend("account-hot", ExpectedVersion::Exact(v), 1, t * 1000 + i));
        if (r.ok()) {
          EXPECT_EQ(r->stream_version, v + 1);
          ++i;
        } else {
          ASSERT_EQ(r.error().code(), ErrorCode::kVersionConflict) << r.error().ToString();
          ++conflicts;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(this->store().StreamVersion("account-hot"), uint64_t{kThreads * kPerThread});
  auto events = this->store().ReadStream("account-hot", 1, 1000);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), size_t{kThreads * kPerThread});
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].envelope.version, i + 1);
  auto report = this->store().Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.checked, uint64_t{kThreads * kPerThread});
}

// ---- the vault ----

TYPED_TEST(ConformanceTest, VaultReusesASubjectPerEmailKey) {
  PiiVault& vault = this->store().Vault();
  events::Bytes ann{std::string(32, 'a')}, bob{std::string(32, 'b')};
  auto s1 = vault.SubjectFor(ann, "ann@example.com");
  auto s2 = vault.SubjectFor(ann, "ann@example.com");
  auto s3 = vault.SubjectFor(bob, "bob@example.com");
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok());
  EXPECT_EQ(*s1, *s2);
  EXPECT_NE(*s1, *s3);
  EXPECT_EQ(s1->rfind("sub_", 0), 0u);
  EXPECT_EQ(s1->size(), 4u + 32u);
  EXPECT_EQ(vault.Lookup(*s1), "ann@example.com");
  EXPECT_EQ(vault.Lookup(*s3), "bob@example.com");
  EXPECT_EQ(vault.Lookup("sub_unknown"), std::nullopt);
}

TYPED_TEST(ConformanceTest, VaultEraseRemovesThePlaintextAndANewSubjectFollows) {
  PiiVault& vault = this->store().Vault();
  events::Bytes ann{std::string(32, 'a')}, bob{std::string(32, 'b')};
  auto old_subject = vault.SubjectFor(ann, "ann@example.com");
  auto bob_subject = vault.SubjectFor(bob, "bob@example.com");
  ASSERT_TRUE(old_subject.ok() && bob_subject.ok());
  auto erased = vault.Erase(ann);
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(*erased, 1u);
  EXPECT_EQ(vault.Lookup(*old_subject), std::nullopt);
  EXPECT_EQ(vault.Lookup(*bob_subject), "bob@example.com");
  EXPECT_EQ(*vault.Erase(ann), 0u);
  EXPECT_EQ(*vault.Erase(events::Bytes{"never-seen"}), 0u);
  auto fresh = vault.SubjectFor(ann, "ann@new.example.com");
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(*fresh, *old_subject);
  EXPECT_EQ(vault.Lookup(*fresh), "ann@new.example.com");
  EXPECT_EQ(vault.Lookup(*old_subject), std::nullopt);
}

TYPED_TEST(ConformanceTest, ConcurrentSubjectForOneKeyMakesOneSubject) {
  PiiVault& vault = this->store().Vault();
  std::vector<std::string> subjects(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto s = vault.SubjectFor(events::Bytes{"same-key"}, "same@example.com");
      ASSERT_TRUE(s.ok());
      subjects[t] = *s;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(subjects.begin(), subjects.end()).size(), 1u);
}

// ---- snapshots and the secret ----

TYPED_TEST(ConformanceTest, SnapshotsRoundTripAndOverwrite) {
  uint64_t position = 99;
  EXPECT_EQ(this->store().GetSnapshot("access", &position), std::nullopt);
  EXPECT_EQ(position, 99u);
  ASSERT_TRUE(this->store().PutSnapshot("access", 10, std::string("state\0one", 9)).ok());
  ASSERT_TRUE(this->store().PutSnapshot("members", 11, "").ok());
  EXPECT_EQ(this->store().GetSnapshot("access", &position), std::string("state\0one", 9));
  EXPECT_EQ(position, 10u);
  ASSERT_TRUE(this->store().PutSnapshot("access", 20, "state-two").ok());
  EXPECT_EQ(this->store().GetSnapshot("access", &position), "state-two");
  EXPECT_EQ(position, 20u);
  EXPECT_EQ(this->store().GetSnapshot("members", &position), "");
  EXPECT_EQ(position, 11u);
}

TYPED_TEST(ConformanceTest, TheLedgerSecretIs32RandomBytes) {
  const std::string& secret = this->store().LedgerSecret();
  EXPECT_EQ(secret.size(), 32u);
  EXPECT_NE(secret, std::string(32, '\0'));
}

}  // namespace
}  // namespace roster::storage
