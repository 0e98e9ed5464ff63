// rosterd's log (tools/rosterd.cc, SetUpLogging): lines go through an async logger and a
// buffered stderr, so these check what an operator relies on — a line reaches stderr
// within the flush interval while the server keeps running, none is lost on a clean stop
// (SIGTERM), and the access-log format is unchanged.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "tests/gateway/http_client.h"

namespace roster::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kKey[] = "access-log-service-key-0123456789";

size_t CountOccurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::string LineWith(const std::string& log, const std::string& needle) {
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

class AccessLog : public ::testing::Test {
 protected:
  std::string data_dir() const { return dir.path() + "/data"; }
  TempDir dir;
};

TEST_F(AccessLog, ALineReachesStderrWithinTheFlushIntervalWhileServing) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {"--service-key", kKey});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  HttpClient client(rosterd.port());
  ASSERT_EQ(client.Get("/health", {{"X-Request-Id", "flush-probe-1"}}).status, 200);

  // The periodic flush is 1 s; allow for a loaded machine.
  std::string line;
  for (auto deadline = std::chrono::steady_clock::now() + 5s;
       line.empty() && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(50ms)) {
    line = LineWith(rosterd.Log(), "rid=flush-probe-1");
  }
  ASSERT_FALSE(line.empty()) << "no access line 5 s after the request:\n" << rosterd.Log();
  EXPECT_TRUE(rosterd.running());
  // The format operators and tests parse, unchanged.
  static const std::regex kFormat(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z info \[access\] GET /health 200 )"
      R"(\d+\.\d{3}ms actor=\S+ rid=flush-probe-1 bytes=\d+ remote=\S+)");
  EXPECT_TRUE(std::regex_match(line, kFormat)) << line;
  EXPECT_EQ(rosterd.Terminate(), 0) << rosterd.Log();
}

TEST_F(AccessLog, ACleanStopWritesEveryLineFirst) {
  RosterdProcess rosterd(ROSTERD_PATH, data_dir(), {"--service-key", kKey});
  ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
  constexpr int kRequests = 2000;
  {
    HttpClient client(rosterd.port());
    for (int i = 0; i < kRequests; ++i) {
      ASSERT_EQ(client.Get("/health", {{"X-Request-Id", "last-" + std::to_string(i) + "-end"}})
                    .status,
                200);
    }
  }
  // At once: most of these lines are still queued or buffered when SIGTERM arrives.
  EXPECT_EQ(rosterd.Terminate(), 0);
  std::string log = rosterd.Log();
  for (int i : {0, kRequests / 2, kRequests - 1}) {
    EXPECT_NE(log.find("rid=last-" + std::to_string(i) + "-end "), std::string::npos) << i;
  }
  EXPECT_EQ(CountOccurrences(log, "rid=last-"), size_t{kRequests});
  EXPECT_NE(log.find("received SIGTERM: stopping"), std::string::npos);
  // The very last line of a clean stop is there too, and ends the log.
  const std::string last = "ledger closed; stopped\n";
  ASSERT_GE(log.size(), last.size());
  EXPECT_EQ(log.substr(log.size() - last.size()), last) << log.substr(log.size() - 500);
}

}  // namespace
}  // namespace roster::testing
