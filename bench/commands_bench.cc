// Commands benchmark (issue 3): commands/s through the CommandHandler over the durable,
// synced RocksDbEventStore, beside the raw EventStore append rate of events of the same
// size measured in the same run, plus the in-process cost of deciding alone.
// Plain executable with its own timing; prints a table. `make bench` runs it (ctest -L bench).
//
//   commands_bench [--dir=PATH] [--seconds=S] [--rounds=R] [--accounts=N] [--threads=1,8,64]
//                  [--strict] [--only=decide] [--sync=0]
//
// Each variant runs S seconds (default 3) split into R interleaved rounds (default 3).
//
// Scenarios: every command is a SendInvite to a fresh address (the product's hottest
// write), either all on ONE account or spread over N accounts (default 1000), by 1/8/64
// threads. "known address": the invitee's vault subject already exists (a Get); "new
// address": SubjectFor writes the vault (a second synced RocksDB write per command).
// --strict exits 1 when deciding adds more than 25% to the append (default: report only;
// the machine is shared).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "commands/decider.h"
#include "commands/handler.h"
#include "events/codec.h"
#include "storage/memory_store.h"
#include "storage/rocksdb_store.h"

namespace roster::commands {
namespace {

using Steady = std::chrono::steady_clock;

struct Args {
  std::string dir;
  double seconds = 3;
  int accounts = 1000;
  std::vector<int> threads = {1, 8, 64};
  bool strict = false;
  bool decide_only = false;  // --only=decide: the in-process phases only
  int rounds = 3;            // each variant's time is split into this many interleaved rounds
  bool sync = true;          // --sync=0: measure with an unsynced store (CPU ceiling)
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](const char* flag) -> const char* {
      size_t n = std::strlen(flag);
      return s.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
    };
    if (auto v = value("--dir=")) {
      a.dir = v;
    } else if (auto v = value("--seconds=")) {
      a.seconds = std::atof(v);
    } else if (auto v = value("--sync=")) {
      a.sync = std::atoi(v) != 0;
    } else if (auto v = value("--rounds=")) {
      a.rounds = std::max(1, std::atoi(v));
    } else if (auto v = value("--accounts=")) {
      a.accounts = std::max(1, std::atoi(v));
    } else if (auto v = value("--threads=")) {
      a.threads.clear();
      for (const char* p = v; *p;) {
        a.threads.push_back(std::max(1, std::atoi(p)));
        p = std::strchr(p, ',');
        if (p == nullptr) break;
        ++p;
      }
    } else if (s == "--strict") {
      a.strict = true;
    } else if (s == "--only=decide") {
      a.decide_only = true;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      std::exit(2);
    }
  }
  return a;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown cpu";
}

struct PhaseResult {
  uint64_t ops = 0;
  uint64_t errors = 0;
  double seconds = 0;
  uint64_t groups = 0;   // store commit groups during the phase
  uint64_t appends = 0;  // appends committed during the phase
  double per_group() const { return groups > 0 ? static_cast<double>(appends) / groups : 0; }
  double per_second() const { return seconds > 0 ? ops / seconds : 0; }
  PhaseResult& operator+=(const PhaseResult& o) {
    ops += o.ops;
    errors += o.errors;
    seconds += o.seconds;
    groups += o.groups;
    appends += o.appends;
    return *this;
  }
  double micros_per_op() const { return ops > 0 ? seconds * 1e6 / ops : 0; }
};

// Runs op(thread, i) on `threads` threads for `seconds` (or until an op returns false for
// "no more work"). op returns 1 on success, 0 on a failure, -1 when out of work.
PhaseResult RunPhase(int threads, double seconds, const std::function<int(int, uint64_t)>& op) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ops{0}, errors{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  Steady::time_point start;
  std::atomic<bool> go{false};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        int r = op(t, i);
        if (r < 0) break;
        (r > 0 ? ops : errors).fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  start = Steady::now();
  go.store(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& th : pool) th.join();
  PhaseResult r;
  r.seconds = std::chrono::duration<double>(Steady::now() - start).count();
  r.ops = ops.load();
  r.errors = errors.load();
  return r;
}

std::string AccountId(int i) { return "acct" + std::to_string(i); }
std::string WorkspaceId(int i) { return "ws" + std::to_string(i); }
std::string Owner(int i) { return "owner" + std::to_string(i); }
std::string OwnerEmail(int i) { return Owner(i) + "@bench.example"; }
std::string KnownEmail(uint64_t n) { return "known" + std::to_string(n) + "@invitee.example"; }

