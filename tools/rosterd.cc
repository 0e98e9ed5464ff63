// rosterd: the Roster server. Parses and validates its configuration (flags, ROSTER_*
// environment variables, an optional config file), builds every component in one place
// (see "Wiring" below), serves HTTP until SIGTERM/SIGINT, then stops gracefully.
//
// Exit codes: 0 after a clean stop; 1 when start-up fails at run time (cannot bind, cannot
// read or write the data dir); 2 for an invalid configuration (one line on stderr).
// docs/configuration.md lists every option.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "base/crypto.h"
#include "base/status.h"
#include "commands/handler.h"
#include "gateway/api/api.h"
#include "gateway/api/offset_clock.h"
#include "gateway/app.h"
#include "gateway/worker_pool.h"
#include "projections/engine.h"
#include "storage/rocksdb_store.h"
#include "tools/log_sink.h"

#ifndef ROSTER_VERSION
#define ROSTER_VERSION "0.0.0"
#endif

namespace roster {
namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

// Everything the command line, the environment and the config file can set.
struct Config {
  std::string data_dir;
  std::string listen = "127.0.0.1:8080";
  std::string service_key;
  std::string jwt_secret;
  int64_t threads = 0;
  int64_t workers = 16;
  int64_t stream_threads = 16;
  uint64_t body_limit = 1 << 20;
  uint64_t header_limit = 16 << 10;
  int64_t max_connections = 1024;
  std::vector<std::string> cors_origins;
  std::string log_level = "info";
  int64_t read_timeout_ms = 30'000;
  int64_t write_timeout_ms = 30'000;
  int64_t drain_timeout_ms = 10'000;
  bool test_routes = false;
  int64_t sse_heartbeat_ms = 15'000;
};

// "127.0.0.1:8080", "[::1]:8080", "localhost:8080", ":8080" (all IPv4 interfaces is *not*
// implied: give 0.0.0.0 explicitly).
Status ParseListen(const std::string& text, std::string* host, uint16_t* port) {
  std::string h, p;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error(ErrorCode::kInvalidField, "--listen must look like [::1]:8080");
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Error(ErrorCode::kInvalidField, "--listen must be HOST:PORT, e.g. 127.0.0.1:8080");
    }
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string::npos) {
      return Error(ErrorCode::kInvalidField, "--listen: write IPv6 addresses in brackets, "
                                             "e.g. [::1]:8080");
    }
  }
  if (h == "localhost") h = "127.0.0.1";
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(p) > 65535) {
    return Error(ErrorCode::kInvalidField, "--listen: port must be a number from 0 to 65535");
  }
  if (h.empty()) return Error(ErrorCode::kInvalidField, "--listen: host is empty");
  *host = h;
  *port = static_cast<uint16_t>(std::stoul(p));
  return Status::Ok();
}

Status ValidateOrigin(const std::string& origin) {
  bool scheme = origin.rfind("http://", 0) == 0 || origin.rfind("https://", 0) == 0;
  size_t host_start = origin.find("://") + 3;
  if (!scheme || host_start >= origin.size() ||
      origin.find('/', host_start) != std::string::npos ||
      origin.find_first_of(" \t,") != std::string::npos) {
    return Error(ErrorCode::kInvalidField,
                 "--cors-origin must be an origin like https://app.example.com (no path), got: " +
                     origin);
  }
  return Status::Ok();
}

