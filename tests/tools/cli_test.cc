// `roster` subcommands spawned as processes, as an operator would run them.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/gateway/http_client.h"

namespace roster::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kKey[] = "cli-test-service-key-0123456789";

struct RunResult {
  int code = -1;
  std::string out, err;
};

// Runs `roster args…` to completion (bounded), capturing stdout and stderr.
RunResult Roster(const std::vector<std::string>& args, std::chrono::seconds timeout = 120s) {
  TempDir tmp;
  std::string out_path = tmp.path() + "/out", err_path = tmp.path() + "/err";
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<std::string> copy = args;
    std::vector<char*> argv{const_cast<char*>(ROSTER_PATH)};
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(ROSTER_PATH, argv.data());
    _exit(127);
  }
  RunResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.err = "timed out";
      return r;
    }
    std::this_thread::sleep_for(10ms);
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream o(out_path), e(err_path);
  std::stringstream so, se;
  so << o.rdbuf();
  se << e.rdbuf();
  r.out = so.str();
  r.err = se.str();
  return r;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    rosterd = std::make_unique<RosterdProcess>(ROSTERD_PATH, data_dir(), std::vector<std::string>{},
                                               HeaderList{{"ROSTER_SERVICE_KEY", kKey}});
    ASSERT_TRUE(rosterd->Start()) << rosterd->Log();
    client = std::make_unique<HttpClient>(rosterd->port());
  }
  std::string data_dir() const { return dir.path() + "/data"; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(rosterd->port()); }

  json::object Call(std::string_view method, const std::string& target, const json::object& body,
                    const std::string& as_user = "", const std::string& email = "") {
    HeaderList h{{"Authorization", std::string("Bearer ") + kKey}};
    if (!as_user.empty()) {
      h.emplace_back("Roster-Actor", as_user);
      h.emplace_back("Roster-Actor-Email", email);
    }
    HttpResult r = client->Request(method, target, json::serialize(body), h);
    EXPECT_GE(r.status, 200) << method << " " << target << ": " << r.body << r.error;
    EXPECT_LT(r.status, 300) << method << " " << target << ": " << r.body;
    auto j = r.Json();
    return j.is_object() ? j.as_object() : json::object();
  }
  json::object Get(const std::string& target) { return Call("GET", target, {}); }

  // Account acme, workspace w1 "Marker-Workspace-QZX", bo invited as editor and accepted.
  uint64_t Seed() {
    Call("POST", "/v1/accounts", {{"account_id", "acme"}, {"name", "Acme"}, {"plan", "standard"},
                                  {"region", "eu"},
                                  {"owner", {{"user_id", "ana"}, {"email", "ana@acme.example"}}}});
    auto ws = Call("POST", "/v1/accounts/acme/workspaces",
                   {{"workspace_id", "w1"}, {"name", "Marker-Workspace-QZX"}, {"template", "standard"}});
    auto inv = Call("POST", "/v1/workspaces/w1/invitations",
                    {{"email", "bo@acme.example"}, {"role", "editor"}});
    Call("POST", "/v1/invitations/accept", {{"token", inv["token"]}}, "bo", "bo@acme.example");
    return ws["position"].to_number<uint64_t>();
  }

  uint64_t Head() { return Get("/v1/ledger/head")["position"].to_number<uint64_t>(); }

  TempDir dir;
  std::unique_ptr<RosterdProcess> rosterd;
  std::unique_ptr<HttpClient> client;
};

TEST_F(Cli, EverySubcommandHasHelp) {
  for (const char* sub : {"serve", "verify", "replay", "export", "import", "demo", "bench"}) {
    RunResult r = Roster({sub, "--help"});
    if (std::string(sub) == "serve") continue;  // serve forwards everything to rosterd
    EXPECT_EQ(r.code, 0) << sub << r.err;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub << r.out;
  }
  // Usage errors exit 2 (docs/cli.md) with CLI11's message naming what is wrong.
  RunResult bad = Roster({"verify"});
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--data-dir"), std::string::npos) << bad.err;
  RunResult unknown = Roster({"bench", "nope"});
  EXPECT_EQ(unknown.code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("nope"), std::string::npos) << unknown.err;
}

