// Storage benchmark (issue 2): durable appends through RocksDbEventStore against raw
// RocksDB on the same disk, and replay speed against a raw iterator. Plain executable with
// its own timing; prints a table. `make bench` runs it (ctest -L bench).
//
//   storage_bench [--dir=PATH] [--replay-events=N] [--seconds=S] [--rounds=R] [--strict]
//                 [--only=appends|--only=replay] [--appenders=N [--async]]
//
// --replay-events (or $ROSTER_BENCH_REPLAY_EVENTS) sizes the replay log (default 1000000);
// the append measurements run in R rounds (default 3), each round the six phases back to
// back (store 1, raw single write, store 64, raw 64-batch, store 64 async, store 8) for
// --seconds each (default 1): a ratio is taken within a round, between phases a few
// seconds apart, so a shared disk's drift moves both sides; figures and ratios are the
// median of the rounds.
// --strict exits 1 when a target is missed (default: report only, the machine is shared).
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "events/codec.h"
#include "storage/chain.h"
#include "storage/rocksdb_keys.h"
#include "storage/rocksdb_store.h"
#include "storage/verify.h"

namespace roster::storage {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

struct Args {
  std::string dir;
  uint64_t replay_events = 1'000'000;
  double seconds = 1;
  int rounds = 3;
  bool strict = false;
  bool appends = true;  // --only=replay skips the append phases, --only=appends the replay
  bool replay = true;
  int appenders = 0;  // --appenders=N: only the store phase with N appenders (for profiling)
  bool async = false;  // with --appenders: N appends in flight through AppendAsync
};

Args Parse(int argc, char** argv) {
  Args a;
  if (const char* env = std::getenv("ROSTER_BENCH_REPLAY_EVENTS"))
    a.replay_events = std::strtoull(env, nullptr, 10);
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](const char* flag) -> const char* {
      size_t n = std::strlen(flag);
      return s.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
    };
    if (auto v = value("--dir="))
      a.dir = v;
    else if (auto v = value("--replay-events="))
      a.replay_events = std::strtoull(v, nullptr, 10);
    else if (auto v = value("--seconds="))
      a.seconds = std::atof(v);
    else if (auto v = value("--rounds="))
      a.rounds = std::max(1, std::atoi(v));
    else if (auto v = value("--appenders="))
      a.appenders = std::atoi(v);
    else if (s == "--strict")
      a.strict = true;
    else if (s == "--async")
      a.async = true;
    else if (s == "--only=replay")
      a.appends = false;
    else if (s == "--only=appends")
      a.replay = false;
    else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      std::exit(2);
    }
  }
  return a;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

// A ~300-byte stored event: a RoleChanged body whose user id is padded so that the
// canonical envelope (what is hashed and stored after the 32-byte hash) is about 300 bytes.
NewEvent BenchEvent(uint64_t n) {
  events::RoleChanged e;
  e.workspace_id = "ws_" + std::to_string(n % 1000);
  e.user_id = "usr_" + std::to_string(n) + std::string(24, 'u');
  e.from_role = "viewer";
  e.to_role = "editor";
  return NewEvent{events::RoleChanged::kType, events::EncodeEvent(events::Event(e))};
}

