// The server in-process, on a free port, driven over real sockets: keep-alive, pipelining,
// limits, timeouts, streaming, overload and graceful stop.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "gateway/app.h"
#include "tests/gateway/http_client.h"

namespace roster::gateway {
namespace {

using namespace std::chrono_literals;
using testing::HttpClient;
using testing::HttpResult;
using testing::RawConnection;

constexpr char kKey[] = "in-process-service-key";

std::shared_ptr<spdlog::logger> QuietLogger() {
  static auto logger =
      std::make_shared<spdlog::logger>("quiet", std::make_shared<spdlog::sinks::null_sink_mt>());
  return logger;
}

// An App on 127.0.0.1:0 served by a background thread.
class TestServer {
 public:
  explicit TestServer(ServerOptions options = {}, std::function<void(Router&)> routes = nullptr)
      : app_(MakeOptions(std::move(options))) {
    if (routes) routes(app_.router());
    Status st = app_.Listen();
    EXPECT_TRUE(st.ok()) << st.ToString();
    thread_ = std::thread([this] {
      app_.Run();
      stopped_.set_value();
    });
  }
  ~TestServer() {
    app_.Stop();
    if (thread_.joinable()) thread_.join();
  }

  uint16_t port() const { return app_.port(); }
  App& app() { return app_; }
  void Stop() { app_.Stop(); }
  // True once Run() has returned.
  bool WaitStopped(std::chrono::milliseconds timeout) {
    return stopped_future_.wait_for(timeout) == std::future_status::ready;
  }

 private:
  static AppOptions MakeOptions(ServerOptions options) {
    options.address = "127.0.0.1";
    options.port = 0;
    if (options.io_threads == 0) options.io_threads = 2;
    options.log = QuietLogger();
    return AppOptions{.server = options,
                      .auth = {.service_key = kKey},
                      .log = QuietLogger(),
                      .access_log = QuietLogger(),
                      .test_routes = true};
  }