Status Validate(Config& c, std::string* host, uint16_t* port) {
  ROSTER_RETURN_IF_ERROR(ParseListen(c.listen, host, port));
  auto range = [](const char* flag, int64_t v, int64_t lo, int64_t hi) -> Status {
    if (v < lo || v > hi) {
      return Error(ErrorCode::kInvalidField, std::string(flag) + " must be between " +
                                                 std::to_string(lo) + " and " +
                                                 std::to_string(hi));
    }
    return Status::Ok();
  };
  ROSTER_RETURN_IF_ERROR(range("--threads", c.threads, 0, 256));
  ROSTER_RETURN_IF_ERROR(range("--workers", c.workers, 1, 4096));
  ROSTER_RETURN_IF_ERROR(range("--stream-threads", c.stream_threads, 1, 4096));
  ROSTER_RETURN_IF_ERROR(range("--max-connections", c.max_connections, 1, 1'000'000));
  ROSTER_RETURN_IF_ERROR(
      range("--body-limit", static_cast<int64_t>(c.body_limit), 1, int64_t{1} << 30));
  ROSTER_RETURN_IF_ERROR(
      range("--header-limit", static_cast<int64_t>(c.header_limit), 1024, 1 << 20));
  ROSTER_RETURN_IF_ERROR(range("--read-timeout", c.read_timeout_ms, 1, 3'600'000));
  ROSTER_RETURN_IF_ERROR(range("--write-timeout", c.write_timeout_ms, 1, 3'600'000));
  ROSTER_RETURN_IF_ERROR(range("--drain-timeout", c.drain_timeout_ms, 0, 3'600'000));
  ROSTER_RETURN_IF_ERROR(range("--sse-heartbeat", c.sse_heartbeat_ms, 10, 3'600'000));
  for (const std::string& o : c.cors_origins) ROSTER_RETURN_IF_ERROR(ValidateOrigin(o));
  if (c.service_key.find_first_of(" \t\r\n") != std::string::npos) {
    return Error(ErrorCode::kInvalidField, "--service-key must not contain whitespace");
  }
  if (c.data_dir.empty()) return Error(ErrorCode::kInvalidField, "--data-dir is empty");
  return Status::Ok();
}

// Creates the data dir if needed and checks that it is a writable directory.
Status PrepareDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(ErrorCode::kIoError, "cannot create data dir " + dir + ": " + ec.message());
  if (!std::filesystem::is_directory(dir, ec)) {
    return Error(ErrorCode::kIoError, "data dir " + dir + " is not a directory");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Error(ErrorCode::kIoError,
                 "data dir " + dir + " is not writable: " + std::strerror(errno));
  }
  return Status::Ok();
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The service key from <data-dir>/service.key, made on first start: 32 random bytes,
// base64url, mode 0600, created with O_EXCL (two racing starts agree on one key), synced.
Result<std::string> LoadOrCreateServiceKey(const std::string& data_dir, bool* created) {
  std::string path = (std::filesystem::path(data_dir) / "service.key").string();
  *created = false;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    std::string key = Base64UrlEncode(RandomBytes(32));
    std::string line = key + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      return Error(ErrorCode::kIoError, "cannot write " + path + ": " + std::strerror(errno));
    }
    int dfd = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
    *created = true;
    return key;
  }
  if (errno != EEXIST) {
    return Error(ErrorCode::kIoError, "cannot create " + path + ": " + std::strerror(errno));
  }
  fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(ErrorCode::kIoError, "cannot read " + path + ": " + std::strerror(errno));
  std::string content;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0 && content.size() < 4096) content.append(buf, n);
  ::close(fd);
  std::string key = Trimmed(content);
  if (key.empty() || key.find_first_of(" \t\r\n") != std::string::npos) {
    return Error(ErrorCode::kIoError, path + " does not hold a service key (one line expected)");
  }
  return key;
}

// The one sink of both loggers (tools/log_sink.h): request threads append formatted lines
// to a buffer, the "roster-log" thread writes it to stderr in batches.
std::shared_ptr<tools::BatchedFdSink>& LogSink() {
  static std::shared_ptr<tools::BatchedFdSink> sink;
  return sink;
}

// The application log ("rosterd") and the access log ("access") share one sink, so their
// lines keep their order, UTC timestamps, and the format is unchanged. Request threads
// format and append to the sink's buffer; the writer thread writes it every 100 ms, at
// once on error and critical lines. When stderr's reader stalls (a blocked pipe, a slow
// collector) and 8 MiB of lines wait, new lines are dropped rather than blocking the
// request threads behind the log collector; drops are counted and reported
// (LogDropReporter). Systemd/docker collect stderr; no secret is ever logged. Call
// FlushAndStopLogging before exiting.
void SetUpLogging(const std::string& level) {
  // The writer thread must never take SIGTERM/SIGINT (only the signal thread waits for
  // them): it starts with every signal blocked.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  auto sink = std::make_shared<tools::BatchedFdSink>();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  LogSink() = sink;
  auto app_log = std::make_shared<spdlog::logger>("rosterd", sink);
  auto access_log = std::make_shared<spdlog::logger>("access", sink);
  for (const auto& l : {app_log, access_log}) {
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ [%n] %v", spdlog::pattern_time_type::utc);
    l->set_level(spdlog::level::from_str(level));
    l->flush_on(spdlog::level::err);
  }
  spdlog::register_logger(access_log);
  spdlog::set_default_logger(app_log);
}

