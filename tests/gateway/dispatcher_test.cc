#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "gateway/dispatcher.h"
#include "gateway/stream_queue.h"

namespace roster::gateway {
namespace {

constexpr char kKey[] = "service-key-for-dispatcher-tests";

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest()
      : http_metrics(registry),
        auth({.service_key = kKey, .jwt_secret = "jwt-secret"}),
        sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text)),
        logger(std::make_shared<spdlog::logger>("test", sink)) {
    router.Add(Method::kGet, "/open", {.auth = AuthRequirement::kNone},
               [](const HttpRequest&, const PathParams&, RequestContext& ctx) {
                 return JsonResponse(200, {{"actor", ctx.principal.Actor()}});
               });
    router.Add(Method::kGet, "/v1/things/{id}", {},
               [](const HttpRequest&, const PathParams& p, RequestContext& ctx) {
                 return JsonResponse(200, {{"id", p.Get("id")}, {"actor", ctx.principal.Actor()}});
               });
    router.Add(Method::kPost, "/v1/admin", {.auth = AuthRequirement::kService},
               [](const HttpRequest&, const PathParams&, RequestContext& ctx) {
                 return JsonResponse(201, {{"actor", ctx.principal.Actor()}});
               });
    router.Add(Method::kGet, "/boom", {.auth = AuthRequirement::kNone},
               [](const HttpRequest&, const PathParams&, RequestContext&) -> HttpResponse {
                 throw std::runtime_error("kaboom");
               });
    router.Add(Method::kGet, "/stream-boom", {.auth = AuthRequirement::kNone},
               [](const HttpRequest&, const PathParams&, RequestContext&) {
                 return StreamResponse("text/plain", [](StreamSink& sink) {
                   (void)sink.Write("first");
                   throw std::runtime_error("producer kaboom");
                 });
               });
    // Deferred answers: from another thread, or broken on purpose (?mode=throw|drop|twice).
    router.Add(Method::kPost, "/deferred", {.auth = AuthRequirement::kNone},
               [this](const HttpRequest& req, const PathParams&, RequestContext&) {
                 std::string mode(req.Query("mode").value_or("thread"));
                 return Deferred([this, mode](Respond respond) {
                   if (mode == "throw") throw std::runtime_error("deferred kaboom");
                   if (mode == "drop") return;  // the last Respond goes away unanswered
                   if (mode == "twice") {
                     respond(JsonResponse(201, {{"n", 1}}));
                     respond(JsonResponse(202, {{"n", 2}}));
                     return;
                   }
                   answerers.emplace_back([respond] {
                     std::this_thread::sleep_for(std::chrono::milliseconds(20));
                     respond(JsonResponse(201, {{"from", "another thread"}}));
                   });
                 });
               });
    logger->set_level(spdlog::level::info);
    dispatcher = std::make_unique<Dispatcher>(
        router, auth, http_metrics,
        DispatcherOptions{.cors_origins = {"https://app.example.com"},
                          .access_log = logger,
                          .error_log = logger});
  }

  HttpRequest Req(Method m, std::string path, Headers headers = {}) {
    HttpRequest r;
    r.method = m;
    r.method_name = std::string(MethodName(m));
    r.target = path;
    r.path = path;
    r.headers = std::move(headers);
    return r;
  }

  HttpRequest DeferredReq(std::string mode) {
    HttpRequest r = Req(Method::kPost, "/deferred");
    r.query.emplace("mode", std::move(mode));
    return r;
  }

  Outcome Handle(HttpRequest req) {
    return dispatcher->Handle(req, std::chrono::steady_clock::now());
  }

  static boost::json::object Body(const Outcome& o) {
    return boost::json::parse(o.response.body).as_object();
  }

  MetricsRegistry registry;
  HttpMetrics http_metrics;
  Authenticator auth;
  Router router;
  std::ostringstream log_text;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<Dispatcher> dispatcher;
  std::vector<std::jthread> answerers;  // joined first, before the dispatcher goes
};

TEST_F(DispatcherTest, EchoesASaneRequestIdAndReplacesAnInsaneOne) {
  Outcome a = Handle(Req(Method::kGet, "/open", {{"x-request-id", "abc-123.x:y_z"}}));
  EXPECT_EQ(a.response.Header("X-Request-Id"), "abc-123.x:y_z");
  Outcome b = Handle(Req(Method::kGet, "/open", {{"x-request-id", "bad id\" with spaces"}}));
  ASSERT_TRUE(b.response.Header("X-Request-Id"));
  EXPECT_NE(*b.response.Header("X-Request-Id"), "bad id\" with spaces");
  EXPECT_EQ(b.response.Header("X-Request-Id")->size(), 16u);
  Outcome c = Handle(Req(Method::kGet, "/nope"));
  EXPECT_TRUE(c.response.Header("X-Request-Id"));  // errors carry it too
}

