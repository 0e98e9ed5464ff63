// The v1 HTTP API of /work/shared/API.md: every command and query route, registered on a
// gateway::Router. Library `roster_api` (gateway/api/); the routes are plain handlers over
// the CommandHandler (commands), the projections Engine (queries) and the EventStore (raw
// events, SSE, the ledger head and verification). No Beast here (gateway/README.md).
//
//   api::Services services{.store = *store, .handler = handler, .engine = engine,
//                          .clock = clock};
//   api::RegisterRoutes(app.router(), services);   // before App::Listen()
//
// Decisions where API.md is silent are written down in docs/api_notes.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "base/clock.h"

namespace spdlog {
class logger;
}
namespace roster::storage {
class EventStore;
}
namespace roster::commands {
class CommandHandler;
}
namespace roster::projections {
class Engine;
}
namespace roster::gateway {
class Router;
}

namespace roster::api {

class OffsetClock;

struct ApiOptions {
  // How long a command's answer waits for the projections to apply its position
  // (read-your-writes). On timeout the answer is sent anyway and a warning logged.
  // Default 5 s.
  std::chrono::milliseconds read_your_writes_timeout{5'000};
  // How long a query waits for the projections to catch up with the head seen at start-up
  // (after a restart), so a query never answers from a state older than what was
  // acknowledged before the restart. On timeout it answers from what is applied (the
  // answer's `position` says which state). Default 10 s.
  std::chrono::milliseconds startup_catch_up_timeout{10'000};
  // SSE: a comment line is sent when nothing else was sent for this long. Default 15 s.
  std::chrono::milliseconds sse_heartbeat{15'000};
  // Registers POST /_test/clock (moves `test_clock` forward). Tests only. Default false.
  bool test_routes = false;
};

// What the routes borrow. Everything must outlive the server that serves the routes
// (rosterd stops the server before it stops the engine and closes the store).
struct Services {
  storage::EventStore& store;
  commands::CommandHandler& handler;
  projections::Engine& engine;
  // The clock the handler decides with (invitation expiry in listings uses it too).
  const Clock& clock;
  ApiOptions options = {};
  // Application log (warnings: read-your-writes timeouts). nullptr: spdlog's default.
  std::shared_ptr<spdlog::logger> log;
  // The clock /_test/clock advances (with options.test_routes). May be null.
  OffsetClock* test_clock = nullptr;
  // Head of the log when the projections started (set by rosterd before serving).
  uint64_t head_at_start = 0;
};

// Registers every /v1 route of API.md (and a few extra read routes, see docs/api_notes.md)
// on `router`. `services` is borrowed and must outlive the router's use.
void RegisterRoutes(gateway::Router& router, Services& services);

}  // namespace roster::api