  App app_;
  std::promise<void> stopped_;
  std::shared_future<void> stopped_future_ = stopped_.get_future().share();
  std::thread thread_;
};

std::string Get(std::string_view target, std::string_view request_id = {}) {
  std::string r = "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n";
  if (!request_id.empty()) r += "X-Request-Id: " + std::string(request_id) + "\r\n";
  return r + "\r\n";
}

// Tells a test that a handler has started, and holds the handler until the test lets it
// go, so tests wait for the request instead of guessing with sleeps. Declare it before
// the server (handlers block in it) and Release() before the end of the test.
class Gate {
 public:
  // Handler side: counts an arrival, then waits for Release() (at most 30 s, so a failed
  // test cannot hold the server's shutdown for ever).
  void Enter() {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait_for(lock, 30s, [this] { return released_; });
  }
  // Handler side, for stream producers that must not block: counts an arrival.
  void Signal() {
    std::lock_guard lock(mu_);
    ++entered_;
    cv_.notify_all();
  }
  // Test side: true once `n` handlers have arrived; false after `timeout`.
  bool WaitEntered(int n = 1, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return entered_ >= n; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  // Registers GET /held, run on a worker: enters the gate, then answers 200 {"held":true}.
  std::function<void(Router&)> Routes() {
    return [this](Router& router) {
      router.Add(Method::kGet, "/held", {.auth = AuthRequirement::kNone},
                 [this](const HttpRequest&, const PathParams&, RequestContext&) {
                   Enter();
                   return JsonResponse(200, {{"held", true}});
                 });
    };
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool released_ = false;
};

// Sends every GET at once on one connection (request ids r1, r2, …) and expects their
// answers in that order with these statuses.
void ExpectPipelinedAnswers(uint16_t port,
                            const std::vector<std::pair<std::string, int>>& requests) {
  RawConnection c(port);
  ASSERT_TRUE(c.connected());
  std::string wire;
  for (size_t i = 0; i < requests.size(); ++i) {
    wire += Get(requests[i].first, "r" + std::to_string(i + 1));
  }
  ASSERT_TRUE(c.Send(wire));
  for (size_t i = 0; i < requests.size(); ++i) {
    const std::string id = "r" + std::to_string(i + 1);
    HttpResult r = c.ReadResponse();
    ASSERT_EQ(r.status, requests[i].second) << requests[i].first << " " << r.error;
    EXPECT_EQ(r.Header("x-request-id"), id);
  }
}

TEST(Server, KeepAliveServesManyRequestsOnOneConnection) {
  TestServer server;
  HttpClient client(server.port());
  for (int i = 0; i < 5; ++i) {
    HttpResult r = client.Get("/health");
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_TRUE(r.keep_alive);
    EXPECT_EQ(r.body, R"({"status":"ok"})");
  }
  EXPECT_EQ(client.connects(), 1);
}

TEST(Server, PipelinedRequestsAreAnsweredInOrderEvenWhenTheFirstIsSlow) {
  TestServer server;
  ExpectPipelinedAnswers(server.port(), {{"/_test/sleep?ms=200", 200},
                                         {"/health", 200},
                                         {"/nope", 404},
                                         {"/ready", 200}});
}

TEST(Server, MorePipelinedRequestsThanTheQueueHoldsAreAllAnswered) {
  TestServer server({.pipeline_limit = 2});
  RawConnection c(server.port());
  std::string burst;
  for (int i = 0; i < 20; ++i) burst += Get("/health", "p" + std::to_string(i));
  ASSERT_TRUE(c.Send(burst));
  for (int i = 0; i < 20; ++i) {
    HttpResult r = c.ReadResponse();
    ASSERT_EQ(r.status, 200) << i << " " << r.error;
    EXPECT_EQ(r.Header("x-request-id"), "p" + std::to_string(i));
  }
}

TEST(Server, OversizedBodyIs413ThenClose) {
  TestServer server({.body_limit = 1024});
  RawConnection c(server.port());
  std::string body(4000, 'x');
  ASSERT_TRUE(c.Send("POST /_test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     "Content-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
  HttpResult r = c.ReadResponse();
  ASSERT_EQ(r.status, 413) << r.error;
  EXPECT_EQ(r.Header("content-type"), "application/problem+json");
  EXPECT_EQ(r.Json().as_object()["code"], "body_too_large");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(c.WaitClosed(3s));
}

TEST(Server, OversizedChunkedBodyIs413) {
  TestServer server({.body_limit = 100});
  RawConnection c(server.port());
  std::string chunk(200, 'x');
  ASSERT_TRUE(c.Send("POST /_test/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "c8\r\n" + chunk + "\r\n0\r\n\r\n"));
  HttpResult r = c.ReadResponse();
  ASSERT_EQ(r.status, 413) << r.error;
  EXPECT_TRUE(c.WaitClosed(3s));
}

TEST(Server, ExpectContinueGetsAGoAheadOrAnEarly413) {
  TestServer server({.body_limit = 1024});
  {
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send("POST /_test/echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                       "Authorization: Bearer " + std::string(kKey) +
                       "\r\nContent-Length: 9\r\n\r\n"));
    HttpResult go = c.ReadResponse();
    ASSERT_EQ(go.status, 100) << go.error;
    ASSERT_TRUE(c.Send(R"({"a":12})" " "));
    HttpResult r = c.ReadResponse();
    ASSERT_EQ(r.status, 200) << r.error << r.body;
    EXPECT_EQ(r.Json().as_object()["bytes"], 9);
  }
  {
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send("POST /_test/echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                       "Content-Length: 5000\r\n\r\n"));
    HttpResult r = c.ReadResponse();  // without sending the body
    ASSERT_EQ(r.status, 413) << r.error;
  }
}

TEST(Server, OversizedHeadersAre431ThenClose) {
  TestServer server({.header_limit = 4096});
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send("GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(8000, 'a') +
                     "\r\n\r\n"));
  HttpResult r = c.ReadResponse();
  ASSERT_EQ(r.status, 431) << r.error;
  EXPECT_EQ(r.Json().as_object()["code"], "headers_too_large");
  EXPECT_TRUE(c.WaitClosed(3s));
}

TEST(Server, MalformedRequestLineIs400ThenClose) {
  TestServer server;
  for (std::string garbage : {"GARBAGE\r\n\r\n", "GET /health HTTP/9.9\r\n\r\n",
                              "GET /he alth HTTP/1.1\r\nHost: t\r\n\r\n",
                              "GET /health HTTP/1.1\r\nBad Header\r\n\r\n"}) {
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(garbage));
    HttpResult r = c.ReadResponse();
    ASSERT_EQ(r.status, 400) << garbage << " " << r.error;
    EXPECT_EQ(r.Json().as_object()["code"], "malformed_request");
    EXPECT_TRUE(c.WaitClosed(3s)) << garbage;
  }
}

TEST(Server, NonOriginFormTargetIs400ButKeepsTheConnection) {
  TestServer server;
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send("GET http://example.com/health HTTP/1.1\r\nHost: t\r\n\r\n" +
                     Get("/health")));
  EXPECT_EQ(c.ReadResponse().status, 400);
  EXPECT_EQ(c.ReadResponse().status, 200);
}

// The read timeouts below are 1 s, not less: a loaded machine may stall the test that long
// between connecting and writing, and the server would rightly close the connection first.

TEST(Server, ASlowlorisRequestIsCutAtTheReadTimeout) {
  TestServer server({.read_timeout = 1s});
  // Before connecting: the server's deadline starts at accept, so it cannot be earlier.
  auto start = std::chrono::steady_clock::now();
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send("GET /health HTTP/1.1\r\nHost: t\r\n"));
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(c.Send("X-Slow: 1\r\n"));  // trickling bytes does not extend the deadline
  EXPECT_TRUE(c.WaitClosed(5s));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 950ms);
  EXPECT_LT(elapsed, 4s);
}

TEST(Server, AnIdleKeepAliveConnectionIsClosedAtTheReadTimeout) {
  TestServer server({.read_timeout = 1s});
  RawConnection c(server.port());
  // Before sending: the idle deadline starts once the answer is written, so not earlier.
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Send(Get("/health")));
  ASSERT_EQ(c.ReadResponse().status, 200);
  EXPECT_TRUE(c.WaitClosed(5s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 950ms);
}

TEST(Server, ASlowHandlerIsNotCutByTheReadTimeout) {
  TestServer server({.read_timeout = 1s});
  HttpClient client(server.port());
  HttpResult r = client.Get("/_test/sleep?ms=1500");  // outlasts the read timeout
  EXPECT_EQ(r.status, 200) << r.error;
}

TEST(Server, AHandlerExceptionIsA500AndTheServerGoesOn) {
  TestServer server({}, [](Router& router) {
    router.Add(Method::kGet, "/boom", {.auth = AuthRequirement::kNone},
               [](const HttpRequest&, const PathParams&, RequestContext&) -> HttpResponse {
                 throw std::logic_error("bug");
               });
  });
  HttpClient client(server.port());
  HttpResult r = client.Get("/boom");
  ASSERT_EQ(r.status, 500) << r.error;
  EXPECT_EQ(r.Json().as_object()["code"], "internal");
  EXPECT_EQ(client.Get("/health").status, 200);
}

TEST(Server, HeadAnswersHeadersOnly) {
  TestServer server;
  HttpClient client(server.port());
  HttpResult r = client.Request("HEAD", "/health");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.Header("content-length"), "15");
  EXPECT_EQ(client.Get("/health").body, R"({"status":"ok"})");  // framing intact
  EXPECT_EQ(client.connects(), 1);
}

TEST(Server, StreamsAChunkedBody) {
  TestServer server;
  HttpClient client(server.port());
  HttpResult r = client.Get("/_test/stream?chunks=100&bytes=1000");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.Header("content-type"), "text/plain");
  EXPECT_EQ(r.body.size(), 100u * 1001u);
  EXPECT_EQ(client.Get("/health").status, 200);  // the connection is reusable after
  EXPECT_EQ(client.connects(), 1);
}

TEST(Server, AStreamClientThatStopsReadingIsDroppedWithBoundedMemory) {
  std::atomic<bool> producer_done{false};
  std::atomic<int64_t> produced{0};
  ServerOptions options;
  options.stream = {.max_chunks = 4, .max_bytes = 1 << 20, .stall_timeout = 200ms};
  options.write_timeout = 1s;
  TestServer server(options, [&](Router& router) {
    router.Add(Method::kGet, "/firehose", {.auth = AuthRequirement::kNone},
               [&](const HttpRequest&, const PathParams&, RequestContext&) {
                 return StreamResponse("text/plain", [&](StreamSink& sink) {
                   std::string chunk(64 << 10, 'x');
                   while (sink.Write(chunk)) produced.fetch_add(static_cast<int64_t>(chunk.size()));
                   producer_done.store(true);
                 });
               });
  });
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send(Get("/firehose")));  // and never read
  for (int i = 0; i < 200 && !producer_done.load(); ++i) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(producer_done.load());
  // Socket buffers plus the queue: megabytes, not unbounded.
  EXPECT_LT(produced.load(), int64_t{64} << 20);
  HttpClient client(server.port());
  bool counted = false;
  for (int i = 0; i < 60 && !counted; ++i) {
    counted = client.Get("/metrics").body.find("roster_http_dropped_streams_total 1") !=
              std::string::npos;
    if (!counted) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(counted);
  EXPECT_TRUE(c.WaitClosed(3s));
}

TEST(Server, AFullWorkerQueueAnswers503WithRetryAfter) {
  Gate gate;
  TestServer server({.workers = 1, .worker_queue = 0}, gate.Routes());
  std::future<HttpResult> held = std::async(std::launch::async, [&] {
    HttpClient client(server.port());
    return client.Get("/held");
  });
  EXPECT_TRUE(gate.WaitEntered());  // the one worker is taken until Release()
  HttpClient client(server.port());
  // /metrics runs on a worker; /health runs inline on the I/O thread (RouteInfo::run_inline),
  // so it still answers while every worker is busy.
  HttpResult r = client.Get("/metrics");
  EXPECT_EQ(r.status, 503) << r.error;
  EXPECT_EQ(r.Json().as_object()["code"], "unavailable");
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_EQ(client.Get("/health").status, 200);
  gate.Release();
  EXPECT_EQ(held.get().status, 200);
  // The worker frees up a moment after its answer went out.
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) {
    status = client.Get("/metrics").status;
    if (status != 200) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(status, 200);
}

TEST(Server, ConnectionsOverTheCapAreAnswered503AndClosed) {
  TestServer server({.max_connections = 2});
  HttpClient a(server.port()), b(server.port());
  ASSERT_EQ(a.Get("/health").status, 200);
  ASSERT_EQ(b.Get("/health").status, 200);
  RawConnection c(server.port());
  HttpResult r = c.ReadResponse();
  EXPECT_EQ(r.status, 503) << r.error;
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(c.WaitClosed(3s));
  EXPECT_EQ(a.Get("/health").status, 200);  // the others are unaffected
}

// Stops `server` while a GET of `target` is in flight — its handler has entered `gate` —
// and expects it answered, with Connection: close, then Run() to return and nothing more
// to be accepted. `server` must run one I/O thread: then an idle connection closed by the
// stop proves the stop has reached every connection (Server::Stop posts to them all from
// one handler), and the handler is let go only after that, so its answer cannot go out
// before the stop, however the threads are scheduled.
void ExpectStopLetsInFlightFinish(TestServer& server, Gate& gate, const std::string& target) {
  RawConnection idle(server.port());
  EXPECT_TRUE(idle.Send(Get("/health")));
  EXPECT_EQ(idle.ReadResponse().status, 200);
  std::future<HttpResult> in_flight = std::async(std::launch::async, [&] {
    HttpClient client(server.port());
    return client.Get(target);
  });
  EXPECT_TRUE(gate.WaitEntered());  // read, and its handler running
  server.Stop();
  EXPECT_TRUE(idle.WaitClosed(10s));
  gate.Release();
  HttpResult r = in_flight.get();
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_FALSE(r.keep_alive);  // Connection: close while draining
  EXPECT_TRUE(server.WaitStopped(10s));
  HttpClient late(server.port());
  EXPECT_EQ(late.Get("/health").status, 0);  // no longer accepting
}

TEST(Server, StopLetsAnInFlightRequestFinish) {
  Gate gate;
  TestServer server({.io_threads = 1, .drain_timeout = 10s}, gate.Routes());
  ExpectStopLetsInFlightFinish(server, gate, "/held");
}

// Deferred answers over real sockets: a route that runs inline and answers later from
// another thread (as commands answer from the log's completion).
class LaterAnswers {
 public:
  ~LaterAnswers() {
    gate_.Release();
    std::lock_guard lock(mu_);
    threads_.clear();  // joins
  }
  // Registers GET /later?ms=N (inline; answers 200 {"ms": N} from a thread after N ms).
  // With &hold=1 the thread first enters gate().
  std::function<void(Router&)> Routes() {
    return [this](Router& router) {
      router.Add(Method::kGet, "/later",
                 {.auth = AuthRequirement::kNone, .run_inline = AlwaysInline},
                 [this](const HttpRequest& req, const PathParams&, RequestContext&) {
                   int ms = std::stoi(std::string(req.Query("ms").value_or("0")));
                   bool hold = req.Query("hold").value_or("") == "1";
                   return Deferred([this, ms, hold](Respond respond) {
                     std::lock_guard lock(mu_);
                     threads_.emplace_back([this, ms, hold, respond] {
                       if (hold) gate_.Enter();
                       std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                       respond(JsonResponse(200, {{"ms", ms}}));
                     });
                   });
                 });
    };
  }
  Gate& gate() { return gate_; }