TEST_F(DispatcherTest, NotFoundAndMethodNotAllowedAreProblems) {
  Outcome nf = Handle(Req(Method::kGet, "/nope"));
  EXPECT_EQ(nf.response.status, 404);
  EXPECT_EQ(nf.response.content_type, "application/problem+json");
  EXPECT_EQ(Body(nf)["code"], "not_found");
  EXPECT_EQ(nf.route, "unmatched");
  Outcome na = Handle(Req(Method::kDelete, "/open"));
  EXPECT_EQ(na.response.status, 405);
  EXPECT_EQ(na.response.Header("Allow"), "GET, HEAD");
  EXPECT_EQ(na.route, "/open");
}

TEST_F(DispatcherTest, AuthenticatedRoutesNeedCredentials) {
  Outcome none = Handle(Req(Method::kGet, "/v1/things/t1"));
  EXPECT_EQ(none.response.status, 401);
  EXPECT_EQ(Body(none)["code"], "unauthenticated");
  EXPECT_TRUE(none.response.Header("WWW-Authenticate"));

  Outcome bad = Handle(Req(Method::kGet, "/v1/things/t1", {{"authorization", "Bearer nope"}}));
  EXPECT_EQ(bad.response.status, 401);

  Outcome ok = Handle(
      Req(Method::kGet, "/v1/things/t1", {{"authorization", std::string("Bearer ") + kKey}}));
  EXPECT_EQ(ok.response.status, 200);
  EXPECT_EQ(Body(ok)["id"], "t1");
  EXPECT_EQ(Body(ok)["actor"], "service");
  EXPECT_EQ(ok.actor, "service");
  EXPECT_EQ(ok.route, "/v1/things/{id}");
}

TEST_F(DispatcherTest, ServiceOnlyRoutesRefuseUserTokensButAcceptDelegation) {
  std::string jwt =
      SignJwtHs256("jwt-secret", R"({"sub":"u1","email":"u1@example.com","exp":99999999999})");
  Outcome user = Handle(Req(Method::kPost, "/v1/admin", {{"authorization", "Bearer " + jwt}}));
  EXPECT_EQ(user.response.status, 403);
  EXPECT_EQ(Body(user)["code"], "forbidden");

  Outcome delegated =
      Handle(Req(Method::kPost, "/v1/admin",
                 {{"authorization", std::string("Bearer ") + kKey},
                  {"roster-actor", "u2"},
                  {"roster-actor-email", "u2@example.com"}}));
  EXPECT_EQ(delegated.response.status, 201);
  EXPECT_EQ(Body(delegated)["actor"], "user:u2");
  EXPECT_EQ(delegated.actor, "service/user:u2");
}

TEST_F(DispatcherTest, AHandlerExceptionIsA500InternalProblemAndALogLine) {
  Outcome o = Handle(Req(Method::kGet, "/boom"));
  EXPECT_EQ(o.response.status, 500);
  EXPECT_EQ(Body(o)["code"], "internal");
  EXPECT_NE(log_text.str().find("kaboom"), std::string::npos);
  EXPECT_EQ(std::string(Body(o)["detail"].as_string()).find("kaboom"), std::string::npos);
}

TEST_F(DispatcherTest, AStreamProducerExceptionEndsTheStream) {
  Outcome o = Handle(Req(Method::kGet, "/stream-boom"));
  ASSERT_TRUE(o.response.stream);
  StreamQueue q;
  o.response.stream(q);  // must not throw
  std::string out;
  EXPECT_EQ(q.Pop(&out, nullptr), StreamQueue::PopResult::kData);
  EXPECT_EQ(out, "first");
  EXPECT_NE(log_text.str().find("producer kaboom"), std::string::npos);
}

