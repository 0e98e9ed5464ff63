// The gateway load benchmark (issue 5): the real rosterd on a loopback port with a fresh
// data dir, seeded, then driven by wrk (64 keep-alive connections by default) through
// bench/load/roster.lua. Scenarios, each beside GET /health on the same server:
//   health   GET /health                     the ceiling: no business logic
//   check    GET /v1/check (live)            a seeded member of a seeded workspace
//   mixed    60 % check, 10 % each members page, user access, pending invitations, audit
//            page (limit 20)
//   invite   POST /v1/workspaces/{w}/invitations to a new address each time, spread over
//            every workspace; each 201 is durable (fsynced) before it is sent
// Prints one markdown row per scenario (req/s, % of the /health ceiling, p50, p99, answers
// other than expected, the server's CPU use) and the load average before each. wrk shares
// the machine's cores with the server: its CPU is in neither figure. With --rounds R > 1
// the scenario list runs R times, each round's share measured against that round's
// /health (the VM's speed drifts by tens of percent from minute to minute, so only a
// ceiling measured seconds before is comparable), and a last table gives each scenario's
// shares per round and their median.
//
//   build/bench/gateway_load_bench [--seconds 5] [--connections 64] [--wrk-threads 2]
//                                  [--accounts 64] [--members 16] [--rounds 1]
//                                  [--scenarios health,check,mixed,invite] [-- rosterd flags]
// `make bench` runs it (ctest gateway.load_bench, label bench). Exit status 1 when a
// scenario saw unexpected answers or wrk failed; never for a slow figure.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "tests/gateway/http_client.h"

namespace roster::bench {
namespace {

namespace json = boost::json;
using testing::HeaderList;
using testing::HttpClient;
using testing::HttpResult;

constexpr char kServiceKey[] = "load-bench-service-key-0123456789";

struct Options {
  double seconds = 5;
  int connections = 64;
  int wrk_threads = 2;
  int accounts = 64;
  int members = 16;
  int rounds = 1;
  std::vector<std::string> scenarios = {"health", "check", "mixed", "invite"};
  std::vector<std::string> rosterd_args;
  std::string rosterd = ROSTERD_PATH;
  std::string wrk = WRK_PATH;
  std::string script = LOAD_SCRIPT_PATH;
};

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, sep);) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  if (const char* s = std::getenv("ROSTER_BENCH_SECONDS")) o->seconds = std::atof(s);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      o->rosterd_args.assign(argv + i + 1, argv + argc);
      break;
    }
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (a == "--seconds") o->seconds = std::atof(v.c_str());
    else if (a == "--connections") o->connections = std::atoi(v.c_str());
    else if (a == "--wrk-threads") o->wrk_threads = std::atoi(v.c_str());
    else if (a == "--accounts") o->accounts = std::atoi(v.c_str());
    else if (a == "--members") o->members = std::atoi(v.c_str());
    else if (a == "--rounds") o->rounds = std::atoi(v.c_str());
    else if (a == "--scenarios") o->scenarios = Split(v, ',');
    else if (a == "--rosterd") o->rosterd = v;
    else if (a == "--wrk") o->wrk = v;
    else return false;
  }
  for (const auto& name : o->scenarios) {
    if (name != "health" && name != "check" && name != "mixed" && name != "invite") {
      std::fprintf(stderr, "unknown scenario \"%s\" (health, check, mixed, invite)\n",
                   name.c_str());
      return false;
    }
  }
  return o->seconds > 0 && o->connections > 0 && o->wrk_threads > 0 && o->accounts > 0 &&
         o->members > 0 && o->rounds > 0;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// utime + stime of a process, in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // fields 3..13
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The server's count of answers to POST /v1/workspaces/{w}/invitations, by status, read
// from /metrics (roster_http_requests_total). The invite scenario checks its answers here
// rather than in wrk's Lua: a response() callback makes wrk parse every answer's headers
// into Lua, which cost ~2-4 µs of the shared cores per request.
std::map<std::string, uint64_t> InvitationAnswers(uint16_t port) {
  std::map<std::string, uint64_t> out;
  HttpClient c(port, "127.0.0.1", std::chrono::seconds(30));
  auto r = c.Get("/metrics");
  if (r.status != 200) return out;
  static const std::string kPrefix =
      "roster_http_requests_total{route=\"/v1/workspaces/{w}/invitations\",method=\"POST\","
      "status=\"";
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    size_t end = line.find('"', kPrefix.size());
    size_t space = line.rfind(' ');
    if (end == std::string::npos || space == std::string::npos) continue;
    out[line.substr(kPrefix.size(), end - kPrefix.size())] +=
        std::strtoull(line.c_str() + space + 1, nullptr, 10);
  }
  return out;
}

