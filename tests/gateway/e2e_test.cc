// End-to-end: the real rosterd binary on a free 127.0.0.1 port with a temp data dir,
// driven over HTTP. ROSTERD_PATH comes from CMake ($<TARGET_FILE:rosterd>).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "base/crypto.h"
#include "tests/gateway/http_client.h"

namespace roster::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kKey[] = "e2e-service-key-0123456789";
constexpr char kJwtSecret[] = "e2e-jwt-secret-0123456789abcdef0123";

std::string Jwt(std::string_view secret, std::string_view payload) {
  std::string input = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                      Base64UrlEncode(payload);
  return input + "." + Base64UrlEncode(AsBytes(HmacSha256(secret, input)));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HeaderList Bearer(std::string_view token) { return {{"Authorization", "Bearer " + std::string(token)}}; }

class E2e : public ::testing::Test {
 protected:
  std::string data_dir() const { return dir.path() + "/data"; }
  TempDir dir;
};

TEST_F(E2e, OperationsEndpoints) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {}, {{"ROSTER_SERVICE_KEY", kKey}});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  HttpClient client(rosterd.port());

  HttpResult health = client.Get("/health");
  ASSERT_EQ(health.status, 200) << health.error;
  EXPECT_EQ(health.Header("content-type"), "application/json");
  EXPECT_EQ(health.Json().as_object()["status"], "ok");
  EXPECT_FALSE(health.Header("x-request-id").empty());

  HttpResult ready = client.Get("/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.Json().as_object()["status"], "ready");

  HttpResult openapi = client.Get("/openapi.json");
  ASSERT_EQ(openapi.status, 200);
  boost::json::object doc = openapi.Json().as_object();
  EXPECT_EQ(doc["openapi"], "3.1.0");
  const boost::json::object& paths = doc["paths"].as_object();
  for (const char* path : {"/health", "/ready", "/metrics", "/openapi.json", "/v1/whoami"}) {
    EXPECT_TRUE(paths.contains(path)) << path;
  }
  EXPECT_FALSE(paths.contains("/_test/sleep"));  // test routes are off by default

  HttpResult metrics = client.Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  // Counted already: our /health (and the start-up probes).
  EXPECT_NE(metrics.body.find("roster_http_requests_total{route=\"/health\",method=\"GET\","
                              "status=\"200\"} "),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("\nroster_http_open_connections "), std::string::npos);
  // The ledger's own, operators' first look when commands slow down.
  for (const char* name : {"roster_store_fsyncs_total", "roster_store_fsync_seconds_total",
                           "roster_store_fsync_max_seconds", "roster_store_slow_fsyncs_total",
                           "roster_projections_lag_events", "roster_projections_snapshot_seconds_total",
                           "roster_projections_last_snapshot_seconds"}) {
    EXPECT_NE(metrics.body.find(std::string("\n") + name + " "), std::string::npos) << name;
  }

  HttpResult echoed = client.Get("/health", {{"X-Request-Id", "trace-42"}});
  EXPECT_EQ(echoed.Header("x-request-id"), "trace-42");
  EXPECT_EQ(client.connects(), 1);  // keep-alive throughout

  EXPECT_EQ(rosterd.Terminate(), 0) << rosterd.Log();
  std::string log = rosterd.Log();
  EXPECT_NE(log.find("listening on http://127.0.0.1:" + std::to_string(rosterd.port())),
            std::string::npos);
  EXPECT_NE(log.find("GET /health 200"), std::string::npos);  // the access log
  EXPECT_NE(log.find("memory allocator: "), std::string::npos);
}

TEST_F(E2e, NotFoundAndMethodNotAllowedAreProblems) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {"--service-key", kKey});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  HttpClient client(rosterd.port());
  HttpResult nf = client.Get("/v1/nothing-here");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.Header("content-type"), "application/problem+json");
  EXPECT_EQ(nf.Json().as_object()["code"], "not_found");
  HttpResult na = client.Request("DELETE", "/health");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.Header("allow"), "GET, HEAD");
  EXPECT_EQ(na.Json().as_object()["code"], "method_not_allowed");
  EXPECT_EQ(rosterd.Terminate(), 0);
}

