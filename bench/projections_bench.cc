// Projections benchmark (issue 4): on a generated ledger (default 1M events, 10k accounts,
// 100k workspace members, churn on top), measures
//   - full rebuild speed (events/s), and the store's decode share of it;
//   - memory per membership (RSS delta of the projection state / memberships);
//   - live check latency p50/p99 (target p99 <= 5 us);
//   - as-of check latency p50/p99, by position and by time (target p99 <= 50 us);
//   - who-has-permission latency;
//   - an audit page of 100 entries with a workspace filter (target <= 5 ms);
//   - snapshot size, save and load times (and how much of the save held the projector).
// Plain executable with its own timing; prints a table. `make bench` runs it.
//
//   projections_bench [--events=N] [--accounts=N] [--members=N] [--samples=N] [--strict]
//                     [--apply-only | --rebuild-only] [--rebuilds=N]
//
// $ROSTER_BENCH_PROJ_EVENTS also sets --events (e.g. 100000 for a quick run; accounts and
// members then scale down by the same factor unless given). --strict exits 1 when a target
// is missed (default: report only, the machine is shared).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <vector>

#include "events/codec.h"
#include "projections/big_alloc.h"
#include "projections/engine.h"
#include "projections/warm_arena.h"
#include "storage/memory_store.h"

namespace roster::projections {
namespace {

using SteadyClock = std::chrono::steady_clock;
namespace ev = roster::events;

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }
double ToMicros(SteadyClock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// CPU time of the calling thread: robust to other processes on a shared machine.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// System (kernel) CPU seconds of the calling thread: page faults and zeroing show up here.
double ThreadSysSeconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) * 1e-6;
}

// Minor page faults of the calling thread so far (each first touch of a page).
long MinorFaults() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_minflt;
}

// Anonymous memory in transparent huge pages (projections/big_alloc.h), KiB.
size_t AnonHugeKiB() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("AnonHugePages:", 0) == 0) return std::strtoull(line.c_str() + 14, nullptr, 10);
  }
  return 0;
}

// Live bytes in objects the process has allocated: jemalloc's stats.allocated (the
// benches link jemalloc; 0 without it). Unlike RSS, not inflated by what the allocator
// caches or the warm arena has populated ahead.
extern "C" int mallctl(const char*, void*, size_t*, void*, size_t) __attribute__((weak));
size_t AllocatedBytes() {
  size_t allocated = 0;
  if (mallctl != nullptr) {
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    (void)mallctl("epoch", &epoch, &len, &epoch, len);  // refreshes the statistics
    len = sizeof(allocated);
    if (mallctl("stats.allocated", &allocated, &len, nullptr, 0) != 0) allocated = 0;
  }
  return allocated;
}

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

struct Args {
  uint64_t events = 1'000'000;
  uint64_t accounts = 0;  // 0: events / 100
  uint64_t members = 0;   // 0: events / 10
  size_t samples = 200'000;
  int rebuilds = 1;  // --rebuilds=N repeats the rebuild (profiling)
  bool strict = false;
  bool apply_only = false;  // --apply-only: only the per-projector apply split (profiling)
  bool rebuild_only = false;  // --rebuild-only: only the full rebuild, --rebuilds times
};

Args Parse(int argc, char** argv) {
  Args a;
  if (const char* env = std::getenv("ROSTER_BENCH_PROJ_EVENTS")) {
    a.events = std::strtoull(env, nullptr, 10);
  }
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](const char* flag) -> const char* {
      size_t n = std::strlen(flag);
      return s.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
    };
    if (const char* v = value("--events=")) a.events = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("--accounts=")) a.accounts = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("--members=")) a.members = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("--samples=")) a.samples = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("--rebuilds=")) a.rebuilds = std::atoi(v);
    else if (s == "--strict") a.strict = true;
    else if (s == "--apply-only") a.apply_only = true;
    else if (s == "--rebuild-only") a.rebuild_only = true;
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      std::exit(2);
    }
  }
  if (a.accounts == 0) a.accounts = std::max<uint64_t>(10, a.events / 100);
  if (a.members == 0) a.members = std::max<uint64_t>(100, a.events / 10);
  return a;
}

// ---- The generated ledger ----