// Writes every line logged so far, then stops the writer thread. Every exit path of Main
// runs it (LoggingGuard), so the lines of a clean stop (SIGTERM) or a failed start are not
// lost.
void FlushAndStopLogging() {
  auto sink = LogSink();
  if (sink == nullptr) return;
  if (sink->dropped() > 0) {
    spdlog::default_logger()->warn("log buffer full: {} lines dropped in all", sink->dropped());
  }
  sink->Drain();
  spdlog::shutdown();
  LogSink().reset();  // the last reference: joins the writer thread
}

struct LoggingGuard {
  ~LoggingGuard() { FlushAndStopLogging(); }
};

// Warns (at most every 10 s) when lines were dropped because the queue was full.
class LogDropReporter {
 public:
  void Poll(spdlog::logger& log) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(10)) return;
    auto sink = LogSink();
    if (sink == nullptr) return;
    uint64_t dropped = sink->dropped();
    if (dropped == reported_) return;
    log.warn("log buffer full: {} lines dropped since start (stderr is not read fast enough)",
             dropped);
    reported_ = dropped;
    last_ = now;
  }

 private:
  uint64_t reported_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

int Main(int argc, char** argv) {
  Config c;
  CLI::App cli{"rosterd " ROSTER_VERSION " — the Roster membership ledger server"};
  cli.set_version_flag("--version", ROSTER_VERSION);
  cli.set_config("--config", "", "Read options from a TOML/INI file (keys: long option names)");
  cli.add_option("--data-dir", c.data_dir, "Directory for the ledger and the service key")
      ->envname("ROSTER_DATA_DIR")
      ->required();
  cli.add_option("--listen", c.listen, "HOST:PORT to serve on ([::1]:PORT for IPv6)")
      ->envname("ROSTER_LISTEN")
      ->capture_default_str();
  cli.add_option("--service-key", c.service_key,
                 "The host application's bearer key (default: generated into "
                 "<data-dir>/service.key)")
      ->envname("ROSTER_SERVICE_KEY");
  cli.add_option("--jwt-secret", c.jwt_secret, "HS256 secret for user tokens (default: off)")
      ->envname("ROSTER_JWT_SECRET");
  cli.add_option("--threads", c.threads, "I/O threads (0: one per core)")
      ->envname("ROSTER_THREADS")
      ->capture_default_str();
  cli.add_option("--workers", c.workers, "Handler threads")
      ->envname("ROSTER_WORKERS")
      ->capture_default_str();
  cli.add_option("--stream-threads", c.stream_threads,
                 "Concurrent streamed responses (SSE, exports)")
      ->envname("ROSTER_STREAM_THREADS")
      ->capture_default_str();
  cli.add_option("--body-limit", c.body_limit, "Largest request body (e.g. 1MiB, 65536)")
      ->envname("ROSTER_BODY_LIMIT")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("1MiB");
  cli.add_option("--header-limit", c.header_limit, "Largest request line + headers")
      ->envname("ROSTER_HEADER_LIMIT")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("16KiB");
  cli.add_option("--max-connections", c.max_connections,
                 "Open connections; more are answered 503 and closed")
      ->envname("ROSTER_MAX_CONNECTIONS")
      ->capture_default_str();
  cli.add_option("--cors-origin", c.cors_origins,
                 "Browser origin allowed to call the API (repeatable; env: comma-separated)")
      ->envname("ROSTER_CORS_ORIGINS")
      ->delimiter(',');
  cli.add_option("--log-level", c.log_level, "trace, debug, info, warn, error or off")
      ->envname("ROSTER_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  const std::map<std::string, int64_t> kDurationUnits = {{"ms", 1}, {"s", 1000}, {"m", 60'000}};
  auto duration = CLI::AsNumberWithUnit(kDurationUnits, CLI::AsNumberWithUnit::UNIT_REQUIRED,
                                        "DURATION");
  cli.add_option("--read-timeout", c.read_timeout_ms,
                 "Idle keep-alive / slow request cut-off (e.g. 30s, 500ms)")
      ->envname("ROSTER_READ_TIMEOUT")
      ->transform(duration)
      ->default_str("30s");
  cli.add_option("--write-timeout", c.write_timeout_ms, "Cut-off for writing one response")
      ->envname("ROSTER_WRITE_TIMEOUT")
      ->transform(duration)
      ->default_str("30s");
  cli.add_option("--drain-timeout", c.drain_timeout_ms,
                 "On SIGTERM, time in-flight requests get before connections are cut")
      ->envname("ROSTER_DRAIN_TIMEOUT")
      ->transform(duration)
      ->default_str("10s");
  cli.add_flag("--enable-test-routes", c.test_routes,
               "Serve /_test/* routes for the end-to-end tests (never in production)")
      ->group("");  // hidden from --help
  cli.add_option("--sse-heartbeat", c.sse_heartbeat_ms,
                 "Silence after which /v1/events/stream sends a comment line (tests shorten it)")
      ->transform(duration)
      ->default_str("15s")
      ->group("");  // hidden: tuning for tests

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return cli.exit(e);  // --help, --version
    std::fprintf(stderr, "rosterd: error: %s (see --help)\n", e.what());
    return kExitConfig;
  }

  std::string host;
  uint16_t port = 0;
  if (Status st = Validate(c, &host, &port); !st.ok()) {
    std::fprintf(stderr, "rosterd: error: %s\n", st.message().c_str());
    return kExitConfig;
  }

  SetUpLogging(c.log_level);
  LoggingGuard logging_guard;
  std::shared_ptr<spdlog::logger> log = spdlog::default_logger();

  // Signals are taken by one thread (below) with sigwait: block them before any thread
  // starts so every thread inherits the mask. SIGPIPE: a vanished client is an error code.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  if (Status st = PrepareDataDir(c.data_dir); !st.ok()) {
    log->critical("{}", st.message());
    return kExitRuntime;
  }

  if (c.service_key.empty()) {
    bool created = false;
    Result<std::string> key = LoadOrCreateServiceKey(c.data_dir, &created);
    if (!key) {
      log->critical("{}", key.error().message());
      return kExitRuntime;
    }
    c.service_key = std::move(*key);
    std::string path = (std::filesystem::path(c.data_dir) / "service.key").string();
    log->info("service key {} {}", created ? "generated and stored in" : "read from", path);
  } else if (c.service_key.size() < 16) {
    log->warn("the service key is shorter than 16 characters; use a long random one");
  }
  if (!c.jwt_secret.empty() && c.jwt_secret.size() < 32) {
    log->warn("the JWT secret is shorter than 32 bytes (RFC 7518 asks for at least 256 bits)");
  }
  if (c.test_routes) log->warn("test routes (/_test/*) are enabled: never do this in production");

  gateway::App app(gateway::AppOptions{
      .server = {.address = host,
                 .port = port,
                 .io_threads = static_cast<size_t>(c.threads),
                 .workers = static_cast<size_t>(c.workers),
                 .stream_threads = static_cast<size_t>(c.stream_threads),
                 .body_limit = static_cast<size_t>(c.body_limit),
                 .header_limit = static_cast<size_t>(c.header_limit),
                 .max_connections = static_cast<size_t>(c.max_connections),
                 .read_timeout = std::chrono::milliseconds(c.read_timeout_ms),
                 .write_timeout = std::chrono::milliseconds(c.write_timeout_ms),
                 .drain_timeout = std::chrono::milliseconds(c.drain_timeout_ms)},
      .auth = {.service_key = c.service_key, .jwt_secret = c.jwt_secret},
      .cors_origins = c.cors_origins,
      .version = ROSTER_VERSION,
      .log = log,
      .access_log = spdlog::get("access"),
      .test_routes = c.test_routes,
  });
  c.service_key.clear();  // only the Authenticator's hash remains
  c.jwt_secret.clear();

  // ===================================================================================
  // Wiring: the ledger behind the API. Everything is built here, in dependency order
  // (store → commands → projections → routes), and torn down in reverse after the server
  // has stopped (no singletons).
  // ===================================================================================
  api::OffsetClock clock;  // the system clock; only /_test/clock (test routes) moves it

  // 1. Storage: <data-dir>/ledger.
  std::string ledger_dir = (std::filesystem::path(c.data_dir) / "ledger").string();
  if (Status st = PrepareDataDir(ledger_dir); !st.ok()) {
    log->critical("{}", st.message());
    return kExitRuntime;
  }
  auto opened = storage::RocksDbEventStore::Open(
      {.path = ledger_dir,
       .clock = &clock,
       .log = [log](std::string_view line) { log->warn("ledger: {}", line); }});
  if (!opened) {
    log->critical("cannot open the ledger at {}: {}", ledger_dir, opened.error().ToString());
    return kExitRuntime;
  }
  std::unique_ptr<storage::RocksDbEventStore> store = std::move(opened).value();
  log->info("ledger opened at {} (head position {})", ledger_dir, store->GetHead().position);

  // 2. Commands: rebuilds the directory and the idempotency index from the log. Command
  // routes run on the I/O threads; an account not in memory yet (after the start, or
  // evicted) is folded from its stream on this pool instead, so a big account's first
  // command never holds an I/O thread. Declared before the handler: it outlives it.
  gateway::WorkerPool account_loader("roster-load", 2, 4096);
  auto handler = std::make_unique<commands::CommandHandler>(
      *store, clock,
      commands::HandlerOptions{.load_elsewhere = [&account_loader](std::function<void()> task) {
        return account_loader.TrySubmit(std::move(task));
      }});
  if (!handler->status().ok()) {
    log->critical("cannot load the ledger: {}", handler->status().ToString());
    return kExitRuntime;
  }
  log->info("command handler ready");

  // 3. Projections: load the snapshot, catch up on the projector thread.
  auto engine = std::make_unique<projections::Engine>(
      *store, projections::EngineOptions{.log = [log](std::string_view message) {
        log->warn("projections: {}", message);
      }});
  if (Status st = engine->Start(); !st.ok()) {
    log->critical("cannot start the projections: {}", st.ToString());
    return kExitRuntime;
  }
  projections::EngineStats engine_stats = engine->stats();
  log->info("projections started from position {} (snapshot at {}), catching up to {}",
            engine->position(), engine_stats.snapshot_loaded_at, engine_stats.head_at_start);

  // 4. API routes.
  api::Services services{.store = *store,
                         .handler = *handler,
                         .engine = *engine,
                         .clock = clock,
                         .options = {.sse_heartbeat = std::chrono::milliseconds(c.sse_heartbeat_ms),
                                     .test_routes = c.test_routes},
                         .log = log,
                         .test_clock = &clock,
                         .head_at_start = engine_stats.head_at_start};
  api::RegisterRoutes(app.router(), services);

  // 5. Readiness: the projections have caught up with the head seen at start-up.
  projections::Engine* engine_ptr = engine.get();
  storage::RocksDbEventStore* store_ptr = store.get();
  app.SetReadiness([engine_ptr] { return engine_ptr->Ready(); },
                   [engine_ptr, store_ptr] {
                     uint64_t head = store_ptr->GetHead().position;
                     uint64_t position = engine_ptr->position();
                     return boost::json::object{{"position", position},
                                                {"head", head},
                                                {"lag", head > position ? head - position : 0}};
                   });

  // 6. Metrics read at scrape time.
  auto& m = app.metrics();
  auto writer = [store_ptr](uint64_t storage::WriterStats::*field) {
    return [store_ptr, field] { return static_cast<double>(store_ptr->GetWriterStats().*field); };
  };
  m.AddCallback(gateway::MetricType::kCounter, "roster_store_appends_total",
                "Appends committed to the log (deduplicated repeats not counted)", {},
                writer(&storage::WriterStats::appends));
  m.AddCallback(gateway::MetricType::kCounter, "roster_store_events_total",
                "Events committed to the log", {}, writer(&storage::WriterStats::events));
  m.AddCallback(gateway::MetricType::kCounter, "roster_store_fsyncs_total",
                "Synced commit groups (one WAL fsync each)", {},
                writer(&storage::WriterStats::groups));
  m.AddCallback(gateway::MetricType::kCounter, "roster_store_fsync_seconds_total",
                "Time spent in WAL syncs (divide by roster_store_fsyncs_total for the mean)", {},
                [store_ptr] {
                  return static_cast<double>(store_ptr->GetWriterStats().sync_nanos) / 1e9;
                });
  m.AddCallback(gateway::MetricType::kGauge, "roster_store_fsync_max_seconds",
                "The longest WAL sync since start", {}, [store_ptr] {
                  return static_cast<double>(store_ptr->GetWriterStats().max_sync_nanos) / 1e9;
                });
  m.AddCallback(gateway::MetricType::kCounter, "roster_store_slow_fsyncs_total",
                "WAL syncs slower than 100 ms (each is also logged)", {},
                writer(&storage::WriterStats::slow_syncs));
  m.AddCallback(gateway::MetricType::kCounter, "roster_store_deduplicated_appends_total",
                "Appends answered from an idempotency record", {},
                writer(&storage::WriterStats::deduplicated));
  m.AddCallback(gateway::MetricType::kCounter, "roster_store_version_conflicts_total",
                "Appends rejected for a version conflict", {},
                writer(&storage::WriterStats::rejected));
  m.AddCallback(gateway::MetricType::kGauge, "roster_ledger_head_position",
                "Position of the last committed event", {},
                [store_ptr] { return static_cast<double>(store_ptr->GetHead().position); });
  m.AddCallback(gateway::MetricType::kGauge, "roster_projections_position",
                "Last position applied by the projections", {},
                [engine_ptr] { return static_cast<double>(engine_ptr->position()); });
  m.AddCallback(gateway::MetricType::kGauge, "roster_projections_lag_events",
                "Events committed but not yet applied by the projections", {},
                [engine_ptr, store_ptr] {
                  uint64_t head = store_ptr->GetHead().position;
                  uint64_t position = engine_ptr->position();
                  return static_cast<double>(head > position ? head - position : 0);
                });
  m.AddCallback(gateway::MetricType::kCounter, "roster_projections_snapshots_total",
                "Projection snapshots written", {},
                [engine_ptr] { return static_cast<double>(engine_ptr->stats().snapshots_written); });
  // While a snapshot is serialized the projector applies nothing, so commands wait for it.
  m.AddCallback(gateway::MetricType::kCounter, "roster_projections_snapshot_seconds_total",
                "Time spent serializing projection snapshots (the projector applies nothing "
                "meanwhile; they are stored after, on a thread of their own)",
                {}, [engine_ptr] { return engine_ptr->stats().snapshot_seconds_total; });
  m.AddCallback(gateway::MetricType::kGauge, "roster_projections_last_snapshot_seconds",
                "Time the last projection snapshot held the projector", {},
                [engine_ptr] { return engine_ptr->stats().last_snapshot_seconds; });
  m.AddCallback(gateway::MetricType::kGauge, "roster_projections_last_snapshot_bytes",
                "Size of the last projection snapshot", {}, [engine_ptr] {
                  return static_cast<double>(engine_ptr->stats().last_snapshot_bytes);
                });

  if (Status st = app.Listen(); !st.ok()) {
    log->critical("{}", st.message());
    return kExitRuntime;
  }