TEST_F(E2e, OversizedBodyIs413) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {"--service-key", kKey});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  HttpClient client(rosterd.port());
  std::string body((1 << 20) + 1, ' ');  // the default limit is 1 MiB
  HttpResult r = client.Post("/v1/whoami", body, Bearer(kKey));
  ASSERT_EQ(r.status, 413) << r.error;
  EXPECT_EQ(r.Json().as_object()["code"], "body_too_large");
  EXPECT_EQ(client.Get("/health").status, 200);  // a new connection works
  EXPECT_EQ(rosterd.Terminate(), 0);
}

TEST_F(E2e, MalformedRequestLineIs400) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {"--service-key", kKey});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  RawConnection c(rosterd.port());
  ASSERT_TRUE(c.Send("HELLO THERE\r\n\r\n"));
  HttpResult r = c.ReadResponse();
  ASSERT_EQ(r.status, 400) << r.error;
  EXPECT_EQ(r.Json().as_object()["code"], "malformed_request");
  EXPECT_TRUE(c.WaitClosed(5s));
  EXPECT_EQ(rosterd.Terminate(), 0);
}

TEST_F(E2e, AuthenticationFailuresAre401AndNothingSecretIsLogged) {
  std::string jwt =
      Jwt(kJwtSecret, R"({"sub":"u1","email":"u1@example.com","exp":)" +
                          std::to_string(time(nullptr) + 3600) + "}");
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {"--service-key", kKey},
                         {{"ROSTER_JWT_SECRET", kJwtSecret}});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  HttpClient client(rosterd.port());

  HttpResult none = client.Get("/v1/whoami");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Json().as_object()["code"], "unauthenticated");
  HttpResult bad = client.Get("/v1/whoami", Bearer("not-the-key"));
  EXPECT_EQ(bad.status, 401);
  HttpResult forged = client.Get("/v1/whoami", Bearer(Jwt("wrong-secret", R"({"sub":"x"})")));
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(forged.Json().as_object()["detail"], "JWT signature does not verify");

  HttpResult service = client.Get("/v1/whoami", Bearer(kKey));
  ASSERT_EQ(service.status, 200) << service.body;
  EXPECT_EQ(service.Json().as_object()["actor"], "service");

  HeaderList delegated = Bearer(kKey);
  delegated.emplace_back("Roster-Actor", "u5");
  delegated.emplace_back("Roster-Actor-Email", "u5@example.com");
  HttpResult as_user = client.Get("/v1/whoami", delegated);
  ASSERT_EQ(as_user.status, 200);
  EXPECT_EQ(as_user.Json().as_object()["actor"], "user:u5");
  EXPECT_EQ(as_user.Json().as_object()["delegated"], true);

  HttpResult user = client.Get("/v1/whoami", Bearer(jwt));
  ASSERT_EQ(user.status, 200) << user.body;
  EXPECT_EQ(user.Json().as_object()["user_id"], "u1");

  EXPECT_EQ(rosterd.Terminate(), 0);
  std::string log = rosterd.Log();
  EXPECT_EQ(log.find(kKey), std::string::npos);
  EXPECT_EQ(log.find(kJwtSecret), std::string::npos);
  EXPECT_EQ(log.find(jwt), std::string::npos);
  EXPECT_NE(log.find("actor=service/user:u5"), std::string::npos);
}