// ---- seeding ----

std::string EmailOf(const std::string& user) { return user + "@members.example"; }

HeaderList Service() {
  return {{"Authorization", std::string("Bearer ") + kServiceKey},
          {"Content-Type", "application/json"}};
}

HeaderList As(const std::string& user) {
  HeaderList h = Service();
  h.emplace_back("Roster-Actor", user);
  h.emplace_back("Roster-Actor-Email", EmailOf(user));
  return h;
}

bool Expect(const HttpResult& r, int status, const std::string& what) {
  if (r.status == status) return true;
  std::fprintf(stderr, "seeding: %s: %d %s %s\n", what.c_str(), r.status, r.error.c_str(),
               r.body.c_str());
  return false;
}

// Workspace w<i> of account a<i>: members u<i>.<j> (half editors) who accepted an
// invitation, and 4 pending invitations.
bool SeedAccount(HttpClient& c, int i, int members) {
  std::string a = "a" + std::to_string(i), w = "w" + std::to_string(i);
  json::object account{{"account_id", a},
                       {"name", "Account " + a},
                       {"plan", "standard"},
                       {"region", "global"},
                       {"owner", {{"user_id", a + "-owner"}, {"email", EmailOf(a + "-owner")}}}};
  if (!Expect(c.Post("/v1/accounts", json::serialize(account), Service()), 201, a)) return false;
  json::object ws{{"workspace_id", w}, {"name", "Workspace " + w}, {"template", "standard"}};
  if (!Expect(c.Post("/v1/accounts/" + a + "/workspaces", json::serialize(ws), Service()), 201,
              w)) {
    return false;
  }
  for (int j = 0; j < members + 4; ++j) {
    bool pending = j >= members;
    std::string user = (pending ? "p" : "u") + std::to_string(i) + "." + std::to_string(j);
    json::object inv{{"email", EmailOf(user)}, {"role", j % 2 ? "editor" : "viewer"}};
    HttpResult r = c.Post("/v1/workspaces/" + w + "/invitations", json::serialize(inv), Service());
    if (!Expect(r, 201, "invite " + user)) return false;
    if (pending) continue;
    json::object accept{{"token", r.Json().as_object().at("token")}};
    if (!Expect(c.Post("/v1/invitations/accept", json::serialize(accept), As(user)), 200,
                "accept " + user)) {
      return false;
    }
  }
  return true;
}

bool Seed(uint16_t port, const Options& o) {
  constexpr int kSeeders = 16;  // in flight at once, so group commits batch them
  std::atomic<int> next{0};
  std::atomic<bool> ok{true};
  std::vector<std::thread> pool;
  for (int t = 0; t < kSeeders; ++t) {
    pool.emplace_back([&] {
      HttpClient c(port, "127.0.0.1", std::chrono::seconds(30));
      for (int i = next++; i < o.accounts && ok; i = next++) {
        if (!SeedAccount(c, i, o.members)) ok = false;
      }
    });
  }
  for (auto& t : pool) t.join();
  return ok;
}

// ---- wrk ----

std::string Format(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

struct Figures {
  bool ran = false;
  double rps = 0, p50_ms = 0, p99_ms = 0, server_cpu = 0;
  uint64_t requests = 0, unexpected = 0, socket_errors = 0;
  std::string first_unexpected;
};

// "1.23ms", "850.00us", "1.02s", "2.00m" → milliseconds.
double ToMillis(const std::string& text) {
  double v = std::atof(text.c_str());
  if (text.find("us") != std::string::npos) return v / 1000;
  if (text.find("ms") != std::string::npos) return v;
  if (text.find('m') != std::string::npos) return v * 60'000;
  return v * 1000;  // seconds
}

uint64_t Sum(const std::string& line) {  // "Socket errors: connect 0, read 1, write 0, timeout 2"
  uint64_t total = 0;
  std::istringstream in(line);
  for (std::string word; in >> word;) {
    if (std::isdigit(static_cast<unsigned char>(word[0]))) total += std::strtoull(word.c_str(), nullptr, 10);
  }
  return total;
}

Figures ParseWrk(const std::string& out) {
  Figures f;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first, second;
    words >> first >> second;
    if (first == "Requests/sec:") {
      f.rps = std::atof(second.c_str());
      f.ran = true;
    } else if (first == "50%") {
      f.p50_ms = ToMillis(second);
    } else if (first == "99%") {
      f.p99_ms = ToMillis(second);
    } else if (first == "Non-2xx") {  // "Non-2xx or 3xx responses: N"
      f.unexpected = std::strtoull(line.substr(line.rfind(' ') + 1).c_str(), nullptr, 10);
    } else if (first == "Socket") {
      f.socket_errors = Sum(line);
    } else if (line.find("requests in") != std::string::npos) {
      f.requests = std::strtoull(first.c_str(), nullptr, 10);
    }
  }
  return f;
}