AppendRequest BenchAppend(const std::string& stream, uint64_t n, size_t events = 1) {
  AppendRequest r;
  r.stream = stream;
  r.expected = ExpectedVersion::Any();
  for (size_t i = 0; i < events; ++i) r.events.push_back(BenchEvent(n + i));
  r.actor = "user:usr_0123456789";
  r.correlation_id = "corr-" + std::to_string(n);
  return r;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct Fresh {
  explicit Fresh(const std::string& path) : path(path) { std::filesystem::remove_all(path); }
  ~Fresh() { std::filesystem::remove_all(path); }
  std::string path;
};

// ---- durable appends through the store ----

double ProcessCpuSeconds() {
  rusage u;
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Voluntary + involuntary context switches of the whole process so far.
uint64_t ProcessContextSwitches() {
  struct rusage u {};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_nvcsw) + static_cast<uint64_t>(u.ru_nivcsw);
}

struct AppendFigures {
  double events_per_s = 0, p50_us = 0, p99_us = 0, avg_group = 0;
  double cpu_us = 0;      // process CPU time (all threads) per append
  double switches = 0;    // context switches per append
};

// A fresh store at `path` with streams account-0..streams-1 created; `start(store)`
// begins appending, and after `seconds` `finish()` stops it, waits until no append is in
// flight and returns every append's latency (µs). Figures over that window.
template <class Start, class Finish>
AppendFigures MeasureAppends(const std::string& path, int streams, double seconds,
                             const Start& start, const Finish& finish) {
  Fresh fresh(path);
  auto opened = RocksDbEventStore::Open({.path = path});
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.error().ToString().c_str());
    std::exit(1);
  }
  RocksDbEventStore& store = **opened;
  // Warm up: create the streams (and the WAL file's first blocks).
  for (int t = 0; t < streams; ++t) {
    if (!store.Append(BenchAppend("account-" + std::to_string(t), 0)).ok()) std::exit(1);
  }
  const WriterStats before = store.GetWriterStats();
  const double cpu0 = ProcessCpuSeconds();
  const uint64_t switches0 = ProcessContextSwitches();
  const auto t0 = Clock::now();
  start(store);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  std::vector<double> latencies = finish();
  const double elapsed = Seconds(Clock::now() - t0);
  const double cpu = ProcessCpuSeconds() - cpu0;
  const uint64_t switches = ProcessContextSwitches() - switches0;
  const WriterStats after = store.GetWriterStats();
  const uint64_t total = latencies.size();
  AppendFigures f;
  f.events_per_s = static_cast<double>(total) / elapsed;
  f.p50_us = Percentile(latencies, 0.50);
  f.p99_us = Percentile(latencies, 0.99);
  f.cpu_us = cpu * 1e6 / static_cast<double>(std::max<uint64_t>(1, total));
  f.switches = static_cast<double>(switches) / static_cast<double>(std::max<uint64_t>(1, total));
  f.avg_group = static_cast<double>(after.appends - before.appends) /
                static_cast<double>(std::max<uint64_t>(1, after.groups - before.groups));
  return f;
}

// `appenders` threads, each appending single events to its own stream with Append.
AppendFigures StoreAppends(const std::string& path, int appenders, double seconds) {
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(appenders);
  std::vector<std::thread> threads;
  auto start = [&](RocksDbEventStore& store) {
    for (int t = 0; t < appenders; ++t) {
      threads.emplace_back([&, t] {
        const std::string stream = "account-" + std::to_string(t);
        latencies[t].reserve(1 << 16);
        for (uint64_t n = 1; !stop.load(std::memory_order_relaxed); ++n) {
          AppendRequest r = BenchAppend(stream, n);
          auto t0 = Clock::now();
          auto result = store.Append(std::move(r));
          auto t1 = Clock::now();
          if (!result.ok()) {
            std::fprintf(stderr, "%s\n", result.error().ToString().c_str());
            std::exit(1);
          }
          latencies[t].push_back(Micros(t1 - t0));
        }
      });
    }
  };
  auto finish = [&] {
    stop = true;
    for (auto& th : threads) th.join();
    std::vector<double> all;
    for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    return all;
  };
  return MeasureAppends(path, appenders, seconds, start, finish);
}

// `in_flight` appends kept in flight through AppendAsync by `in_flight` logical appenders
// (one stream each), each issuing its next single-event append from the previous one's
// callback: concurrent appenders without a blocked thread per append.
AppendFigures StoreAsyncAppends(const std::string& path, int in_flight, double seconds) {
  std::atomic<bool> stop{false};
  std::atomic<int> running{in_flight};
  std::vector<double> latencies;  // callbacks run on the store's committing thread only
  latencies.reserve(1 << 20);
  std::function<void(RocksDbEventStore&, int, uint64_t)> issue =
      [&](RocksDbEventStore& store, int t, uint64_t n) {
        auto t0 = Clock::now();
        store.AppendAsync(BenchAppend("account-" + std::to_string(t), n),
                          [&, t, n, t0](Result<AppendResult> r) {
                            if (!r.ok()) {
                              std::fprintf(stderr, "%s\n", r.error().ToString().c_str());
                              std::exit(1);
                            }
                            latencies.push_back(Micros(Clock::now() - t0));
                            if (stop.load(std::memory_order_relaxed)) {
                              running.fetch_sub(1);
                            } else {
                              issue(store, t, n + 1);
                            }
                          });
      };
  auto start = [&](RocksDbEventStore& store) {
    for (int t = 0; t < in_flight; ++t) issue(store, t, 1);
  };
  auto finish = [&] {
    stop = true;
    while (running.load() > 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
    return std::move(latencies);
  };
  return MeasureAppends(path, in_flight, seconds, start, finish);
}

// ---- raw RocksDB baselines ----

std::unique_ptr<rocksdb::DB> RawOpen(const std::string& path) {
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, path, &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "raw open: %s\n", s.ToString().c_str());
    std::exit(1);
  }
  return std::unique_ptr<rocksdb::DB>(raw);
}