struct Member {
  uint32_t account, ws, user;
  std::string role;
  bool live = true;
};

class Generator {
 public:
  Generator(storage::MemoryEventStore& store, ManualClock& clock, const Args& args)
      : store_(store), clock_(clock), args_(args), rng_(42) {}

  void Run() {
    const uint64_t n_accounts = args_.accounts;
    // Accounts: the owner plus one more account member; two workspaces each (one standard,
    // one orders). Every 10th account is a partner account.
    for (uint64_t a = 0; a < n_accounts; ++a) {
      std::string id = Account(a);
      std::string owner = "owner" + std::to_string(a);
      Append(id, ev::AccountOpened{id, "Account " + std::to_string(a),
                                   a % 10 == 9 ? "partner" : "standard", a % 3 ? "global" : "eu",
                                   owner, Key(owner), Subject(owner)},
             "service");
      std::string admin = "admin" + std::to_string(a);
      Append(id, ev::AccountMemberAdded{admin, Key(admin), Subject(admin), "admin"},
             "user:" + owner);
      Append(id, ev::WorkspaceCreated{Ws(a, 0), "Catalogue " + std::to_string(a), "standard",
                                      7 * 24 * 3600},
             "user:" + owner);
      Append(id, ev::WorkspaceCreated{Ws(a, 1), "Orders " + std::to_string(a), "orders",
                                      72 * 3600},
             "user:" + owner);
      account_members_ += 2;
    }
    // Members: invited and accepted, spread over workspaces.
    static const char* kStandard[] = {"admin", "editor", "viewer"};
    static const char* kOrders[] = {"reviewer", "approver", "admin"};
    for (uint64_t m = 0; m < args_.members; ++m) {
      uint32_t account = static_cast<uint32_t>(Pick(n_accounts));
      uint32_t ws = static_cast<uint32_t>(Pick(2));
      std::string role = ws == 0 ? kStandard[Pick(3)] : kOrders[Pick(3)];
      std::string user = "u" + std::to_string(m);
      std::string inv = "inv" + std::to_string(m);
      std::string acct = Account(account), wsid = Ws(account, ws);
      Append(acct,
             ev::InviteSent{wsid, inv, Key(user), Subject(user), role, {}, {},
                            ev::Bytes{std::string(32, 't')}, clock_.Now() + 7 * kDay},
             "user:admin" + std::to_string(account));
      Append(acct, ev::InviteAccepted{wsid, inv, user, Key(user), Subject(user), role, {}, {}},
             "user:" + user);
      members_.push_back(Member{account, ws, static_cast<uint32_t>(m), role});
    }
    // Churn until the ledger holds `events`: role changes, overrides, scopes, removals and
    // re-joins, invitations that expire or get cancelled, links, partners, shares. A tenth
    // of the members get most of it (hot spots).
    uint64_t partner_seq = 0;
    while (position_ < args_.events) {
      size_t index = Pick(10) < 5 ? Pick(members_.size() / 10 + 1) : Pick(members_.size());
      Member& m = members_[index];
      std::string acct = Account(m.account), wsid = Ws(m.account, m.ws);
      std::string user = "u" + std::to_string(m.user);
      std::string admin = "user:admin" + std::to_string(m.account);
      uint64_t kind = Pick(100);
      if (!m.live) {
        Append(acct, ev::LinkJoined{wsid, user, Key(user), Subject(user), m.role}, "user:" + user);
        m.live = true;
      } else if (kind < 40) {
        std::string to = m.ws == 0 ? kStandard[Pick(3)] : kOrders[Pick(3)];
        Append(acct, ev::RoleChanged{wsid, user, m.role, to}, admin);
        m.role = to;
      } else if (kind < 50) {
        ev::AccessMap access;
        if (Pick(2)) access[m.ws == 0 ? "products" : "orders"] = Pick(2) ? "view" : "manage";
        Append(acct, ev::AccessChanged{wsid, user, access}, admin);
      } else if (kind < 58) {
        ev::Scope scope;
        if (Pick(2)) scope.markets = {Pick(2) ? "DE" : "FR"};
        Append(acct, ev::ScopeChanged{wsid, user, scope}, admin);
      } else if (kind < 66) {
        Append(acct, ev::MemberRemoved{wsid, user, m.role}, admin);
        m.live = false;
      } else if (kind < 82) {
        std::string inv = "x" + std::to_string(position_);
        std::string guest = "g" + std::to_string(position_);
        Append(acct,
               ev::InviteSent{wsid, inv, Key(guest), Subject(guest), m.role, {}, {},
                              ev::Bytes{std::string(32, 't')}, clock_.Now() + 3 * kDay},
               admin);
        if (Pick(2)) Append(acct, ev::InviteCancelled{wsid, inv}, admin);
      } else if (kind < 88) {
        if (Pick(2)) {
          Append(acct, ev::LinkCreated{wsid, "viewer", ev::Bytes{"h"}}, admin);
        } else {
          Append(acct, ev::LinkRegenerated{wsid, ev::Bytes{"h2"}}, admin);
        }
      } else if (kind < 96) {
        uint64_t pa = (Pick(n_accounts / 10 + 1) * 10 + 9) % n_accounts;
        if (pa % 10 != 9) pa = 9 % n_accounts;
        std::string pid = "p" + std::to_string(partner_seq++);
        Append(acct, ev::PartnerInvited{Ws(m.account, 0), pid, Account(pa), "download", {"s1", "s2"}},
               admin);
        Append(acct, ev::PartnerAccepted{Ws(m.account, 0), pid, "owner" + std::to_string(pa)},
               "user:owner" + std::to_string(pa));
        if (Pick(3) == 0) Append(acct, ev::PartnerSuspended{Ws(m.account, 0), pid, "audit"}, admin);
      } else {
        uint64_t other = Pick(n_accounts);
        Append(acct,
               ev::SharedAccessGranted{"owner" + std::to_string(other), Account(other), Pick(2) == 0,
                                       {Ws(m.account, 0)}, Pick(2) == 0},
               "user:owner" + std::to_string(m.account));
      }
    }
  }