// A cleanly stopped rosterd leaves its events in SST files (the store flushes on close);
// a byte flipped there is named by position although RocksDB rejects the whole block.
TEST_F(Cli, VerifyPassesOnAGoodLogAndNamesTheEventOfAFlippedByte) {
  uint64_t marked = Seed();
  uint64_t head = Head();
  // Beside the running server (read-only open takes no lock), then against it.
  RunResult live = Roster({"verify", "--data-dir", data_dir(), "--against", url(), "--service-key", kKey});
  EXPECT_EQ(live.code, 0) << live.out << live.err;
  EXPECT_NE(live.out.find("ok: " + std::to_string(head) + " events"), std::string::npos) << live.out;
  EXPECT_NE(live.out.find("match"), std::string::npos) << live.out;

  ASSERT_EQ(rosterd->Terminate(), 0) << rosterd->Log();
  std::string copy = dir.path() + "/copy";
  fs::copy(data_dir(), copy, fs::copy_options::recursive);
  // Flip one byte of the workspace's name wherever the event is stored in the copy.
  int flipped = 0;
  for (const auto& entry : fs::recursive_directory_iterator(copy + "/ledger")) {
    if (!entry.is_regular_file()) continue;
    std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string bytes = ss.str();
    size_t at = bytes.find("Marker-Workspace-QZX");
    if (at == std::string::npos) continue;
    f.seekp(static_cast<std::streamoff>(at + 7));
    f.put('m');  // "Marker-workspace-QZX"
    ++flipped;
  }
  ASSERT_GT(flipped, 0) << "the marker is in no file of the ledger";
  RunResult bad = Roster({"verify", "--data-dir", copy});
  EXPECT_EQ(bad.code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("BAD at position " + std::to_string(marked)), std::string::npos)
      << bad.out << bad.err;
  RunResult bad_json = Roster({"verify", "--data-dir", copy, "--json"});
  auto j = json::parse(bad_json.out).as_object();
  EXPECT_FALSE(j["ok"].as_bool());
  EXPECT_EQ(j["first_bad_position"].to_number<uint64_t>(), marked);
  // The original is untouched.
  EXPECT_EQ(Roster({"verify", "--data-dir", data_dir()}).code, 0);
}

TEST_F(Cli, ReplayAnswersMatchTheLiveServersAsOfAnswers) {
  Seed();
  uint64_t joined = Head();
  Call("PATCH", "/v1/workspaces/w1/members/bo", {{"role", "viewer"}});
  uint64_t demoted = Head();
  Call("DELETE", "/v1/workspaces/w1/members/bo", {});
  uint64_t removed = Head();
  for (uint64_t at : {joined, demoted, removed}) {
    for (const char* permission : {"content.edit", "content.view", "team.manage"}) {
      auto live = Get("/v1/check?principal=bo&workspace=w1&permission=" + std::string(permission) +
                      "&at_position=" + std::to_string(at));
      RunResult r = Roster({"replay", "--data-dir", data_dir(), "--until-position", std::to_string(at),
                      "check", "--principal", "bo", "--workspace", "w1", "--permission", permission});
      ASSERT_EQ(r.code, 0) << r.err;
      auto replayed = json::parse(r.out).as_object();
      EXPECT_EQ(replayed["allowed"], live["allowed"]) << permission << " at " << at;
      EXPECT_EQ(replayed["reason"], live["reason"]) << permission << " at " << at;
      EXPECT_EQ(replayed["position"].to_number<uint64_t>(), at);
    }
  }
  // Members: the replay at the head equals the live view.
  RunResult m = Roster({"replay", "--data-dir", data_dir(), "--until-position", std::to_string(removed),
                  "members", "--workspace", "w1"});
  ASSERT_EQ(m.code, 0) << m.err;
  EXPECT_EQ(json::parse(m.out).as_object()["members"], Get("/v1/workspaces/w1/members")["members"]);
  // Access review between the join and the removal, by time.
  auto first = Get("/v1/events?from_position=" + std::to_string(joined) + "&limit=1");
  auto last = Get("/v1/events?from_position=" + std::to_string(removed) + "&limit=1");
  std::string t1(first["events"].as_array()[0].as_object()["recorded_at"].as_string());
  std::string t2(last["events"].as_array()[0].as_object()["recorded_at"].as_string());
  auto live_review = Get("/v1/workspaces/w1/access-review?from=" + t1 + "&to=" + t2);
  RunResult review = Roster({"replay", "--data-dir", data_dir(), "--until-position", std::to_string(removed),
                       "access-review", "--workspace", "w1", "--from", t1, "--to", t2});
  ASSERT_EQ(review.code, 0) << review.err;
  auto replayed_review = json::parse(review.out).as_object();
  for (const char* k : {"gained", "lost", "changed"}) {
    EXPECT_EQ(replayed_review[k], live_review[k]) << k;
  }
}