TEST_F(DispatcherTest, CorsPreflightForAnAllowedOrigin) {
  Outcome o = Handle(Req(Method::kOptions, "/v1/things/t1",
                         {{"origin", "https://app.example.com"},
                          {"access-control-request-method", "GET"}}));
  EXPECT_EQ(o.response.status, 204);
  EXPECT_EQ(o.response.Header("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(o.response.Header("Access-Control-Allow-Methods"), "GET, HEAD");
  EXPECT_NE(o.response.Header("Access-Control-Allow-Headers")->find("Authorization"),
            std::string_view::npos);
}

TEST_F(DispatcherTest, NoCorsHeadersForOtherOrigins) {
  Outcome pre = Handle(Req(Method::kOptions, "/v1/things/t1",
                           {{"origin", "https://evil.example.com"},
                            {"access-control-request-method", "GET"}}));
  EXPECT_EQ(pre.response.status, 405);
  EXPECT_FALSE(pre.response.Header("Access-Control-Allow-Origin"));
  Outcome get = Handle(Req(Method::kGet, "/open", {{"origin", "https://evil.example.com"}}));
  EXPECT_EQ(get.response.status, 200);
  EXPECT_FALSE(get.response.Header("Access-Control-Allow-Origin"));
  Outcome allowed = Handle(Req(Method::kGet, "/open", {{"origin", "https://app.example.com"}}));
  EXPECT_EQ(allowed.response.Header("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(allowed.response.Header("Vary"), "Origin");
}

TEST_F(DispatcherTest, CompleteCountsAndLogsWithoutCredentials) {
  HttpRequest req =
      Req(Method::kGet, "/v1/things/t1", {{"authorization", std::string("Bearer ") + kKey}});
  req.remote_address = "127.0.0.1:5000";
  Outcome o = dispatcher->Handle(req, std::chrono::steady_clock::now());
  dispatcher->Complete(req, o, o.response.body.size(), 0.002, false);
  std::string metrics = registry.Render();
  EXPECT_NE(metrics.find("roster_http_requests_total{route=\"/v1/things/{id}\",method=\"GET\","
                         "status=\"200\"} 1"),
            std::string::npos);
  std::string log = log_text.str();
  EXPECT_NE(log.find("GET /v1/things/{id} 200 2.000ms actor=service rid=" + req.request_id),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find(kKey), std::string::npos);
  EXPECT_EQ(log.find("t1"), std::string::npos);  // the route pattern, not the path
}

TEST_F(DispatcherTest, RejectDecoratesServerMadeAnswers) {
  HttpRequest req = Req(Method::kPost, "/v1/admin", {{"x-request-id", "r1"}});
  Outcome o = dispatcher->Reject(req, ProblemResponse(Error(ErrorCode::kBodyTooLarge, "big")));
  EXPECT_EQ(o.response.status, 413);
  EXPECT_EQ(o.response.Header("X-Request-Id"), "r1");
  EXPECT_EQ(o.route, "/v1/admin");
}

TEST_F(DispatcherTest, ADeferredAnswerFromAnotherThreadIsDecoratedLikeAnyOther) {
  HttpRequest first = Req(Method::kPost, "/deferred");
  Outcome begun = dispatcher->Begin(first, std::chrono::steady_clock::now());
  EXPECT_TRUE(begun.response.deferred);  // Begin leaves it to Resume
  answerers.clear();

  Outcome o = Handle(Req(Method::kPost, "/deferred",
                         {{"x-request-id", "rid-7"}, {"origin", "https://app.example.com"}}));
  EXPECT_FALSE(o.response.deferred);
  EXPECT_EQ(o.response.status, 201);
  EXPECT_EQ(Body(o)["from"], "another thread");
  EXPECT_EQ(o.route, "/deferred");
  EXPECT_EQ(o.response.Header("X-Request-Id"), "rid-7");
  EXPECT_EQ(o.response.Header("Access-Control-Allow-Origin"), "https://app.example.com");
}

TEST_F(DispatcherTest, ABrokenDeferredAnswerIsA500NeverAHang) {
  Outcome threw = Handle(DeferredReq("throw"));
  EXPECT_EQ(threw.response.status, 500);
  EXPECT_EQ(Body(threw)["code"], "internal");
  EXPECT_NE(log_text.str().find("deferred start threw"), std::string::npos);

  Outcome dropped = Handle(DeferredReq("drop"));
  EXPECT_EQ(dropped.response.status, 500);
  EXPECT_TRUE(dropped.response.Header("X-Request-Id"));
  EXPECT_NE(log_text.str().find("dropped unanswered"), std::string::npos);

  Outcome twice = Handle(DeferredReq("twice"));
  EXPECT_EQ(twice.response.status, 201);  // the first answer stands
  EXPECT_NE(log_text.str().find("answered twice"), std::string::npos);
}

}  // namespace
}  // namespace roster::gateway
