// Raw events, the live event stream (SSE) and the ledger head / verification
// (API.md "Audit and events").
#include <algorithm>
#include <charconv>
#include <thread>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "base/crypto.h"
#include "events/json.h"
#include "gateway/api/common.h"
#include "projections/views.h"
#include "storage/event_store.h"

namespace roster::api {
namespace json = boost::json;

namespace {

constexpr size_t kSseBatchEvents = 256;       // events read per store scan
constexpr size_t kSseChunkBytes = 64 << 10;   // bytes handed to the sink at once
constexpr std::chrono::milliseconds kSseMaxWait{500};  // longest wait between stop checks

// One SSE message: id = position, event = type, data = the JSON envelope (one line).
void AppendSseEvent(std::string& out, const events::RecordedEvent& e) {
  out += "id: ";
  out += std::to_string(e.envelope.position);
  out += "\nevent: ";
  out += events::TypeName(e.envelope.type);
  out += "\ndata: ";
  out += json::serialize(events::RecordedToJson(e));
  out += "\n\n";
}

// Streams events from `next` on: what the log holds, then each new commit, with a comment
// line after `heartbeat` of silence; returns when the client is gone, too slow (Write
// fails), or the server stops (ShouldStop).
void ProduceSse(const storage::EventStore& store, uint64_t next,
                std::chrono::milliseconds heartbeat, gateway::StreamSink& sink) {
  using Clock = std::chrono::steady_clock;
  if (!sink.Write(": roster events from position " + std::to_string(next) + "\nretry: 1000\n\n")) {
    return;
  }
  auto last_sent = Clock::now();
  while (!sink.ShouldStop()) {
    uint64_t head = store.GetHead().position;
    if (head >= next) {
      uint64_t to = std::min<uint64_t>(head, next + kSseBatchEvents - 1);
      std::string chunk;
      bool alive = true;
      Status st = store.Scan(next, to, [&](const events::RecordedEvent& e) {
        AppendSseEvent(chunk, e);
        next = e.envelope.position + 1;
        if (chunk.size() >= kSseChunkBytes) {
          alive = sink.Write(std::move(chunk));
          chunk.clear();
        }
        return alive && !sink.ShouldStop();
      });
      if (alive && !chunk.empty()) alive = sink.Write(std::move(chunk));
      if (!alive) return;
      if (!st.ok()) {
        sink.Write(": error: " + std::string(st.code_name()) + "\n\n");  // ends; clients retry
        return;
      }
      last_sent = Clock::now();
      continue;
    }
    auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_sent);
    if (idle >= heartbeat) {
      if (!sink.Write(": heartbeat\n\n")) return;
      last_sent = Clock::now();
      continue;
    }
    auto wait = std::min(kSseMaxWait, heartbeat - idle);
    auto started = Clock::now();
    if (store.WaitForHead(next - 1, wait) < next && Clock::now() - started < wait / 4) {
      // The store woke us without news (it is shutting down): don't spin.
      std::this_thread::sleep_for(wait / 4);
    }
  }
}

}  // namespace