TEST_F(E2e, KeepAliveAndPipelinedRequestsAreAnsweredInOrder) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {"--service-key", kKey, "--enable-test-routes"});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  RawConnection c(rosterd.port());
  std::string burst;
  const std::vector<std::string> targets = {"/_test/sleep?ms=150", "/health", "/missing",
                                            "/ready", "/v1/whoami"};
  for (size_t i = 0; i < targets.size(); ++i) {
    burst += "GET " + targets[i] + " HTTP/1.1\r\nHost: t\r\nX-Request-Id: q" +
             std::to_string(i) + "\r\n\r\n";
  }
  ASSERT_TRUE(c.Send(burst));
  const std::vector<int> statuses = {200, 200, 404, 200, 401};
  for (size_t i = 0; i < targets.size(); ++i) {
    HttpResult r = c.ReadResponse();
    ASSERT_EQ(r.status, statuses[i]) << targets[i] << " " << r.error;
    EXPECT_EQ(r.Header("x-request-id"), "q" + std::to_string(i));
    EXPECT_TRUE(r.keep_alive);
  }
  EXPECT_EQ(rosterd.Terminate(), 0);
}

TEST_F(E2e, IdleAndSlowlorisConnectionsAreClosedAfterTheReadTimeout) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {"--service-key", kKey, "--read-timeout", "400ms"});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  // Before connecting: rosterd's deadline starts at accept, so it cannot be earlier.
  auto start = std::chrono::steady_clock::now();
  RawConnection slow(rosterd.port());
  RawConnection idle(rosterd.port());
  ASSERT_TRUE(slow.Send("GET /health HTTP/1.1\r\nHo"));
  EXPECT_TRUE(slow.WaitClosed(5s));
  EXPECT_TRUE(idle.WaitClosed(5s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 350ms);
  HttpClient client(rosterd.port());
  EXPECT_EQ(client.Get("/health").status, 200);  // the server itself is fine
  EXPECT_EQ(rosterd.Terminate(), 0);
}

TEST_F(E2e, SigtermLetsAnInFlightRequestCompleteThenExitsZero) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {"--service-key", kKey, "--enable-test-routes"});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  // /health and the slow request go out in one write, so rosterd reads both at once and
  // takes the slow one up in the same step that answers /health: once /health is answered
  // the slow request is in flight, however slowly an ASan rosterd runs, and SIGTERM's
  // drain comes after it. The short pause only widens that margin.
  RawConnection c(rosterd.port());
  ASSERT_TRUE(
      c.Send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /_test/sleep?ms=2000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  HttpResult health = c.ReadResponse();
  ASSERT_EQ(health.status, 200) << health.error;
  std::this_thread::sleep_for(300ms);
  rosterd.Signal(SIGTERM);
  HttpResult r = c.ReadResponse(15s);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.Json().as_object()["slept_ms"], 2000);
  EXPECT_EQ(rosterd.Wait(20s), 0) << rosterd.Log();
  EXPECT_NE(rosterd.Log().find("received SIGTERM"), std::string::npos);
}

TEST_F(E2e, ServiceKeyIsGeneratedOnceAndReusedAcrossRestarts) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir());
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  std::string path = data_dir() + "/service.key";
  ASSERT_TRUE(std::filesystem::exists(path));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string file = ReadFile(path);
  ASSERT_EQ(file.back(), '\n');
  std::string key = file.substr(0, file.size() - 1);
  EXPECT_EQ(key.size(), 43u);  // 32 bytes, base64url without padding
  {
    HttpClient client(rosterd.port());
    EXPECT_EQ(client.Get("/v1/whoami", Bearer(key)).status, 200);
  }

  ASSERT_TRUE(rosterd.Restart()) << rosterd.Log();
  EXPECT_EQ(ReadFile(path), file);
  {
    HttpClient client(rosterd.port());
    EXPECT_EQ(client.Get("/v1/whoami", Bearer(key)).status, 200);
  }
  EXPECT_EQ(rosterd.Terminate(), 0);

  std::string log = rosterd.Log();
  EXPECT_NE(log.find("service key generated and stored in " + path), std::string::npos) << log;
  EXPECT_NE(log.find("service key read from " + path), std::string::npos) << log;
  EXPECT_EQ(log.find(key), std::string::npos);  // never the key itself
}