#ifdef ROSTER_JEMALLOC
  log->info("memory allocator: jemalloc");
#else
  log->info("memory allocator: the C library's (built without jemalloc)");
#endif
  log->info("rosterd {} listening on http://{} (data dir {})", ROSTER_VERSION, app.endpoint(),
            c.data_dir);

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    pthread_setname_np(pthread_self(), "roster-signal");
    timespec tick{0, 200'000'000};
    int stops = 0;
    LogDropReporter drops;
    while (!done.load()) {
      drops.Poll(*log);
      siginfo_t info;
      int sig = sigtimedwait(&signals, &info, &tick);
      if (sig != SIGINT && sig != SIGTERM) continue;
      if (++stops == 1) {
        log->info("received {}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        app.Stop();
      } else {
        log->warn("received a second stop signal while draining; still draining "
                  "(SIGKILL to abort)");
      }
    }
  });

  app.Run();
  done.store(true);
  signal_thread.join();
  // Reverse order of the wiring: the server has finished every request and stream; now
  // the projections (final snapshot), the command handler, and the store.
  log->info("server stopped");
  const uint64_t snapshots_before = engine->stats().snapshots_written;
  engine->Stop();
  const projections::EngineStats stopped = engine->stats();
  log->info("projections stopped at position {} ({})", engine->position(),
            stopped.snapshots_written > snapshots_before         ? "snapshot written"
            : stopped.last_snapshot_position == engine->position() ? "the last snapshot is at it"
                                                                    : "no snapshot: see above");
  engine.reset();
  handler.reset();
  store->Shutdown();
  store.reset();
  log->info("ledger closed; stopped");
  return 0;
}

}  // namespace
}  // namespace roster

int main(int argc, char** argv) {
  try {
    return roster::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rosterd: fatal: %s\n", e.what());
    return 1;
  }
}