void RegisterEventRoutes(Router& router, Services& s) {
  router.Add(
      Method::kGet, "/v1/events",
      {.summary = "Raw events as JSON envelopes, in log order (service only)",
       .auth = gateway::AuthRequirement::kService,
       .tag = "events",
       .query = {{"from_position", "First position to return (default 1)", false, "integer"},
                 {"limit", "Events per page, 1..1000 (default 100)", false, "integer"},
                 {"cursor", "Opaque cursor from a previous answer (instead of from_position)"}}},
      [&s](const HttpRequest& req, const PathParams&, RequestContext&) {
        QueryReader q(req);
        uint64_t from = q.Uint("from_position", 1, UINT64_MAX).value_or(1);
        projections::PageRequest page = q.Page();
        if (q.ok() && !page.cursor.empty()) {
          if (req.Query("from_position")) {
            q.Fail(Error(ErrorCode::kInvalidField,
                         "cursor: give either from_position or cursor, not both"));
          } else {
            projections::DecodeCursor(page.cursor, &from);
          }
        }
        if (!q.ok()) return gateway::ProblemResponse(q.status());
        uint64_t head = s.store.GetHead().position;
        json::array list;
        uint64_t next = from;
        if (from <= head) {
          uint64_t to = std::min<uint64_t>(head, from + page.limit - 1);
          Status st = s.store.Scan(from, to, [&](const events::RecordedEvent& e) {
            list.push_back(events::RecordedToJson(e));
            next = e.envelope.position + 1;
            return true;
          });
          if (!st.ok()) return gateway::ProblemResponse(st);
        }
        json::object body;
        body["events"] = std::move(list);
        body["next_from_position"] = next;
        body["next_cursor"] = next <= head ? json::value(projections::EncodeCursor(next))
                                           : json::value(nullptr);
        body["position"] = head;
        return gateway::JsonResponse(200, body);
      });

  router.Add(
      Method::kGet, "/v1/events/stream",
      {.summary = "Server-Sent Events: catch-up from from_position (or after Last-Event-ID), "
                  "then live; id = position, event = type, data = JSON envelope (service only)",
       .auth = gateway::AuthRequirement::kService,
       .tag = "events",
       .query = {{"from_position", "First position to send (default 1)", false, "integer"}},
       .response_type = "text/event-stream"},
      [&s](const HttpRequest& req, const PathParams&, RequestContext&) {
        QueryReader q(req);
        uint64_t from = q.Uint("from_position", 1, UINT64_MAX).value_or(1);
        if (!q.ok()) return gateway::ProblemResponse(q.status());
        if (auto last = req.Header("last-event-id"); last && !last->empty()) {
          uint64_t id = 0;
          auto [end, ec] = std::from_chars(last->data(), last->data() + last->size(), id);
          if (ec != std::errc() || end != last->data() + last->size() || id == UINT64_MAX) {
            return Problem(ErrorCode::kInvalidField,
                           "Last-Event-ID: must be the position of an event this stream sent");
          }
          from = id + 1;  // resume after the last event the client saw
        }
        const storage::EventStore& store = s.store;
        std::chrono::milliseconds heartbeat = s.options.sse_heartbeat;
        gateway::HttpResponse response = gateway::StreamResponse(
            "text/event-stream", [&store, from, heartbeat](gateway::StreamSink& sink) {
              ProduceSse(store, from, heartbeat, sink);
            });
        response.WithHeader("Cache-Control", "no-cache");
        response.WithHeader("X-Accel-Buffering", "no");
        return response;
      });

  router.Add(Method::kGet, "/v1/ledger/head",
             {.summary = "The last position of the log and its chain hash", .tag = "ledger"},
             [&s](const HttpRequest&, const PathParams&, RequestContext&) {
               storage::Head head = s.store.GetHead();
               return gateway::JsonResponse(
                   200, json::object{{"position", head.position}, {"hash", ToHex(head.hash)}});
             });

  router.Add(Method::kGet, "/v1/ledger/verify",
             {.summary = "Re-walk the whole hash chain and stream index (service only)",
              .auth = gateway::AuthRequirement::kService,
              .tag = "ledger"},
             [&s](const HttpRequest&, const PathParams&, RequestContext&) {
               storage::VerifyReport report = s.store.Verify();
               json::object body{{"ok", report.ok},
                                 {"checked", report.checked},
                                 {"head_hash", ToHex(report.head.hash)},
                                 {"head_position", report.head.position},
                                 {"position", report.head.position}};
               if (!report.ok) {
                 body["first_bad_position"] = report.first_bad_position;
                 body["problem"] = report.problem;
               }
               return gateway::JsonResponse(200, body);
             });
}

}  // namespace roster::api