// A value of the same size as the store's events value (hash ‖ canonical).
std::string RawValue(size_t size) {
  std::string v(size, '\0');
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<char>('a' + i % 26);
  return v;
}

double RawBatchedRate(const std::string& path, size_t value_size, size_t batch, double seconds) {
  Fresh fresh(path);
  auto db = RawOpen(path);
  const std::string value = RawValue(value_size);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  uint64_t key = 0, written = 0;
  const auto start = Clock::now();
  while (Seconds(Clock::now() - start) < seconds) {
    rocksdb::WriteBatch b;
    for (size_t i = 0; i < batch; ++i) b.Put(keys::EventKey(++key), value);
    if (!db->Write(wo, &b).ok()) std::exit(1);
    written += batch;
  }
  const double rate = static_cast<double>(written) / Seconds(Clock::now() - start);
  db->Close().PermitUncheckedError();
  return rate;
}

std::pair<double, double> RawSingleLatency(const std::string& path, size_t value_size,
                                           double seconds) {
  Fresh fresh(path);
  auto db = RawOpen(path);
  const std::string value = RawValue(value_size);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::vector<double> lat;
  uint64_t key = 0;
  const auto start = Clock::now();
  while (Seconds(Clock::now() - start) < seconds) {
    auto t0 = Clock::now();
    if (!db->Put(wo, keys::EventKey(++key), value).ok()) std::exit(1);
    lat.push_back(Micros(Clock::now() - t0));
  }
  db->Close().PermitUncheckedError();
  return {Percentile(lat, 0.50), Percentile(lat, 0.99)};
}

// ---- replay ----

// One replay measurement: wall-clock rate and the CPU time (all threads) per event. On a
// shared machine the CPU figure is the steadier one.
struct ScanFigure {
  double per_s = 0;
  double cpu_us = 0;
};

struct ReplayFigures {
  double build_s = 0;
  ScanFigure scan;         // store Scan: decode + hash verify, visitor per event
  ScanFigure scan_serial;  // the same with pipelined_scan = false
  ScanFigure verify;       // store ScanRaw + ChainVerifier (the Verify path)
  ScanFigure raw_iter;     // raw iterator, no decoding
  ScanFigure raw_decode;   // raw iterator + DecodeRecorded + ChainHash (same work, 1 thread)
  std::string shape;       // SST files per level of the events column family
};


ScanFigure Rate(uint64_t n, const std::function<uint64_t()>& run) {
  // Best of three: the first pass also warms the page cache.
  ScanFigure best;
  for (int i = 0; i < 3; ++i) {
    auto t0 = Clock::now();
    double c0 = ProcessCpuSeconds();
    uint64_t seen = run();
    double r = static_cast<double>(seen) / Seconds(Clock::now() - t0);
    double cpu_us =
        (ProcessCpuSeconds() - c0) * 1e6 / static_cast<double>(std::max<uint64_t>(1, seen));
    if (seen != n) {
      std::fprintf(stderr, "replay saw %llu events, expected %llu\n",
                   static_cast<unsigned long long>(seen), static_cast<unsigned long long>(n));
      std::exit(1);
    }
    if (r > best.per_s) best = ScanFigure{r, cpu_us};
  }
  return best;
}

