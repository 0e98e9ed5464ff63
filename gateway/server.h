// The HTTP/1.1 server: sockets, sessions, timeouts, limits, graceful stop. Beast and Asio
// stay in server.cc (BUILD_NOTES pitfall 11); this header is plain C++.
//
// Shape (after Beast's advanced server): one listener; one session per connection on its
// own strand; keep-alive and pipelining (up to `pipeline_limit` requests read ahead,
// answered strictly in order). Routes that never block (health, live checks, commands,
// which answer later as deferred responses) run on the I/O thread; the others go to a
// bounded worker pool, so a blocking handler never stalls an I/O thread. Responses are
// posted back to the session's strand. Streamed responses (StreamProducer)
// run on a separate bounded stream pool and reach the socket through a bounded
// StreamQueue, with chunked transfer encoding.
//
// Limits and what happens past them:
//   body over body_limit           → 413 body_too_large, then the connection is closed
//   header block over header_limit → 431 headers_too_large, then closed
//   malformed request              → 400 malformed_request, then closed
//   no complete request within read_timeout (idle keep-alive, slowloris) → closed silently
//   a write blocked past write_timeout, a stream stalled past stream.stall_timeout → closed
//   connections over max_connections → accepted, answered 503 `unavailable` (Connection:
//       close) and closed at once, so clients see a clear answer rather than a hung SYN
//   worker queue full               → 503 `unavailable` with Retry-After: 1
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "gateway/stream_queue.h"

namespace spdlog {
class logger;
}

namespace roster::gateway {

class Dispatcher;
class HttpMetrics;
class ServerImpl;  // server.cc

struct ServerOptions {
  std::string address = "127.0.0.1";  // an IP literal, v4 or v6 (no brackets)
  uint16_t port = 8080;                // 0: any free port (see Server::port())
  // Threads running the sockets. 0: std::thread::hardware_concurrency().
  size_t io_threads = 0;
  // Threads running the handlers that may block (history queries, exports, erasure).
  // Commands do not hold one (they answer as deferred responses). ~64 KiB of stack each.
  // Default 16.
  size_t workers = 16;
  // Requests waiting for a worker before new ones get 503. Default 1024.
  size_t worker_queue = 1024;
  // Concurrent streamed responses (SSE subscribers, exports); one thread each. Over it:
  // 503. Default 16.
  size_t stream_threads = 16;
  size_t body_limit = 1 << 20;     // bytes of request body; over it: 413. Default 1 MiB.
  size_t header_limit = 16 << 10;  // bytes of request line + headers; over it: 431. 16 KiB.
  size_t max_connections = 1024;   // open connections; over it: 503 and close. Default 1024.
  size_t pipeline_limit = 8;       // requests read ahead per connection. Default 8.
  // Waiting for (and reading) a whole request on an idle connection. Default 30 s.
  std::chrono::milliseconds read_timeout{30'000};
  // Writing one response (or one chunk of a stream). Default 30 s.
  std::chrono::milliseconds write_timeout{30'000};
  // Stop(): how long in-flight requests get to finish before connections are cut. 10 s.
  std::chrono::milliseconds drain_timeout{10'000};
  StreamQueueOptions stream;       // per-stream queue bounds and stall timeout
  // Connection-level events (debug) and errors. nullptr: spdlog's default logger.
  std::shared_ptr<spdlog::logger> log;
};

class Server {
 public:
  // Borrows `dispatcher` and `metrics`, which must outlive the server.
  Server(ServerOptions options, Dispatcher& dispatcher, HttpMetrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. kIoError with the OS reason ("address already in use") on failure.
  // Call once, before Run().
  Status Listen();
  // The bound port and "host:port" ("[::1]:8080"), after Listen().
  uint16_t port() const;
  std::string endpoint() const;

  // Serves until Stop() completes: runs the I/O threads, then waits for the worker and
  // stream pools to finish. Call once, from one thread, after Listen() succeeded.
  void Run();

  // Graceful stop, from any thread (a signal thread, a handler): stop accepting, close
  // idle connections, let requests already read finish (their responses carry
  // Connection: close), ask streams to end (StreamSink::ShouldStop), and after
  // drain_timeout cut whatever is left. Returns at once; Run() returns when done.
  // Idempotent.
  void Stop();

 private:
  std::unique_ptr<ServerImpl> impl_;
};

}  // namespace roster::gateway