TEST_F(Cli, ExportRoundTripsEveryEvent) {
  Seed();
  Call("POST", "/v1/workspaces/w1/invitations", {{"email", "=cmd@evil.example"}, {"role", "viewer"}});
  uint64_t head = Head();
  auto events = Get("/v1/events?from_position=1&limit=1000")["events"].as_array();
  ASSERT_EQ(events.size(), head);

  RunResult jsonl = Roster({"export", "--data-dir", data_dir(), "--format", "jsonl"});
  ASSERT_EQ(jsonl.code, 0) << jsonl.err;
  std::istringstream lines(jsonl.out);
  std::string line;
  uint64_t n = 0;
  while (std::getline(lines, line)) {
    auto entry = json::parse(line).as_object();
    ++n;
    EXPECT_EQ(entry["position"].to_number<uint64_t>(), n);
    const auto& event = events[n - 1].as_object();
    EXPECT_EQ(entry["hash"], event.at("hash")) << n;
    EXPECT_EQ(entry["type"], event.at("type")) << n;
  }
  EXPECT_EQ(n, head);

  std::string file = dir.path() + "/audit.csv";
  RunResult csv = Roster({"export", "--data-dir", data_dir(), "--format", "csv", "-o", file});
  ASSERT_EQ(csv.code, 0) << csv.err;
  std::ifstream in(file);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header.rfind("position,", 0), 0u) << header;
  std::set<uint64_t> positions;
  std::string row;
  while (std::getline(in, row)) positions.insert(std::strtoull(row.c_str(), nullptr, 10));
  EXPECT_EQ(positions.size(), head);
  EXPECT_EQ(csv.out, "");
  std::ifstream again(file);
  std::stringstream all;
  all << again.rdbuf();
  EXPECT_EQ(all.str().find(",=cmd@"), std::string::npos) << "formula cells must be neutralised";

  RunResult filtered = Roster({"export", "--data-dir", data_dir(), "--type", "InviteSent"});
  ASSERT_EQ(filtered.code, 0) << filtered.err;
  EXPECT_EQ(std::count(filtered.out.begin(), filtered.out.end(), '\n'), 2);
}