  const std::vector<Member>& members() const { return members_; }
  uint64_t account_members() const { return account_members_; }
  static std::string Account(uint64_t a) { return "a" + std::to_string(a); }
  static std::string Ws(uint64_t a, uint64_t w) { return "w" + std::to_string(a) + "_" + std::to_string(w); }
  uint64_t Pick(uint64_t n) { return n == 0 ? 0 : std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

 private:
  static constexpr Micros kDay = 24 * 3600 * kMicrosPerSecond;

  events::Bytes Key(const std::string& user) {
    return ev::Bytes{std::string(AsBytes(HmacSha256(store_.LedgerSecret(), user + "@ex.io")))};
  }
  std::string Subject(const std::string& user) {
    return *store_.Vault().SubjectFor(Key(user), user + "@ex.io");
  }
  void Append(const std::string& account, const ev::Event& e, const std::string& actor) {
    clock_.Advance(1000);  // 1 ms per event
    storage::AppendRequest req;
    req.stream = "account-" + account;
    req.actor = actor;
    req.events.push_back({ev::TypeOf(e), ev::EncodeEvent(e)});
    auto r = store_.Append(std::move(req));
    if (!r.ok()) {
      std::fprintf(stderr, "append failed: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
    position_ = r->last_position;
  }

  storage::MemoryEventStore& store_;
  ManualClock& clock_;
  const Args& args_;
  std::mt19937_64 rng_;
  std::vector<Member> members_;
  uint64_t account_members_ = 0;
  uint64_t position_ = 0;
};

struct Stats {
  double p50 = 0, p99 = 0, max = 0;
  double best_round_p99 = 0;  // the lowest p99 of 5 equal rounds (load bursts on a shared box)
  std::vector<double> round_p99;  // each round's p99, in order
};

Stats Percentiles(std::vector<double>& us) {
  if (us.empty()) return {};
  Stats s;
  const size_t rounds = 5, per = us.size() / rounds;
  s.best_round_p99 = 1e300;
  for (size_t r = 0; r < rounds && per > 0; ++r) {
    std::vector<double> part(us.begin() + static_cast<long>(r * per),
                             us.begin() + static_cast<long>((r + 1) * per));
    std::sort(part.begin(), part.end());
    s.round_p99.push_back(part[part.size() * 99 / 100]);
    s.best_round_p99 = std::min(s.best_round_p99, s.round_p99.back());
  }
  std::sort(us.begin(), us.end());
  s.p50 = us[us.size() / 2];
  s.p99 = us[us.size() * 99 / 100];
  s.max = us.back();
  if (per == 0) s.best_round_p99 = s.p99;
  return s;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

bool Report(const char* what, const Stats& s, double target_p99, const char* unit = "us") {
  bool ok = target_p99 <= 0 || s.p99 <= target_p99;
  std::printf("  %-40s p50 %8.2f %s  p99 %8.2f %s (best round %8.2f)  max %9.1f %s  %s\n", what,
              s.p50, unit, s.p99, unit, s.best_round_p99, s.max, unit,
              target_p99 <= 0 ? "" : (ok ? "(target met)" : "(TARGET MISSED)"));
  std::printf("    p99 per round:");
  for (double r : s.round_p99) std::printf(" %.2f", r);
  std::printf(" %s; load average %s\n", unit, LoadAverage().c_str());
  return ok;
}

// Where the apply time goes: decoded events (in memory) applied to each projector prefix,
// on this thread, `rounds` times (--apply-only repeats it for profiling).
void ApplySplit(const storage::EventStore& store, uint64_t head, int rounds) {
  std::vector<ev::RecordedEvent> decoded;
  decoded.reserve(head);
  (void)store.Scan(1, 0, [&](const ev::RecordedEvent& r) {
    decoded.push_back(r);
    return true;
  });
  const char* names[] = {"catalog", "+access", "+team", "+audit"};
  for (int round = 0; round < rounds; ++round) {
    double prev = 0;
    for (int upto = 0; upto < 4; ++upto) {
      auto state = std::make_unique<State>();
      double c = ThreadCpuSeconds();
      state->BeginBulk(head);  // as the engine's catch-up does
      for (const auto& r : decoded) {
        EventIds ids = state->catalog.Apply(r);
        if (upto >= 1) state->access.Apply(r, state->catalog, ids);
        if (upto >= 2) state->team.Apply(r, state->catalog, state->access, ids);
        if (upto >= 3) state->audit.Apply(r, state->catalog, ids);
      }
      state->EndBulk();  // seals the audit position lists: part of the cost
      double spent = ThreadCpuSeconds() - c;
      std::printf("    apply %-8s %.2f us/event (%+.2f)\n", names[upto],
                  spent * 1e6 / static_cast<double>(head),
                  (spent - prev) * 1e6 / static_cast<double>(head));
      prev = spent;
    }
  }
}

int Main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  std::printf("load average at the start: %s\n", LoadAverage().c_str());
  std::printf("projections_bench: %llu events, %llu accounts, %llu members, %zu samples\n",
              static_cast<unsigned long long>(args.events),
              static_cast<unsigned long long>(args.accounts),
              static_cast<unsigned long long>(args.members), args.samples);
  ManualClock clock(1'790'000'000'000'000);
  storage::MemoryEventStore store(&clock);
  Generator gen(store, clock, args);
  auto t0 = SteadyClock::now();
  gen.Run();
  uint64_t head = store.GetHead().position;
  std::printf("  generated %llu events in %.1f s\n", static_cast<unsigned long long>(head),
              Seconds(SteadyClock::now() - t0));
  bool all_ok = true;
  if (args.apply_only) {
    ApplySplit(store, head, args.rebuilds);
    return 0;
  }
  if (args.rebuild_only) {  // profiling the pipelined rebuild: nothing else after generation
    for (int i = 0; i < std::max(1, args.rebuilds); ++i) {
      Engine engine(store, {.snapshots = false});
      t0 = SteadyClock::now();
      double c = ThreadCpuSeconds();
      double sys = ThreadSysSeconds();
      long faults = MinorFaults();
      if (!engine.CatchUp().ok()) return 1;
      double wall = Seconds(SteadyClock::now() - t0), cpu = ThreadCpuSeconds() - c;
      sys = ThreadSysSeconds() - sys;
      faults = MinorFaults() - faults;
      auto warm = projections::warm_arena::GetStats();
      std::printf("  rebuild %d: %.2f s wall = %.0f events/s; projector %.2f us/event cpu "
                  "(%.2f in the kernel) = %.0f events/cpu-s; %ld page faults on it; warm arena "
                  "%s: %.0f MiB populated ahead, %.0f MiB handed out (%.0f not populated yet), %llu cold "
                  "mappings; RSS %.0f MiB (%.0f MiB in huge "
                  "pages); load average %s\n",
                  i + 1, wall, static_cast<double>(head) / wall,
                  cpu * 1e6 / static_cast<double>(head), sys * 1e6 / static_cast<double>(head),
                  static_cast<double>(head) / cpu, faults,
                  projections::warm_arena::Available() ? "on" : "off (ROSTER_WARM_ARENA=on, with jemalloc)",
                  static_cast<double>(warm.bytes_populated) / (1 << 20),
                  static_cast<double>(warm.bytes_handed_out) / (1 << 20),
                  static_cast<double>(warm.bytes_handed_cold) / (1 << 20),
                  static_cast<unsigned long long>(warm.chunks_cold),
                  static_cast<double>(RssBytes()) / (1 << 20),
                  static_cast<double>(AnonHugeKiB()) / 1024, LoadAverage().c_str());
    }
    return 0;
  }

  // Decode share: scanning the store alone.
  t0 = SteadyClock::now();
  double c0 = ThreadCpuSeconds();
  uint64_t scanned = 0;
  (void)store.Scan(1, 0, [&](const ev::RecordedEvent&) {
    ++scanned;
    return true;
  });
  double scan_s = Seconds(SteadyClock::now() - t0), scan_cpu = ThreadCpuSeconds() - c0;

  // Full rebuild (the engine reads the store in chunks and applies on this thread).
  size_t rss_before = RssBytes(), allocated_before = AllocatedBytes();
  size_t big_before = projections::big_mapped_bytes.load();
  Engine engine(store, {.snapshots = false});
  t0 = SteadyClock::now();
  c0 = ThreadCpuSeconds();
  if (!engine.CatchUp().ok()) return 1;
  double rebuild_s = Seconds(SteadyClock::now() - t0), rebuild_cpu = ThreadCpuSeconds() - c0;
  size_t rss_after = RssBytes(), allocated_after = AllocatedBytes();
  size_t big_after = projections::big_mapped_bytes.load();
  double rate = static_cast<double>(head) / rebuild_s;
  double cpu_rate = static_cast<double>(head) / rebuild_cpu;
  bool rebuild_ok = cpu_rate >= 500'000;
  all_ok &= rebuild_ok;
  std::printf("  store scan+decode alone: %.2f s wall, %.2f s cpu (%.0f events/cpu-s)\n", scan_s,
              scan_cpu, static_cast<double>(scanned) / scan_cpu);
  std::printf("  full rebuild: %.2f s wall = %.0f events/s; %.2f s cpu = %.0f events/cpu-s  %s\n",
              rebuild_s, rate, rebuild_cpu, cpu_rate,
              rebuild_ok ? "(target >= 500k/s met)" : "(TARGET >= 500k/s MISSED)");
  for (int i = 1; i < args.rebuilds; ++i) {  // for profiling the apply path
    Engine again(store, {.snapshots = false});
    if (!again.CatchUp().ok()) return 1;
  }
  uint64_t memberships = gen.members().size() + gen.account_members();
  double delta_mb = static_cast<double>(rss_after - rss_before) / (1 << 20);
  std::printf("  projection RSS: grew %.1f MiB for %llu memberships = %.0f bytes/membership "
              "(whole state incl. audit index of %llu events%s)\n",
              delta_mb, static_cast<unsigned long long>(memberships),
              static_cast<double>(rss_after - rss_before) / static_cast<double>(memberships),
              static_cast<unsigned long long>(head),
              mallctl != nullptr ? "; with jemalloc's cached pages and the warm arena's chunks "
                                   "populated ahead"
                                 : "");
  if (mallctl != nullptr) {
    std::printf("    of which objects (jemalloc stats.allocated) %.1f MiB = %.0f bytes/membership; "
                "big arrays mapped %.1f MiB (capacity; pages count in RSS as touched)\n",
                static_cast<double>(allocated_after - allocated_before) / (1 << 20),
                static_cast<double>(allocated_after - allocated_before) /
                    static_cast<double>(memberships),
                static_cast<double>(big_after - big_before) / (1 << 20));
  }

  std::mt19937_64 rng(7);
  auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  const auto& members = gen.members();
  static const char* kPerms[] = {"products.edit", "content.view", "team.manage", "orders.approve",
                                 "billing.view", "orders.view"};

  // Live checks: members (hits and misses by permission), a few unknown principals.
  struct Query {
    std::string user, ws, perm;
  };
  std::vector<Query> queries;
  queries.reserve(args.samples);
  for (size_t i = 0; i < args.samples; ++i) {
    const Member& m = members[pick(members.size())];
    std::string user = pick(20) == 0 ? "nobody" + std::to_string(i % 100)
                                     : "u" + std::to_string(m.user);
    queries.push_back({user, Generator::Ws(m.account, m.ws), kPerms[pick(6)]});
  }
  std::vector<double> us;
  us.reserve(args.samples);
  size_t allowed = 0;
  // Page faults and kernel time of this thread over the first fifth of the live checks and
  // over the rest: a slow first round after a rebuild is told apart from a cold cache.
  long check_faults[2] = {MinorFaults(), 0};
  double check_sys[2] = {ThreadSysSeconds(), 0};
  for (size_t i = 0; i < queries.size(); ++i) {
    if (i == queries.size() / 5) {
      check_faults[0] = MinorFaults() - check_faults[0];
      check_sys[0] = ThreadSysSeconds() - check_sys[0];
      check_faults[1] = MinorFaults();
      check_sys[1] = ThreadSysSeconds();
    }
    const auto& q = queries[i];
    auto s = SteadyClock::now();
    Decision d = engine.Check(q.user, q.perm, q.ws);
    auto e = SteadyClock::now();
    allowed += d.allowed;
    us.push_back(ToMicros(e - s));
  }
  check_faults[1] = MinorFaults() - check_faults[1];
  check_sys[1] = ThreadSysSeconds() - check_sys[1];
  std::printf("  (live checks: first fifth %ld page faults, %.0f ms in the kernel; the rest %ld, "
              "%.0f ms)\n",
              check_faults[0], check_sys[0] * 1e3, check_faults[1], check_sys[1] * 1e3);
  std::printf("  (live checks: %.0f%% allowed)\n", 100.0 * static_cast<double>(allowed) /
                                                      static_cast<double>(queries.size()));
  Stats live = Percentiles(us);
  all_ok &= Report("live check", live, 5);

  // As-of checks by position and by time.
  us.clear();
  allowed = 0;
  for (const auto& q : queries) {
    uint64_t p = 1 + pick(head);
    auto s = SteadyClock::now();
    Decision d = engine.Check(q.user, q.perm, q.ws, {}, AsOf::Position(p));
    auto e = SteadyClock::now();
    allowed += d.allowed;
    us.push_back(ToMicros(e - s));
  }
  Stats asof = Percentiles(us);
  all_ok &= Report("as-of check (at_position)", asof, 50);
  us.clear();
  Micros t_start = 1'790'000'000'000'000, t_end = clock.Now();
  for (const auto& q : queries) {
    Micros t = t_start + static_cast<Micros>(pick(static_cast<uint64_t>(t_end - t_start)));
    auto s = SteadyClock::now();
    Decision d = engine.Check(q.user, q.perm, q.ws, {}, AsOf::Time(t));
    auto e = SteadyClock::now();
    allowed += d.allowed;
    us.push_back(ToMicros(e - s));
  }
  Stats asof_t = Percentiles(us);
  all_ok &= Report("as-of check (at=time)", asof_t, 50);

  // Who has a permission (live and as of a position).
  us.clear();
  size_t who_samples = std::min<size_t>(args.samples / 10, 20'000);
  size_t holders = 0;
  for (size_t i = 0; i < who_samples; ++i) {
    uint64_t a = pick(args.accounts);
    std::string ws = Generator::Ws(a, pick(2));
    auto s = SteadyClock::now();
    auto r = engine.WhoHas(ws, kPerms[pick(6)]);
    auto e = SteadyClock::now();
    if (r.ok()) holders += r->principals.size();
    us.push_back(ToMicros(e - s));
  }
  Stats who = Percentiles(us);
  Report("who-has-permission (live)", who, 0);
  std::printf("    (%.1f holders per answer)\n",
              static_cast<double>(holders) / static_cast<double>(who_samples));
  us.clear();
  for (size_t i = 0; i < who_samples; ++i) {
    uint64_t a = pick(args.accounts);
    std::string ws = Generator::Ws(a, pick(2));
    auto s = SteadyClock::now();
    auto r = engine.WhoHas(ws, kPerms[pick(6)], {}, AsOf::Position(1 + pick(head)));
    auto e = SteadyClock::now();
    us.push_back(ToMicros(e - s));
  }
  Report("who-has-permission (at_position)", Percentiles(us), 0);

  // User access (every workspace of a user).
  us.clear();
  for (size_t i = 0; i < who_samples; ++i) {
    const Member& m = members[pick(members.size())];
    auto s = SteadyClock::now();
    auto r = engine.UserAccess("u" + std::to_string(m.user));
    auto e = SteadyClock::now();
    us.push_back(ToMicros(e - s));
  }
  Report("user access (live)", Percentiles(us), 0);

  // Audit pages of 100 entries with a workspace filter, from a random cursor, on the
  // busiest workspaces (hot spots have the most entries).
  us.clear();
  size_t entries = 0;
  size_t audit_samples = std::min<size_t>(args.samples / 100, 2'000);
  for (size_t i = 0; i < audit_samples; ++i) {
    const Member& m = members[pick(members.size() / 10 + 1)];
    std::string ws = Generator::Ws(m.account, m.ws);
    PageRequest page{100, i % 2 ? EncodeCursor(1 + pick(head / 2)) : ""};
    auto s = SteadyClock::now();
    auto r = engine.Audit(AuditFilter{.workspace = ws}, page);
    auto e = SteadyClock::now();
    if (r.ok()) entries += r->entries.size();
    us.push_back(ToMicros(e - s) / 1000.0);
  }
  Stats audit = Percentiles(us);
  all_ok &= Report("audit page (limit 100, workspace filter)", audit, 5, "ms");
  std::printf("    (%.1f entries per page)\n",
              static_cast<double>(entries) / static_cast<double>(audit_samples));
  us.clear();
  for (size_t i = 0; i < audit_samples; ++i) {
    PageRequest page{100, EncodeCursor(1 + pick(head))};
    auto s = SteadyClock::now();
    auto r = engine.Audit(AuditFilter{.type = "RoleChanged"}, page);
    auto e = SteadyClock::now();
    us.push_back(ToMicros(e - s) / 1000.0);
  }
  Report("audit page (limit 100, type filter)", Percentiles(us), 5, "ms");

  // Snapshots.
  t0 = SteadyClock::now();
  if (!engine.SaveSnapshot().ok()) return 1;
  double save_s = Seconds(SteadyClock::now() - t0);
  uint64_t snap_pos = 0;
  auto bytes = store.GetSnapshot("projections", &snap_pos);
  t0 = SteadyClock::now();
  auto loaded = State::Deserialize(*bytes);
  double load_s = Seconds(SteadyClock::now() - t0);
  // The projector waits only for the serialization; the checksum and the store's write
  // come after (on a thread of their own for a due snapshot in rosterd).
  std::printf("  snapshot: %.1f MiB, save %.2f s (the projector held %.2f s of it), load %.2f s "
              "(%s)\n",
              static_cast<double>(bytes->size()) / (1 << 20), save_s,
              engine.stats().last_snapshot_seconds, load_s, loaded.ok() ? "ok" : "FAILED");
  // Last: it allocates and frees four more states, which must not disturb the latencies.
  ApplySplit(store, head, 1);
  std::printf("load average at the end: %s (%u cores)\n", LoadAverage().c_str(),
              std::thread::hardware_concurrency());
  std::printf("%s\n", all_ok ? "all targets met" : "some targets missed");
  return args.strict && !all_ok ? 1 : 0;
}

}  // namespace
}  // namespace roster::projections

int main(int argc, char** argv) { return roster::projections::Main(argc, argv); }