ReplayFigures Replay(const std::string& path, uint64_t n) {
  Fresh fresh(path);
  ReplayFigures f;
  {
    // Build fast: unsynced, big appends, two appenders to keep the writer busy.
    auto opened = RocksDbEventStore::Open({.path = path, .sync = false, .max_batch_events = 4096});
    if (!opened.ok()) std::exit(1);
    RocksDbEventStore& store = **opened;
    auto t0 = Clock::now();
    std::atomic<uint64_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        for (;;) {
          uint64_t first = next.fetch_add(kMaxEventsPerAppend);
          if (first >= n) break;
          size_t count = static_cast<size_t>(std::min<uint64_t>(kMaxEventsPerAppend, n - first));
          auto r = store.Append(BenchAppend("account-" + std::to_string(first % 97), first, count));
          if (!r.ok()) std::exit(1);
        }
        (void)t;
      });
    }
    for (auto& th : threads) th.join();
    f.build_s = Seconds(Clock::now() - t0);
  }
  // Reopen: recovery flushes the tail, so replay reads SST files as after a restart.
  auto scan = [&](bool pipelined) {
    auto opened = RocksDbEventStore::Open({.path = path, .pipelined_scan = pipelined});
    if (!opened.ok()) std::exit(1);
    RocksDbEventStore& store = **opened;
    return Rate(n, [&] {
      uint64_t seen = 0, sum = 0;
      Status st = store.Scan(1, 0, [&](const events::RecordedEvent& e) {
        ++seen;
        sum += e.envelope.version;
        return true;
      });
      if (!st.ok()) {
        std::fprintf(stderr, "%s\n", st.ToString().c_str());
        std::exit(1);
      }
      return seen + (sum == 0 ? 1 : 0);
    });
  };
  f.scan_serial = scan(false);
  f.scan = scan(true);
  auto opened = RocksDbEventStore::Open({.path = path});
  if (!opened.ok()) std::exit(1);
  RocksDbEventStore& store = **opened;
  f.verify = Rate(n, [&] {
    ChainVerifier verifier;
    Status st = store.ScanRaw(1, 0, [&](uint64_t p, std::string_view c, const Hash256& h) {
      return verifier.Check(p, c, h);
    });
    if (!st.ok() || !verifier.Report().ok) std::exit(1);
    return verifier.Report().checked;
  });
  opened->reset();

  // Raw: the same events column family through a plain read-only iterator.
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok()) std::exit(1);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descriptors, &handles, &raw).ok()) {
    std::exit(1);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* events_cf = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == keys::kEventsCf) events_cf = handles[i];
  }
  // The LSM shape both sides read (it differs from run to run: flushes and compactions
  // of the unsynced build are timed by RocksDB), e.g. "L0 3, L1 5".
  for (int level = 0; level < 7; ++level) {
    std::string files;
    if (!db->GetProperty(events_cf, "rocksdb.num-files-at-level" + std::to_string(level), &files) ||
        files == "0") {
      continue;
    }
    f.shape += (f.shape.empty() ? "L" : ", L") + std::to_string(level) + " " + files;
  }
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 4 << 20;
  f.raw_iter = Rate(n, [&] {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, events_cf));
    uint64_t seen = 0, bytes = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++seen;
      bytes += it->value().size() + it->key()[7];
    }
    return seen + (bytes == 0 ? 1 : 0);
  });
  f.raw_decode = Rate(n, [&] {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, events_cf));
    uint64_t seen = 0;
    std::vector<uint64_t> aligned;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rocksdb::Slice v = it->value();
      Hash256 stored;
      std::memcpy(stored.data(), v.data(), 32);
      aligned.resize((v.size() - 32 + 7) / 8);
      std::memcpy(aligned.data(), v.data() + 32, v.size() - 32);
      std::string_view canonical(reinterpret_cast<const char*>(aligned.data()), v.size() - 32);
      auto rec = events::DecodeRecorded(canonical, stored);
      if (!rec.ok() || events::ChainHash(rec->envelope.prev_hash, canonical) != stored)
        std::exit(1);
      ++seen;
    }
    return seen;
  });
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db->Close().PermitUncheckedError();
  return f;
}

