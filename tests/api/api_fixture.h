// The fixture of the API end-to-end tests: the real rosterd (ROSTERD_PATH) on a free
// loopback port with a temp data dir, a service key, a JWT secret and the test routes
// (POST /_test/clock), driven over HTTP with roster_test_http. Helpers build the usual
// world (accounts, workspaces, members) through the API itself.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "tests/gateway/http_client.h"

namespace roster::testing {

namespace json = boost::json;

inline constexpr char kServiceKey[] = "api-test-service-key-0123456789";
inline constexpr char kJwtSecret[] = "api-test-jwt-secret-0123456789abcdef";

// An HS256 JWT over `payload` (or any header, for the wrong-algorithm tests).
std::string SignJwt(std::string_view secret, std::string_view payload,
                    std::string_view header = R"({"alg":"HS256","typ":"JWT"})");
// {"sub", "email", "exp": now + exp_in_seconds}, signed with kJwtSecret.
std::string UserJwt(std::string_view user_id, std::string_view email, int64_t exp_in_seconds = 3600);

HeaderList Bearer(std::string_view token);
HeaderList Service();
// The service key acting for a user (Roster-Actor + Roster-Actor-Email).
HeaderList As(std::string_view user_id, std::string_view email);
HeaderList With(HeaderList base, std::string name, std::string value);

// A JSON body as text.
std::string Body(const json::value& v);

// The parsed body of a response; an empty object when it is not a JSON object.
json::object Obj(const HttpResult& r);
std::string Str(const json::value& v);  // "" unless a string

// Prints status and body on failure.
#define EXPECT_STATUS(result, expected) \
  EXPECT_EQ((result).status, (expected)) << (result).error << " " << (result).body
#define ASSERT_STATUS(result, expected) \
  ASSERT_EQ((result).status, (expected)) << (result).error << " " << (result).body
// A problem+json with this status and code.
#define EXPECT_PROBLEM(result, expected_status, expected_code)                              \
  do {                                                                                     \
    const ::roster::testing::HttpResult& _r = (result);                                    \
    EXPECT_EQ(_r.status, (expected_status)) << _r.error << " " << _r.body;                 \
    EXPECT_EQ(_r.Header("content-type"), "application/problem+json") << _r.body;           \
    EXPECT_EQ(::roster::testing::Str(::roster::testing::Obj(_r)["code"]), (expected_code)) \
        << _r.body;                                                                        \
  } while (0)

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Extra rosterd arguments for this test (override before SetUp runs, e.g. in a derived
  // fixture's constructor).
  std::vector<std::string> extra_args_;

  RosterdProcess& server() { return *server_; }
  HttpClient& client() { return *client_; }
  std::string data_dir() const { return dir_.path() + "/data"; }
  // Restarts gracefully (SIGTERM) and reconnects; false when it did not come back.
  bool Restart();
  // SIGKILL, then start again on the same data dir.
  bool KillAndRestart();
  // Waits until GET /ready answers 200.
  bool WaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  HttpResult Call(std::string_view method, std::string_view target, std::string_view body = {},
                  const HeaderList& headers = Service());
  HttpResult Get(std::string_view target, const HeaderList& headers = Service()) {
    return Call("GET", target, {}, headers);
  }
  HttpResult Post(std::string_view target, const json::value& body,
                  const HeaderList& headers = Service()) {
    return Call("POST", target, Body(body), headers);
  }
  HttpResult Put(std::string_view target, const json::value& body,
                 const HeaderList& headers = Service()) {
    return Call("PUT", target, Body(body), headers);
  }
  HttpResult Patch(std::string_view target, const json::value& body,
                   const HeaderList& headers = Service()) {
    return Call("PATCH", target, Body(body), headers);
  }
  HttpResult Delete(std::string_view target, const HeaderList& headers = Service()) {
    return Call("DELETE", target, {}, headers);
  }

  // ---- world builders (each asserts success with ADD_FAILURE) ----
  // POST /v1/accounts; the owner is "<id>-owner" <id>-owner@example.com.
  void OpenAccount(const std::string& id, const std::string& plan = "standard",
                   const std::string& region = "global");
  void CreateWorkspace(const std::string& account, const std::string& workspace,
                       const std::string& template_name = "standard",
                       std::optional<int64_t> ttl = std::nullopt);
  // Invites (as the service) and accepts (as the user): a workspace member.
  void AddMember(const std::string& workspace, const std::string& user, const std::string& role);
  static std::string EmailOf(const std::string& user) { return user + "@example.com"; }
  // Sends an invitation as `actor`; returns the whole answer.
  json::object Invite(const std::string& workspace, const std::string& email,
                      const std::string& role, const HeaderList& actor = Service());
  uint64_t Head();

 private:
  TempDir dir_;
  std::unique_ptr<RosterdProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

// A minimal Server-Sent Events reader over a POSIX socket: sends one GET and collects the
// chunked body, event by event.
class SseReader {
 public:
  struct Event {
    std::string id, event, data;
  };
  SseReader(uint16_t port, std::string target, const HeaderList& headers);
  ~SseReader();
  bool connected() const { return fd_ >= 0; }
  int status() const { return status_; }
  // Reads until `n` events in total have arrived or the timeout passes.
  const std::vector<Event>& WaitForEvents(size_t n, std::chrono::milliseconds timeout);
  // Reads until a comment line containing `text` arrived or the timeout passes.
  bool WaitForComment(std::string_view text, std::chrono::milliseconds timeout);
  // True when the server ended the stream (terminating chunk or EOF) within the timeout.
  bool WaitForEnd(std::chrono::milliseconds timeout);
  const std::vector<Event>& events() const { return events_; }

 private:
  bool ReadSome(std::chrono::milliseconds timeout);  // false on EOF/error/timeout
  void Parse();

  int fd_ = -1;
  int status_ = 0;
  bool headers_done_ = false;
  bool ended_ = false;
  std::string raw_;       // undecoded bytes
  std::string body_;      // de-chunked body not yet parsed into events
  std::vector<std::string> comments_;
  std::vector<Event> events_;
};

}  // namespace roster::testing
