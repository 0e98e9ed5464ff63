#include "tests/api/api_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <ctime>
#include <thread>

#include "base/crypto.h"

namespace roster::testing {

using namespace std::chrono_literals;

std::string SignJwt(std::string_view secret, std::string_view payload, std::string_view header) {
  std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  return input + "." + Base64UrlEncode(AsBytes(HmacSha256(secret, input)));
}

std::string UserJwt(std::string_view user_id, std::string_view email, int64_t exp_in_seconds) {
  json::object claims{{"sub", user_id},
                      {"email", email},
                      {"exp", static_cast<int64_t>(std::time(nullptr)) + exp_in_seconds}};
  return SignJwt(kJwtSecret, json::serialize(claims));
}

HeaderList Bearer(std::string_view token) {
  return {{"Authorization", "Bearer " + std::string(token)}};
}

HeaderList Service() { return Bearer(kServiceKey); }

HeaderList As(std::string_view user_id, std::string_view email) {
  HeaderList h = Service();
  h.emplace_back("Roster-Actor", std::string(user_id));
  h.emplace_back("Roster-Actor-Email", std::string(email));
  return h;
}

HeaderList With(HeaderList base, std::string name, std::string value) {
  base.emplace_back(std::move(name), std::move(value));
  return base;
}

std::string Body(const json::value& v) { return json::serialize(v); }

json::object Obj(const HttpResult& r) {
  json::value v = r.Json();
  return v.is_object() ? v.as_object() : json::object{};
}

std::string Str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : std::string();
}

// ---- fixture ----

void ApiTest::SetUp() {
  std::vector<std::string> args = {"--enable-test-routes", "--sse-heartbeat", "300ms",
                                   "--drain-timeout", "2s", "--log-level", "warn"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  server_ = std::make_unique<RosterdProcess>(
      ROSTERD_PATH, data_dir(), args,
      HeaderList{{"ROSTER_SERVICE_KEY", kServiceKey}, {"ROSTER_JWT_SECRET", kJwtSecret}});
  ASSERT_TRUE(server_->Start()) << server_->Log();
  client_ = std::make_unique<HttpClient>(server_->port(), "127.0.0.1", 30s);
  ASSERT_TRUE(WaitReady()) << server_->Log();
}

void ApiTest::TearDown() {
  client_.reset();
  if (server_ && server_->running()) {
    int code = server_->Terminate();
    EXPECT_EQ(code, 0) << server_->Log();
  }
}

bool ApiTest::Restart() {
  client_.reset();
  if (!server_->Restart()) return false;
  client_ = std::make_unique<HttpClient>(server_->port(), "127.0.0.1", 30s);
  return WaitReady();
}

bool ApiTest::KillAndRestart() {
  client_.reset();
  server_->Kill();
  if (!server_->Start()) return false;
  client_ = std::make_unique<HttpClient>(server_->port(), "127.0.0.1", 30s);
  return WaitReady();
}

bool ApiTest::WaitReady(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (client_->Get("/ready").status == 200) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

HttpResult ApiTest::Call(std::string_view method, std::string_view target, std::string_view body,
                         const HeaderList& headers) {
  HeaderList h = headers;
  if (!body.empty()) h.emplace_back("Content-Type", "application/json");
  return client_->Request(method, target, body, h);
}

void ApiTest::OpenAccount(const std::string& id, const std::string& plan,
                          const std::string& region) {
  HttpResult r = Post("/v1/accounts", {{"account_id", id},
                                       {"name", "Account " + id},
                                       {"plan", plan},
                                       {"region", region},
                                       {"owner", {{"user_id", id + "-owner"},
                                                  {"email", EmailOf(id + "-owner")}}}});
  if (r.status != 201) ADD_FAILURE() << "open account " << id << ": " << r.status << " " << r.body;
}

void ApiTest::CreateWorkspace(const std::string& account, const std::string& workspace,
                              const std::string& template_name, std::optional<int64_t> ttl) {
  json::object body{{"workspace_id", workspace}, {"name", "Workspace " + workspace},
                    {"template", template_name}};
  if (ttl) body["invite_ttl_seconds"] = *ttl;
  HttpResult r = Post("/v1/accounts/" + account + "/workspaces", body);
  if (r.status != 201) {
    ADD_FAILURE() << "create workspace " << workspace << ": " << r.status << " " << r.body;
  }
}

json::object ApiTest::Invite(const std::string& workspace, const std::string& email,
                             const std::string& role, const HeaderList& actor) {
  HttpResult r = Post("/v1/workspaces/" + workspace + "/invitations",
                      {{"email", email}, {"role", role}}, actor);
  if (r.status != 201) ADD_FAILURE() << "invite " << email << ": " << r.status << " " << r.body;
  return Obj(r);
}

void ApiTest::AddMember(const std::string& workspace, const std::string& user,
                        const std::string& role) {
  json::object inv = Invite(workspace, EmailOf(user), role);
  HttpResult r = Post("/v1/invitations/accept", {{"token", inv["token"]}}, As(user, EmailOf(user)));
  if (r.status != 200) ADD_FAILURE() << "accept " << user << ": " << r.status << " " << r.body;
}

uint64_t ApiTest::Head() {
  HttpResult r = Get("/v1/ledger/head");
  return Obj(r)["position"].to_number<uint64_t>();
}

// ---- SSE reader ----

SseReader::SseReader(uint16_t port, std::string target, const HeaderList& headers) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "\r\n";
  if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd_);
    fd_ = -1;
  }
}