TEST_F(Cli, AnImportKilledMidwayAndRerunLeavesEachRowOnce) {
  constexpr int kMembers = 400;
  std::string file = dir.path() + "/team.jsonl";
  {
    std::ofstream out(file);
    out << R"({"kind":"account","account_id":"imp","name":"Imported","plan":"standard","region":"eu","owner":{"user_id":"boss","email":"boss@imp.example"}})" "\n";
    out << R"({"kind":"workspace","account_id":"imp","workspace_id":"iw","name":"Imported WS","template":"orders"})" "\n";
    out << R"({"kind":"account_member","account_id":"imp","user_id":"aux","email":"aux@imp.example","role":"admin"})" "\n";
    out << "this line is not json\n";
    out << R"({"kind":"member","workspace_id":"iw","user_id":"bad","email":"not-an-email","role":"reviewer"})" "\n";
    for (int i = 0; i < kMembers; ++i) {
      out << R"({"kind":"member","workspace_id":"iw","user_id":"u)" << i << R"(","email":"u)" << i
          << R"(@imp.example","role":")" << (i % 3 == 0 ? "approver" : "reviewer") << "\"}\n";
    }
  }
  // First run, killed while it works.
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execl(ROSTER_PATH, ROSTER_PATH, "import", "--url", url().c_str(), "--service-key", kKey,
            file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until some members exist, then SIGKILL.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  size_t before_kill = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    HttpResult r = client->Get("/v1/workspaces/iw/members?limit=1000",
                               {{"Authorization", std::string("Bearer ") + kKey}});
    if (r.status == 200) {
      before_kill = r.Json().as_object()["members"].as_array().size();
      if (before_kill >= 20) break;
    }
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_GE(before_kill, 20u);

  std::string rejects = dir.path() + "/rejects.txt";
  RunResult rerun = Roster({"import", "--url", url(), "--service-key", kKey, "--rejects", rejects, file});
  EXPECT_EQ(rerun.code, 1) << "two rows are bad: " << rerun.err;
  EXPECT_NE(rerun.err.find("2 rejected"), std::string::npos) << rerun.err;
  std::ifstream rj(rejects);
  std::stringstream rs;
  rs << rj.rdbuf();
  EXPECT_NE(rs.str().find("line 4: malformed_json"), std::string::npos) << rs.str();
  EXPECT_NE(rs.str().find("line 5: invalid_email"), std::string::npos) << rs.str();

  auto members = Get("/v1/workspaces/iw/members?limit=1000")["members"].as_array();
  std::map<std::string, int> seen;
  for (const auto& m : members) ++seen[std::string(m.as_object().at("user_id").as_string())];
  for (int i = 0; i < kMembers; ++i) EXPECT_EQ(seen["u" + std::to_string(i)], 1) << i;
  // Exactly one invitation per imported member, however often rows were sent.
  auto sent = Get("/v1/audit?workspace=iw&type=InviteSent&limit=1000")["entries"].as_array();
  EXPECT_EQ(sent.size(), static_cast<size_t>(kMembers));
  // A third run changes nothing.
  uint64_t head = Head();
  EXPECT_EQ(Roster({"import", "--url", url(), "--service-key", kKey, file}).code, 1);
  EXPECT_EQ(Head(), head);
}

TEST_F(Cli, DemoSeedsARealisticLedgerAndIsSafeToRerun) {
  RunResult first = Roster({"demo", "--url", url(), "--service-key", kKey});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("curl"), std::string::npos);
  uint64_t head = Head();
  RunResult second = Roster({"demo", "--url", url(), "--service-key", kKey});
  ASSERT_EQ(second.code, 0) << second.out << second.err;
  EXPECT_EQ(Head(), head);
  auto partners = Get("/v1/workspaces/spring-catalogue/partners");
  std::set<std::string> statuses;
  for (const auto& p : partners["partners"].as_array()) {
    statuses.insert(std::string(p.as_object().at("status").as_string()));
  }
  EXPECT_EQ(statuses, (std::set<std::string>{"active", "suspended"}));
  auto rev = Get("/v1/users/rev/access")["workspaces"].as_array();
  EXPECT_EQ(rev.size(), 2u) << "one person, two workspaces";
  EXPECT_EQ(Roster({"verify", "--data-dir", data_dir()}).code, 0);
}

}  // namespace
}  // namespace roster::testing
