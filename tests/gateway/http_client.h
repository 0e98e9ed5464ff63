// Test helpers for talking HTTP to a real server, with no Beast in sight (the one Beast
// translation unit is http_client.cc). Library `roster_test_http`, reused by every
// end-to-end test:
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

#include <boost/json/value.hpp>

namespace roster::testing {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;     // 0: no response; see `error`
  std::string error;  // what went wrong (connect, timeout, parse)
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool keep_alive = false;  // the server will keep the connection open
  bool chunked = false;     // the body came with chunked transfer encoding

  // The first value of a header (any case), "" when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // The body parsed as JSON; null when it is not JSON.
  boost::json::value Json() const;
};

// A keep-alive HTTP/1.1 client on 127.0.0.1. Reconnects when the server closed the
// connection. Not thread-safe: one per thread.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::string host = "127.0.0.1",
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult Request(std::string_view method, std::string_view target,
                     std::string_view body = {}, const HeaderList& headers = {});
  HttpResult Get(std::string_view target, const HeaderList& headers = {}) {
    return Request("GET", target, {}, headers);
  }
  HttpResult Post(std::string_view target, std::string_view body,
                  const HeaderList& headers = {}) {
    return Request("POST", target, body, headers);
  }

  // TCP connections opened so far (1 after many keep-alive requests).
  int connects() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One raw TCP connection, for what a polite client never sends: malformed requests,
// pipelined bursts, slow or never-finished requests.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port, std::string host = "127.0.0.1");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const;
  // Writes every byte (false when the connection failed).
  bool Send(std::string_view bytes);
  // Reads and parses one response (bytes after it stay buffered for the next call).
  HttpResult ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the server closes the connection (EOF or reset) within `timeout`; any bytes
  // read meanwhile are discarded.
  bool WaitClosed(std::chrono::milliseconds timeout);
  // Stops sending (TCP half-close): the server sees end of stream.
  void ShutdownSend();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

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