// Runs wrk and returns what it printed (stdout), empty when it could not run.
std::string RunWrk(const Options& o, uint16_t port, const std::string& mode,
                   const std::string& nonce) {
  std::string url = "http://127.0.0.1:" + std::to_string(port) + (mode == "health" ? "/health" : "");
  std::vector<std::string> args = {o.wrk,
                                   "-t" + std::to_string(o.wrk_threads),
                                   "-c" + std::to_string(o.connections),
                                   "-d" + Format("%gs", o.seconds),
                                   "--timeout", "10s", "--latency"};
  if (mode != "health") {
    args.insert(args.end(), {"-s", o.script, url, "--", kServiceKey, std::to_string(o.accounts),
                             std::to_string(o.members), nonce});
  } else {
    args.push_back(url);
  }
  int fds[2];
  if (pipe(fds) != 0) return "";
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    setenv("ROSTER_LOAD_MODE", mode.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "wrk failed (status %d):\n%s\n", status, out.c_str());
    return "";
  }
  return out;
}

const char* Describe(const std::string& mode) {
  if (mode == "health") return "GET /health (ceiling)";
  if (mode == "check") return "GET /v1/check (live)";
  if (mode == "mixed") return "mixed reads (60% check)";
  if (mode == "invite") return "POST invitation (durable, 201)";
  return "?";
}

