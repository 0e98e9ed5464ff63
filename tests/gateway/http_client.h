// Test helpers for running the real server and talking HTTP to it, with no Beast in sight
// (the client is tools/http_client.h, whose .cc is the one Beast translation unit).
// Library `roster_test_http`, reused by every end-to-end test:
//
//   TempDir dir;
//   RosterdProcess rosterd(ROSTERD_PATH, dir.path() + "/data", {"--read-timeout", "500ms"});
//   ASSERT_TRUE(rosterd.Start()) << rosterd.Log();
//   HttpClient client(rosterd.port());
//   HttpResult r = client.Get("/health");
//   EXPECT_EQ(r.status, 200);
//   EXPECT_EQ(rosterd.Terminate(), 0);
//
// Everything here is synchronous and bounded by timeouts; failures are reported in the
// result (status 0 + error) rather than thrown, so a test prints what went wrong.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/http_client.h"

namespace roster::testing {

// The project's one HTTP client (tools/http_client.h), under the names the tests use.
using HeaderList = tools::HeaderList;
using HttpResult = tools::HttpReply;
using HttpClient = tools::HttpClient;
using RawConnection = tools::RawConnection;

// A free TCP port on 127.0.0.1 (bound to port 0 and released; a tiny race is possible).
uint16_t FreePort();

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The real rosterd binary as a child process, with stdout+stderr captured to a file.
class RosterdProcess {
 public:
  // `args` are passed after --data-dir DIR --listen 127.0.0.1:PORT (the port is picked
  // at Start). The child's environment is this process's minus every ROSTER_* variable,
  // plus `env`.
  RosterdProcess(std::string binary, std::string data_dir, std::vector<std::string> args = {},
                 HeaderList env = {});
  // SIGKILLs a child still running.
  ~RosterdProcess();
  RosterdProcess(const RosterdProcess&) = delete;
  RosterdProcess& operator=(const RosterdProcess&) = delete;

  // Spawns on a free port (the previous one on restarts) and waits until GET /health
  // answers 200. false when the child exited or the timeout passed (see Log()).
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Spawns with exactly these arguments (no --data-dir/--listen added) and waits for the
  // exit code; -1 on timeout (the child is killed). For start-up validation tests.
  int RunToExit(const std::vector<std::string>& args,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

  void Signal(int sig);
  // The exit code once the child exits (128 + signal when killed by one); -1 on timeout.
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGTERM, then Wait.
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGKILL, then Wait.
  void Kill();
  // Terminate (if running), then Start on the same data dir and port.
  bool Restart(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& data_dir() const { return data_dir_; }
  // Everything the child wrote to stdout and stderr so far (all runs).
  std::string Log() const;

 private:
  pid_t Spawn(const std::vector<std::string>& argv);

  std::string binary_;
  std::string data_dir_;
  std::vector<std::string> args_;
  HeaderList env_;
  std::string log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace roster::testing