// A representative InviteSent, as the handler writes it (same field sizes).
events::Event SampleInvite(uint64_t n) {
  return events::InviteSent{"ws0",
                            "inv_" + std::string(20, 'a'),
                            events::Bytes{std::string(32, static_cast<char>(n))},
                            "sub_" + std::string(32, 'b'),
                            "viewer",
                            {},
                            {},
                            TokenHash("token" + std::to_string(n)),
                            1'790'000'000'000'000};
}

struct Row {
  std::string scenario;
  int threads;
  PhaseResult raw_serial, raw_any, known, fresh;
};

int Main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  std::string dir = args.dir;
  bool own_dir = dir.empty();
  if (own_dir) {
    const char* tmp = std::getenv("TMPDIR");
    dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/roster-commands-bench-" +
          std::to_string(::getpid());
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = dir + "/ledger";
  SystemClock clock;

  std::printf("machine: %s, nproc %u; data dir %s\n", CpuModel().c_str(),
              std::thread::hardware_concurrency(), dir.c_str());
  std::printf("each variant %.1f s in %d interleaved rounds; %d accounts in the spread "
              "scenario\n\n",
              args.seconds, args.rounds, args.accounts);

  // ---- decide only (in-process, no I/O) ----
  double decide_us = 0;  // Decide alone
  double fold_us = 0;    // Evolve of its events
  double handler_memory_us = 0;
  {
    AccountState state;
    auto fold = [&](const events::Event& e) {
      events::RecordedEvent rec;
      rec.envelope.version = state.version + 1;
      rec.envelope.position = state.version + 1;
      rec.envelope.actor = "service";
      rec.event = e;
      Evolve(state, rec);
    };
    fold(events::AccountOpened{"a", "A", "standard", "global", "owner", {"ownerkey"}, "sub_o"});
    fold(events::WorkspaceCreated{"w", "W", "standard", 7 * 24 * 3600});
    RandomIdSource ids;
    Actor actor = Actor::User("owner", "owner@x.io");
    DecideContext ctx;
    ctx.actor = &actor;
    ctx.actor_email_key = {"ownerkey"};
    ctx.ids = &ids;
    ctx.subject = "sub_" + std::string(32, 'c');
    // 1000 invitations already in the state, then time deciding (and folding) fresh ones.
    const int kWarm = 1000, kTimed = 20000;
    std::vector<events::Bytes> keys;
    for (int i = 0; i < kWarm + kTimed; ++i) {
      Hash256 h = HmacSha256("secret", "user" + std::to_string(i) + "@x.io");
      keys.push_back({std::string(AsBytes(h))});
    }
    SendInvite cmd{"w", "someone@x.io", "viewer", {}, {}};
    Steady::duration deciding{}, folding{};
    auto decide_one = [&](int i) {
      ctx.email_key = keys[i];
      ctx.now = 1'790'000'000'000'000 + i;
      auto t0 = Steady::now();
      auto d = DecideWithOutputs(state, cmd, ctx);
      auto t1 = Steady::now();
      if (!d) std::abort();
      for (auto& e : d->events) fold(e);
      deciding += t1 - t0;
      folding += Steady::now() - t1;
    };
    for (int i = 0; i < kWarm; ++i) decide_one(i);
    deciding = folding = {};
    for (int i = kWarm; i < kWarm + kTimed; ++i) decide_one(i);
    decide_us = std::chrono::duration<double, std::micro>(deciding).count() / kTimed;
    fold_us = std::chrono::duration<double, std::micro>(folding).count() / kTimed;
    auto start = Steady::now();

    // The whole handler path over the in-memory store (HMAC, vault, routing, decide,
    // encode, append, fold): everything but the disk.
    ManualClock mclock;
    storage::MemoryEventStore mem(&mclock);
    CommandHandler h(mem, mclock);
    Actor svc = Actor::Service();
    (void)h.Execute(OpenAccount{"a", "A", "standard", "global", "owner", "owner@x.io"}, svc, {});
    (void)h.Execute(CreateWorkspace{"a", "w", "W", "standard", {}}, actor, {});
    start = Steady::now();
    for (int i = 0; i < kTimed; ++i) {
      auto r = h.Execute(SendInvite{"w", "m" + std::to_string(i) + "@x.io", "viewer", {}, {}},
                         actor, {});
      if (!r.ok()) std::abort();
    }
    handler_memory_us =
        std::chrono::duration<double, std::micro>(Steady::now() - start).count() / kTimed;
  }
  std::printf("decide only (SendInvite, state of 1000+ invitations): %.2f us/command; "
              "folding its events: %.2f us\n",
              decide_us, fold_us);
  std::printf("handler over MemoryEventStore (all but the disk): %.2f us/command\n\n",
              handler_memory_us);

  if (args.decide_only) {
    if (own_dir) std::filesystem::remove_all(dir);
    return 0;
  }

  // ---- setup: accounts, workspaces and a pool of known addresses, unsynced ----
  const uint64_t kKnownPool = 150'000;
  auto setup_start = Steady::now();
  {
    auto opened = storage::RocksDbEventStore::Open({.path = db, .sync = false});
    if (!opened.ok()) {
      std::fprintf(stderr, "open: %s\n", opened.error().ToString().c_str());
      return 1;
    }
    auto& store = **opened;
    CommandHandler h(store, clock);
    std::atomic<int> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 8; ++t) {
      pool.emplace_back([&] {
        for (int i = next.fetch_add(1); i <= args.accounts; i = next.fetch_add(1)) {
          // Account 0 is the "one account" scenario's; 1..N the spread.
          auto a = h.Execute(OpenAccount{AccountId(i), "Bench", "standard", "global", Owner(i),
                                         OwnerEmail(i)},
                             Actor::Service(), {});
          auto w = h.Execute(CreateWorkspace{AccountId(i), WorkspaceId(i), "W", "standard", {}},
                             Actor::Service(), {});
          if (!a.ok() || !w.ok()) std::abort();
        }
      });
    }
    for (auto& t : pool) t.join();
    for (uint64_t n = 0; n < kKnownPool; ++n) {
      std::string email = KnownEmail(n);
      if (!store.Vault().SubjectFor(h.EmailKey(email), email).ok()) std::abort();
    }
  }
  std::printf("setup (unsynced): %d accounts, %llu vault subjects in %.1f s\n\n", args.accounts + 1,
              static_cast<unsigned long long>(kKnownPool),
              std::chrono::duration<double>(Steady::now() - setup_start).count());

  auto opened = storage::RocksDbEventStore::Open({.path = db, .sync = args.sync});
  if (!opened.ok()) return 1;
  std::unique_ptr<storage::RocksDbEventStore> store_owner = std::move(opened).value();
  auto& store = *store_owner;
  auto handler_owner = std::make_unique<CommandHandler>(store, clock);
  CommandHandler& handler = *handler_owner;
  if (!handler.status().ok()) return 1;

  std::atomic<uint64_t> next_known{0}, next_fresh{0}, raw_seq{0};
  std::vector<Row> rows;
  for (bool spread : {false, true}) {
    for (int threads : args.threads) {
      Row row;
      row.scenario = spread ? std::to_string(args.accounts) + " accounts" : "one account";
      row.threads = threads;
      // Spread: thread t owns the accounts a ≡ t (mod threads), round robin — the same
      // streams-per-thread pattern as the raw phase, so no two threads share an account.
      auto account_of = [&](int t, uint64_t i) {
        if (!spread) return 0;
        int owned = std::max(1, (args.accounts - t + threads - 1) / threads);
        int a = 1 + t + static_cast<int>(i % static_cast<uint64_t>(owned)) * threads;
        return a > args.accounts ? 1 + t % args.accounts : a;
      };

      // Raw appends of InviteSent-sized events. "serialized": what a consistent writer of
      // one stream must do — read the version, append with Exact, one append at a time per
      // stream (the handler's per-account mutex minus deciding). One account: one stream
      // behind a mutex; spread: thread t owns the streams of accounts a ≡ t (mod threads).
      // "any": one stream with ExpectedVersion::Any, no serialization (group commit's
      // ceiling; no read-decide-write cycle could use it).
      std::vector<uint64_t> versions(args.accounts + 1, 0);
      const std::string tag = std::to_string(threads);
      for (int i = 0; i <= args.accounts; ++i) {
        versions[i] = store.StreamVersion("raw-" + AccountId(i) + "-" + tag);
      }
      std::mutex one_stream_mu;
      // The Any variant writes its own stream, so it never moves the serialized one's version.
      auto raw_append = [&](int a, storage::ExpectedVersion expected) {
        storage::AppendRequest req;
        req.stream = (expected.kind == storage::ExpectedVersion::Kind::kAny ? "rawany-" : "raw-") +
                     AccountId(a) + "-" + tag;
        req.expected = expected;
        events::Event e = SampleInvite(raw_seq.fetch_add(1));
        req.events.push_back({events::TypeOf(e), events::EncodeEvent(e)});
        req.actor = "user:" + Owner(a);
        return store.Append(std::move(req));
      };
      auto raw_serial_op = [&](int t, uint64_t i) {
        if (!spread) {
          std::lock_guard lock(one_stream_mu);
          auto r = raw_append(0, storage::ExpectedVersion::Exact(versions[0]));
          if (r.ok()) versions[0] = r->stream_version;
          return r.ok() ? 1 : 0;
        }
        int owned = std::max(1, (args.accounts - t + threads - 1) / threads);
        int a = 1 + t + static_cast<int>(i % static_cast<uint64_t>(owned)) * threads;
        if (a > args.accounts) return -1;  // more threads than accounts: idle
        auto r = raw_append(a, storage::ExpectedVersion::Exact(versions[a]));
        if (r.ok()) versions[a] = r->stream_version;
        return r.ok() ? 1 : 0;
      };
      auto raw_any_op = [&](int, uint64_t) {
        return raw_append(0, storage::ExpectedVersion::Any()).ok() ? 1 : 0;
      };

      auto known_op = [&](int t, uint64_t i) {
        uint64_t n = next_known.fetch_add(1);
        if (n >= kKnownPool) return -1;
        int a = account_of(t, i);
        auto r = handler.Execute(SendInvite{WorkspaceId(a), KnownEmail(n), "viewer", {}, {}},
                                 Actor::User(Owner(a), OwnerEmail(a)), {});
        return r.ok() ? 1 : 0;
      };
      auto fresh_op = [&](int t, uint64_t i) {
        uint64_t n = next_fresh.fetch_add(1);
        int a = account_of(t, i);
        auto r = handler.Execute(
            SendInvite{WorkspaceId(a), "fresh" + std::to_string(n) + "@invitee.example",
                       "viewer", {}, {}},
            Actor::User(Owner(a), OwnerEmail(a)), {});
        return r.ok() ? 1 : 0;
      };
      // The disk is shared and its fsync latency drifts: interleave short rounds of each
      // variant so they see the same conditions, and sum them.
      const double slice = args.seconds / args.rounds;
      auto phase = [&](const std::function<int(int, uint64_t)>& op) {
        storage::WriterStats before = store.GetWriterStats();
        PhaseResult r = RunPhase(threads, slice, op);
        storage::WriterStats after = store.GetWriterStats();
        r.groups = after.groups - before.groups;
        r.appends = after.appends - before.appends;
        return r;
      };
      for (int round = 0; round < args.rounds; ++round) {
        row.raw_serial += phase(raw_serial_op);
        if (!spread) row.raw_any += phase(raw_any_op);
        row.known += phase(known_op);
        row.fresh += phase(fresh_op);
      }
      rows.push_back(row);
      std::fprintf(stderr,
                   "  %s x%d: raw %.0f/s [%.1f/group] (any %.0f/s [%.1f]), known %.0f/s [%.1f], "
                   "new %.0f/s [%.1f]\n",
                   row.scenario.c_str(), threads, row.raw_serial.per_second(),
                   row.raw_serial.per_group(), row.raw_any.per_second(), row.raw_any.per_group(),
                   row.known.per_second(), row.known.per_group(), row.fresh.per_second(),
                   row.fresh.per_group());
    }
  }

  size_t payload = events::EncodeEvent(SampleInvite(1)).size();
  std::printf("SendInvite through the handler vs raw appends of one %zu-byte InviteSent "
              "(%s RocksDB)\n\n",
              payload, args.sync ? "synced" : "UNSYNCED");
  std::printf("| scenario | threads | raw append/s, serialized per stream | raw append/s, "
              "Any (no serialization) | handler, known address/s | vs serialized raw | "
              "handler, new address/s | vs serialized raw | errors |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  bool miss = false;
  for (const auto& r : rows) {
    double base = r.raw_serial.per_second();
    double k = base > 0 ? r.known.per_second() / base : 0;
    double f = base > 0 ? r.fresh.per_second() / base : 0;
    std::string any = r.raw_any.ops > 0 ? std::to_string(static_cast<long>(r.raw_any.per_second()))
                                        : std::string("—");
    std::printf("| %s | %d | %.0f | %s | %.0f | %.0f%% | %.0f | %.0f%% | %llu |\n",
                r.scenario.c_str(), r.threads, base, any.c_str(), r.known.per_second(), k * 100,
                r.fresh.per_second(), f * 100,
                static_cast<unsigned long long>(r.raw_serial.errors + r.raw_any.errors +
                                                r.known.errors + r.fresh.errors));
    if (k < 1 / 1.25) miss = true;
  }
  double raw1 = 0;
  for (const auto& r : rows) {
    if (r.threads == 1) raw1 = std::max(raw1, r.raw_serial.micros_per_op());
  }
  std::printf("\ndecide-only cost %.2f us = %.2f%% of one synced append (%.0f us at 1 thread)\n",
              decide_us, raw1 > 0 ? 100 * decide_us / raw1 : 0, raw1);
  std::printf("target: deciding adds <= 25%% to the append (handler with a known address "
              ">= 80%% of the serialized raw rate in every row): %s\n",
              miss ? "MISSED" : "met");
  handler_owner.reset();
  store_owner.reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return args.strict && miss ? 1 : 0;
}

}  // namespace
}  // namespace roster::commands

int main(int argc, char** argv) { return roster::commands::Main(argc, argv); }