int Main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  std::string base = args.dir;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = std::string(tmp && *tmp ? tmp : "/tmp") + "/roster-storage-bench-" +
           std::to_string(::getpid());
  }
  std::filesystem::create_directories(base);

  // The stored value size of one bench event, for the raw baselines.
  AppendRequest sample = BenchAppend("account-0", 1);
  Hash256 prev{};
  auto sealed = Seal(sample, 1, 1, 1'790'000'000'000'000, &prev);
  const size_t value_size = keys::kHashBytes + sealed[0].canonical.size();

  std::printf("Roster storage benchmark (issue 2)\n");
  std::printf("machine: %s, nproc %u; load average at start %s; data dir %s\n",
              CpuModel().c_str(), std::thread::hardware_concurrency(), LoadAverage().c_str(),
              base.c_str());
  std::printf(
      "event: %zu canonical bytes + 32-byte hash = %zu-byte value; append phases %.1f s\n\n",
      sealed[0].canonical.size(), value_size, args.seconds);
  std::fflush(stdout);

  if (args.appenders > 0) {
    AppendFigures f = args.async ? StoreAsyncAppends(base + "/a", args.appenders, args.seconds)
                                 : StoreAppends(base + "/a", args.appenders, args.seconds);
    std::filesystem::remove_all(base);
    std::printf("store, %d %s: %.0f events/s, p50 %.0f us, p99 %.0f us, %.1f appends/group, "
                "%.1f us CPU and %.2f context switches per append\n",
                args.appenders, args.async ? "async appends in flight" : "appenders",
                f.events_per_s, f.p50_us, f.p99_us, f.avg_group, f.cpu_us,
                f.switches);
    return 0;
  }

  // Per round; the table shows the median of the rounds.
  std::vector<AppendFigures> ones, eights, sixty_fours, asyncs;
  std::vector<double> raw64s, raw_p50s, raw_p99s, rate_ratios, latency_ratios, async_ratios;
  if (args.appends) {
    for (int r = 0; r < args.rounds; ++r) {
      ones.push_back(StoreAppends(base + "/a1", 1, args.seconds));
      auto [p50, p99] = RawSingleLatency(base + "/raw1", value_size, args.seconds);
      raw_p50s.push_back(p50);
      raw_p99s.push_back(p99);
      sixty_fours.push_back(StoreAppends(base + "/a64", 64, args.seconds));
      raw64s.push_back(RawBatchedRate(base + "/raw64", value_size, 64, args.seconds));
      asyncs.push_back(StoreAsyncAppends(base + "/x64", 64, args.seconds));
      eights.push_back(StoreAppends(base + "/a8", 8, args.seconds));
      rate_ratios.push_back(sixty_fours.back().events_per_s / raw64s.back());
      async_ratios.push_back(asyncs.back().events_per_s / raw64s.back());
      latency_ratios.push_back(ones.back().p50_us / raw_p50s.back());
      std::printf("round %d: 1 appender p50 %.0f us / raw single write p50 %.0f us = %.2f; "
                  "64 appenders %.0f/s / raw 64-batch %.0f/s = %.2f (64 async in flight %.0f/s = "
                  "%.2f); load average %s\n",
                  r + 1, ones.back().p50_us, p50, latency_ratios.back(),
                  sixty_fours.back().events_per_s, raw64s.back(), rate_ratios.back(),
                  asyncs.back().events_per_s, async_ratios.back(), LoadAverage().c_str());
      std::fflush(stdout);
    }
    std::printf("\n");
  }
  ReplayFigures replay;
  if (args.replay) replay = Replay(base + "/replay", args.replay_events);
  std::filesystem::remove_all(base);

  bool missed = false;
  auto verdict = [&](bool ok) {
    missed |= !ok;
    return ok ? "met" : "MISSED";
  };
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // The round whose figure is the median, field by field.
  auto median_figures = [&](const std::vector<AppendFigures>& rounds) {
    AppendFigures m;
    auto field = [&](double AppendFigures::*f) {
      std::vector<double> v;
      for (const auto& r : rounds) v.push_back(r.*f);
      m.*f = median(v);
    };
    for (auto f : {&AppendFigures::events_per_s, &AppendFigures::p50_us, &AppendFigures::p99_us,
                   &AppendFigures::avg_group, &AppendFigures::cpu_us, &AppendFigures::switches}) {
      field(f);
    }
    return m;
  };
  auto list = [](const std::vector<double>& v) {
    std::string out;
    char buf[32];
    for (double x : v) {
      std::snprintf(buf, sizeof buf, "%s%.2f", out.empty() ? "" : ", ", x);
      out += buf;
    }
    return out;
  };
  const AppendFigures one = median_figures(ones), eight = median_figures(eights),
                      sixty_four = median_figures(sixty_fours), async64 = median_figures(asyncs);
  const double ratio_async = median(async_ratios);
  const double raw64 = median(raw64s), raw_p50 = median(raw_p50s), raw_p99 = median(raw_p99s);
  const double ratio_rate = median(rate_ratios);
  const double ratio_latency = median(latency_ratios);
  const double replay_vs_raw = replay.scan.per_s / replay.raw_iter.per_s;
  const double replay_vs_raw_decode = replay.scan.per_s / replay.raw_decode.per_s;

  std::printf("| measurement (append figures: median of %d rounds) | figure | target |\n|---|---|---|\n",
              args.appends ? args.rounds : 0);
  if (args.appends) {
    auto store_row = [](int n, const AppendFigures& f) {
      std::printf("| store, %d appender%s | %.0f events/s, p50 %.0f us, p99 %.0f us, "
                  "%.1f appends/group, %.1f us CPU and %.2f context switches per append | |\n",
                  n, n == 1 ? "" : "s", f.events_per_s, f.p50_us, f.p99_us, f.avg_group, f.cpu_us,
                  f.switches);
    };
    store_row(1, one);
    store_row(8, eight);
    store_row(64, sixty_four);
    std::printf("| store, 64 appends in flight via AppendAsync (no thread per append) | %.0f "
                "events/s, p50 %.0f us, p99 %.0f us, %.1f appends/group, %.1f us CPU and %.2f "
                "context switches per append | |\n",
                async64.events_per_s, async64.p50_us, async64.p99_us, async64.avg_group,
                async64.cpu_us, async64.switches);
    std::printf("| raw RocksDB, synced batches of 64 | %.0f events/s | |\n", raw64);
    std::printf("| raw RocksDB, single synced write | p50 %.0f us, p99 %.0f us | |\n", raw_p50,
                raw_p99);
    std::printf("| 64 appenders / raw 64-batch rate (median of rounds: %s) | %.2f | >= 0.5 %s |\n",
                list(rate_ratios).c_str(), ratio_rate, verdict(ratio_rate >= 0.5));
    std::printf("| 64 in-flight AppendAsync / raw 64-batch rate (median of rounds: %s) | %.2f | "
                ">= 0.5 %s |\n",
                list(async_ratios).c_str(), ratio_async, ratio_async >= 0.5 ? "met" : "missed");
    std::printf("| 1 appender p50 / raw single write p50 (median of rounds: %s) | %.2f | <= 1.5 %s |\n",
                list(latency_ratios).c_str(), ratio_latency, verdict(ratio_latency <= 1.5));
  }
  if (args.replay) {
    std::printf("| replay build (%llu events, unsynced) | %.1f s; events SST files: %s | |\n",
                static_cast<unsigned long long>(args.replay_events), replay.build_s,
                replay.shape.c_str());
    auto row = [](const char* what, const ScanFigure& f, const char* target) {
      std::printf("| %s | %.0f events/s (%.2f us CPU/event) | %s |\n", what, f.per_s, f.cpu_us,
                  target);
    };
    row("replay: store Scan, pipelined (decode + hash verify)", replay.scan,
        replay.scan.per_s >= 1e6 ? ">= 1000000 met" : (missed = true, ">= 1000000 MISSED"));
    row("replay: store Scan, one thread", replay.scan_serial, "");
    row("replay: ScanRaw + ChainVerifier (Verify path)", replay.verify, "");
    row("raw iterator, no decoding", replay.raw_iter, "");
    row("raw iterator + DecodeRecorded + ChainHash, one thread", replay.raw_decode, "");
    std::printf("| Scan / raw iterator | %.2f | >= 0.5 %s |\n", replay_vs_raw,
                verdict(replay_vs_raw >= 0.5));
    std::printf("| Scan / raw iterator doing the same decoding | %.2f | |\n", replay_vs_raw_decode);
  }
  return args.strict && missed ? 1 : 0;
}

}  // namespace
}  // namespace roster::storage

int main(int argc, char** argv) { return roster::storage::Main(argc, argv); }