TEST_F(E2e, AnExplicitServiceKeyWritesNoFile) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {}, {{"ROSTER_SERVICE_KEY", kKey}});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  EXPECT_FALSE(std::filesystem::exists(data_dir() + "/service.key"));
  EXPECT_EQ(rosterd.Terminate(), 0);
}

TEST_F(E2e, OptionsComeFromAConfigFile) {
  std::string config = dir.path() + "/rosterd.toml";
  std::ofstream(config) << "jwt-secret = \"" << kJwtSecret << "\"\n"
                        << "service-key = \"" << kKey << "\"\n"
                        << "cors-origin = [\"https://app.example.com\"]\n";
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {"--config", config});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  HttpClient client(rosterd.port());
  std::string jwt = Jwt(kJwtSecret, R"({"sub":"u2","email":"u2@example.com","exp":)" +
                                        std::to_string(time(nullptr) + 60) + "}");
  EXPECT_EQ(client.Get("/v1/whoami", Bearer(jwt)).status, 200);
  EXPECT_EQ(client.Get("/v1/whoami", Bearer(kKey)).status, 200);

  HttpResult pre = client.Request("OPTIONS", "/v1/whoami", {},
                                  {{"Origin", "https://app.example.com"},
                                   {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.Header("access-control-allow-origin"), "https://app.example.com");
  HttpResult other = client.Get("/health", {{"Origin", "https://elsewhere.example.com"}});
  EXPECT_EQ(other.status, 200);
  EXPECT_FALSE(other.HasHeader("access-control-allow-origin"));
  EXPECT_EQ(rosterd.Terminate(), 0);
}

TEST_F(E2e, InvalidConfigurationExitsTwoWithOneLine) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir());
  const std::vector<std::vector<std::string>> bad = {
      {},                                                        // no --data-dir
      {"--data-dir", data_dir(), "--listen", "localhost"},       // no port
      {"--data-dir", data_dir(), "--listen", "127.0.0.1:99999"},
      {"--data-dir", data_dir(), "--listen", "::1:80"},          // IPv6 without brackets
      {"--data-dir", data_dir(), "--threads", "-1"},
      {"--data-dir", data_dir(), "--workers", "0"},
      {"--data-dir", data_dir(), "--body-limit", "lots"},
      {"--data-dir", data_dir(), "--read-timeout", "5"},         // a unit is required
      {"--data-dir", data_dir(), "--log-level", "chatty"},
      {"--data-dir", data_dir(), "--cors-origin", "https://app.example.com/path"},
      {"--data-dir", data_dir(), "--no-such-flag"},
      {"--data-dir", data_dir(), "--config", dir.path() + "/missing.toml"},
  };
  for (const auto& args : bad) {
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    size_t before = rosterd.Log().size();
    EXPECT_EQ(rosterd.RunToExit(args), 2) << shown;
    std::string out = rosterd.Log().substr(before);
    EXPECT_EQ(out.rfind("rosterd: error: ", 0), 0u) << shown << "\n" << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << shown << "\n" << out;
  }
  EXPECT_EQ(rosterd.RunToExit({"--help"}), 0);
  EXPECT_EQ(rosterd.RunToExit({"--version"}), 0);
}

TEST_F(E2e, ABusyPortIsARuntimeErrorExitOne) {
  RosterdProcess first(ROSTERD_PATH, data_dir(), {"--service-key", kKey});
  ASSERT_TRUE(first.Start()) << first.Log();
  TempDir other;
  RosterdProcess second(ROSTERD_PATH, other.path() + "/data", {"--service-key", kKey});
  EXPECT_EQ(second.RunToExit({"--data-dir", other.path() + "/data", "--listen",
                              "127.0.0.1:" + std::to_string(first.port())}),
            1);
  EXPECT_NE(second.Log().find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << second.Log();
  EXPECT_EQ(first.Terminate(), 0);
}

}  // namespace
}  // namespace roster::testing