int Main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr, "usage: %s [--seconds S] [--connections N] [--wrk-threads T] "
                         "[--accounts A] [--members M] [--rounds R] [--scenarios a,b] "
                         "[--rosterd PATH] [--wrk PATH] [-- rosterd flags]\n", argv[0]);
    return 2;
  }
  if (access(o.wrk.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "wrk not found at %s (tools/setup.sh installs it)\n", o.wrk.c_str());
    return 2;
  }
  testing::TempDir dir;
  std::vector<std::string> args = {"--service-key", kServiceKey};
  args.insert(args.end(), o.rosterd_args.begin(), o.rosterd_args.end());
  testing::RosterdProcess rosterd(o.rosterd, dir.path() + "/data", args);
  if (!rosterd.Start()) {
    std::fprintf(stderr, "rosterd did not start:\n%s\n", rosterd.Log().c_str());
    return 1;
  }
  auto seed_start = std::chrono::steady_clock::now();
  if (!Seed(rosterd.port(), o)) return 1;
  double seed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - seed_start).count();
  std::printf("seeded %d accounts × (1 workspace, %d members, 4 pending invitations) in %.1f s\n",
              o.accounts, o.members, seed_s);
  std::printf("rosterd %s, wrk -t%d -c%d -d%gs, %ld CPUs\n\n", o.rosterd.c_str(), o.wrk_threads,
              o.connections, o.seconds, sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("| scenario | conns | req/s | %% of /health | p50 ms | p99 ms | non-2xx | "
              "server CPU | load avg |\n|---|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);

  bool failed = false;
  double ceiling = 0;
  // Per scenario: its share of the round's /health and its p99, one entry per round.
  std::vector<std::vector<double>> shares(o.scenarios.size()), p99s(o.scenarios.size());
  for (int round = 0; round < o.rounds; ++round) {
    for (size_t si = 0; si < o.scenarios.size(); ++si) {
      const std::string& mode = o.scenarios[si];
      std::string load = LoadAverage();
      std::map<std::string, uint64_t> answers0;
      if (mode == "invite") answers0 = InvitationAnswers(rosterd.port());
      double cpu0 = CpuSeconds(rosterd.pid());
      std::string out = RunWrk(o, rosterd.port(), mode, std::to_string(getpid()) + "r" +
                                                            std::to_string(round));
      Figures f = ParseWrk(out);
      f.server_cpu = (CpuSeconds(rosterd.pid()) - cpu0) / o.seconds;
      if (!f.ran) {
        std::fprintf(stderr, "%s: no figures from wrk\n%s\n", mode.c_str(), out.c_str());
        failed = true;
        continue;
      }
      if (mode == "invite") {
        // Every answer the server gave in the scenario must be a 201, and there must be at
        // least as many as wrk counted (wrk stops reading at the deadline; the server may
        // have answered a few more).
        // (The server counts an answer once its last byte is written, which may be a moment
        // after wrk read it: a short count is read again.)
        std::map<std::string, uint64_t> answers1 = InvitationAnswers(rosterd.port());
        for (int retry = 0; retry < 5 && answers1["201"] - answers0["201"] < f.requests; ++retry) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          answers1 = InvitationAnswers(rosterd.port());
        }
        uint64_t created = 0, other = 0;
        for (const auto& [status, n] : answers1) {
          uint64_t delta = n - answers0[status];
          if (status == "201") {
            created = delta;
          } else if (delta > 0) {
            other += delta;
            if (f.first_unexpected.empty()) {
              f.first_unexpected = std::to_string(delta) + " answered " + status;
            }
          }
        }
        f.unexpected = other;  // the server saw every answer wrk's non-2xx count covers
        if (created + other < f.requests) {
          f.unexpected += f.requests - created - other;
          f.first_unexpected += (f.first_unexpected.empty() ? "" : "; ") +
                                std::string("the server counted ") +
                                std::to_string(created + other) + " answers for " +
                                std::to_string(f.requests) + " requests wrk completed";
        }
      }
      if (mode == "health") ceiling = f.rps;
      if (ceiling > 0) shares[si].push_back(f.rps / ceiling);
      p99s[si].push_back(f.p99_ms);
      std::string share = ceiling > 0 ? std::to_string(static_cast<int>(100 * f.rps / ceiling + 0.5)) + " %" : "-";
      std::printf("| %s | %d | %.0f | %s | %.2f | %.2f | %llu | %.0f %% | %s |\n", Describe(mode),
                  o.connections, f.rps, share.c_str(), f.p50_ms, f.p99_ms,
                  static_cast<unsigned long long>(f.unexpected), 100 * f.server_cpu, load.c_str());
      if (f.unexpected > 0 || f.socket_errors > 0) {
        std::printf("  %s: %llu unexpected answers (first: %s), %llu socket errors\n", mode.c_str(),
                    static_cast<unsigned long long>(f.unexpected), f.first_unexpected.c_str(),
                    static_cast<unsigned long long>(f.socket_errors));
        failed = true;
      }
      std::fflush(stdout);
    }
  }
  std::printf("\nserver CPU: rosterd's user+system time over the run (200 %% = both cores); "
              "load avg: /proc/loadavg before the scenario\n");
  if (o.rounds > 1) {
    auto median = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::sort(v.begin(), v.end());
      size_t n = v.size();
      return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    };
    std::printf("\n| scenario (%d rounds) | %% of that round's /health | median | p99 ms per round "
                "| median p99 ms |\n|---|---|---|---|---|\n", o.rounds);
    for (size_t si = 0; si < o.scenarios.size(); ++si) {
      if (o.scenarios[si] == "health") continue;
      std::string each, each_p99;
      for (double x : shares[si]) each += (each.empty() ? "" : " ") + std::to_string(static_cast<int>(100 * x + 0.5));
      for (double x : p99s[si]) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%s%.2f", each_p99.empty() ? "" : " ", x);
        each_p99 += buf;
      }
      std::string med = shares[si].empty()
                            ? std::string("-")
                            : std::to_string(static_cast<int>(100 * median(shares[si]) + 0.5)) + " %";
      std::printf("| %s | %s | %s | %s | %.2f |\n", Describe(o.scenarios[si]),
                  each.empty() ? "- (no /health)" : each.c_str(), med.c_str(), each_p99.c_str(),
                  median(p99s[si]));
    }
  }
  if (rosterd.Terminate() != 0) {
    std::fprintf(stderr, "rosterd did not stop cleanly\n");
    failed = true;
  }
  // Slow WAL syncs stall every command of their group: they explain a p99 far above the
  // p50 better than anything in the server (rosterd logs each one over 100 ms).
  const std::string log = rosterd.Log();
  size_t slow = 0;
  for (size_t at = log.find("WAL sync took"); at != std::string::npos;
       at = log.find("WAL sync took", at + 1)) {
    ++slow;
    if (slow <= 3) {
      size_t end = log.find('\n', at);
      std::printf("rosterd: %s\n", log.substr(at, end == std::string::npos ? end : end - at).c_str());
    }
  }
  std::printf("WAL syncs over 100 ms during the run: %zu\n", slow);
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace roster::bench

int main(int argc, char** argv) { return roster::bench::Main(argc, argv); }