SseReader::~SseReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool SseReader::ReadSome(std::chrono::milliseconds timeout) {
  if (fd_ < 0 || ended_) return false;
  pollfd p{fd_, POLLIN, 0};
  int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n <= 0) return false;
  char buf[16384];
  ssize_t got = ::recv(fd_, buf, sizeof(buf), 0);
  if (got <= 0) {
    ended_ = true;
    return false;
  }
  raw_.append(buf, static_cast<size_t>(got));
  Parse();
  return true;
}

void SseReader::Parse() {
  if (!headers_done_) {
    size_t end = raw_.find("\r\n\r\n");
    if (end == std::string::npos) return;
    std::string head = raw_.substr(0, end);
    raw_.erase(0, end + 4);
    headers_done_ = true;
    if (head.size() > 12) status_ = std::atoi(head.substr(9, 3).c_str());
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("transfer-encoding: chunked") == std::string::npos) {
      ended_ = true;  // not a stream (e.g. a problem+json): nothing more to parse
      return;
    }
  }
  // De-chunk.
  while (true) {
    size_t line_end = raw_.find("\r\n");
    if (line_end == std::string::npos) break;
    size_t size = std::strtoul(raw_.substr(0, line_end).c_str(), nullptr, 16);
    if (size == 0 && line_end > 0) {
      ended_ = true;
      raw_.clear();
      break;
    }
    if (raw_.size() < line_end + 2 + size + 2) break;
    body_.append(raw_, line_end + 2, size);
    raw_.erase(0, line_end + 2 + size + 2);
  }
  // Messages end with a blank line.
  while (true) {
    size_t end = body_.find("\n\n");
    if (end == std::string::npos) break;
    std::string message = body_.substr(0, end);
    body_.erase(0, end + 2);
    Event e;
    bool any = false;
    size_t start = 0;
    while (start <= message.size()) {
      size_t nl = message.find('\n', start);
      std::string line = message.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if (!line.empty() && line[0] == ':') {
        comments_.push_back(line);
      } else if (line.rfind("id: ", 0) == 0) {
        e.id = line.substr(4);
        any = true;
      } else if (line.rfind("event: ", 0) == 0) {
        e.event = line.substr(7);
        any = true;
      } else if (line.rfind("data: ", 0) == 0) {
        e.data += line.substr(6);
        any = true;
      }
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    if (any && !e.data.empty()) events_.push_back(std::move(e));
  }
}

const std::vector<SseReader::Event>& SseReader::WaitForEvents(size_t n,
                                                              std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (events_.size() < n && std::chrono::steady_clock::now() < deadline && !ended_) {
    ReadSome(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
  }
  return events_;
}

bool SseReader::WaitForComment(std::string_view text, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto seen = [&] {
    for (const auto& c : comments_) {
      if (c.find(text) != std::string::npos) return true;
    }
    return false;
  };
  while (!seen() && std::chrono::steady_clock::now() < deadline && !ended_) {
    ReadSome(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
  }
  return seen();
}

bool SseReader::WaitForEnd(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ended_ && std::chrono::steady_clock::now() < deadline) {
    ReadSome(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
  }
  return ended_;
}

}  // namespace roster::testing