 private:
  Gate gate_;
  std::mutex mu_;
  std::vector<std::jthread> threads_;
};

TEST(Server, DeferredAnswersKeepPipelinedOrder) {
  LaterAnswers later;  // outlives the server: its threads answer into it
  TestServer server({}, later.Routes());
  ExpectPipelinedAnswers(server.port(), {{"/later?ms=200", 200},
                                         {"/health", 200},
                                         {"/later?ms=10", 200},
                                         {"/nope", 404}});
}

TEST(Server, ManyConnectionsWithDeferredAnswersInFlight) {
  LaterAnswers later;
  TestServer server({}, later.Routes());
  std::vector<std::future<int>> clients;
  for (int i = 0; i < 16; ++i) {
    clients.push_back(std::async(std::launch::async, [&] {
      HttpClient client(server.port());
      int ok = 0;
      for (int j = 0; j < 5; ++j) ok += client.Get("/later?ms=5").status == 200 ? 1 : 0;
      return ok;
    }));
  }
  for (auto& c : clients) EXPECT_EQ(c.get(), 5);
}

TEST(Server, StopWaitsForADeferredAnswer) {
  LaterAnswers later;
  TestServer server({.io_threads = 1, .drain_timeout = 10s}, later.Routes());
  ExpectStopLetsInFlightFinish(server, later.gate(), "/later?ms=0&hold=1");
}

TEST(Server, StopClosesIdleConnectionsAtOnce) {
  TestServer server({.drain_timeout = 10s});
  RawConnection idle(server.port());
  ASSERT_TRUE(idle.Send(Get("/health")));
  ASSERT_EQ(idle.ReadResponse().status, 200);
  auto start = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_TRUE(idle.WaitClosed(3s));
  EXPECT_TRUE(server.WaitStopped(3s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(Server, StopEndsALiveStream) {
  Gate streaming;  // signalled once the first chunk is queued; never blocks
  TestServer server({.drain_timeout = 5s}, [&](Router& router) {
    router.Add(Method::kGet, "/live", {.auth = AuthRequirement::kNone},
               [&](const HttpRequest&, const PathParams&, RequestContext&) {
                 return StreamResponse("text/plain", [&](StreamSink& sink) {
                   if (!sink.Write("first\n")) return;
                   streaming.Signal();
                   while (!sink.ShouldStop()) {  // ends only when the server stops
                     if (!sink.Write("more\n")) return;
                     std::this_thread::sleep_for(20ms);
                   }
                 });
               });
  });
  std::future<HttpResult> stream = std::async(std::launch::async, [&] {
    HttpClient client(server.port());
    return client.Get("/live");
  });
  EXPECT_TRUE(streaming.WaitEntered());
  server.Stop();
  HttpResult r = stream.get();
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.body.rfind("first\n", 0), 0u);
  EXPECT_TRUE(server.WaitStopped(10s));
}

TEST(Server, TheDrainDeadlineCutsWhatIsLeft) {
  Gate gate;
  TestServer server({.drain_timeout = 200ms}, gate.Routes());
  std::future<HttpResult> in_flight = std::async(std::launch::async, [&] {
    HttpClient client(server.port());
    return client.Get("/held");
  });
  EXPECT_TRUE(gate.WaitEntered());  // read: the stop does not close it as idle
  auto start = std::chrono::steady_clock::now();
  server.Stop();
  HttpResult r = in_flight.get();
  EXPECT_EQ(r.status, 0);  // cut: no answer
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  gate.Release();  // Run() returns once the worker is free
  EXPECT_TRUE(server.WaitStopped(10s));
}

}  // namespace
}  // namespace roster::gateway
