#include "tools/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

namespace roster::tools {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

boost::json::value HttpReply::Json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  return ec ? boost::json::value() : v;
}

std::string HttpReply::ProblemCode() const {
  auto v = Json();
  if (!v.is_object()) return "";
  const auto* code = v.as_object().if_contains("code");
  return code && code->is_string() ? std::string(code->as_string()) : "";
}

struct ApiClient::Impl {
  std::string host, port, key;
  std::chrono::milliseconds timeout;
  net::io_context ioc;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  bool EnsureConnected(std::string* error) {
    if (stream && stream->socket().is_open()) return true;
    tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) {
      *error = "resolve " + host + ": " + ec.message();
      return false;
    }
    stream = std::make_unique<beast::tcp_stream>(ioc);
    stream->expires_after(timeout);
    stream->connect(endpoints, ec);
    if (ec) {
      *error = "connect " + host + ":" + port + ": " + ec.message();
      stream.reset();
      return false;
    }
    buffer.clear();
    return true;
  }

  HttpReply Once(std::string_view method, std::string_view target, std::string_view body,
                 const Headers& headers, bool* retryable) {
    HttpReply reply;
    *retryable = false;
    bool was_open = stream && stream->socket().is_open();
    if (!EnsureConnected(&reply.error)) return reply;
    http::request<http::string_body> req;
    req.method_string(std::string(method));
    req.target(std::string(target));
    req.version(11);
    req.set(http::field::host, host + ":" + port);
    req.set(http::field::user_agent, "roster-cli");
    if (!key.empty()) req.set(http::field::authorization, "Bearer " + key);
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::string(body);
    }
    req.prepare_payload();
    boost::system::error_code ec;
    stream->expires_after(timeout);
    http::write(*stream, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 30);
    if (!ec) http::read(*stream, buffer, parser, ec);
    if (ec) {
      reply.error = std::string(method) + " " + std::string(target) + ": " + ec.message();
      stream.reset();
      // A kept-alive connection the server closed meanwhile: safe to try once more.
      *retryable = was_open && (ec == http::error::end_of_stream || ec == net::error::eof ||
                                ec == net::error::connection_reset || ec == net::error::broken_pipe);
      return reply;
    }
    auto res = parser.release();
    reply.status = res.result_int();
    reply.body = std::move(res.body());
    reply.content_type = std::string(res[http::field::content_type]);
    if (!res.keep_alive()) stream.reset();
    return reply;
  }
};

ApiClient::ApiClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiClient::~ApiClient() = default;

Result<std::unique_ptr<ApiClient>> ApiClient::Create(std::string_view url,
                                                     std::string service_key,
                                                     std::chrono::milliseconds timeout) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http" || parsed->host().empty()) {
    return Error(ErrorCode::kInvalidField,
                 "url: expected http://host:port, got \"" + std::string(url.substr(0, 100)) + "\"");
  }
  auto impl = std::make_unique<Impl>();
  impl->host = std::string(parsed->host_address());
  if (!impl->host.empty() && impl->host.front() == '[') {
    impl->host = impl->host.substr(1, impl->host.size() - 2);
  }
  impl->port = parsed->has_port() ? std::string(parsed->port()) : "80";
  impl->key = std::move(service_key);
  impl->timeout = timeout;
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(impl)));
}

HttpReply ApiClient::Call(std::string_view method, std::string_view target, std::string_view body,
                          const Headers& headers) {
  bool retryable = false;
  HttpReply r = impl_->Once(method, target, body, headers, &retryable);
  if (retryable) r = impl_->Once(method, target, body, headers, &retryable);
  return r;
}

namespace {
Status ReplyError(const HttpReply& r, std::string_view what) {
  if (r.status == 0) return Error(ErrorCode::kUnavailable, r.error);
  return Error(ErrorCode::kInternal, std::string(what) + " answered " + std::to_string(r.status) +
                                         ": " + r.body.substr(0, 300));
}
}  // namespace

Result<RemoteHead> FetchHead(std::string_view url, const std::string& service_key) {
  auto client = ApiClient::Create(url, service_key);
  if (!client.ok()) return client.error();
  HttpReply r = (*client)->Call("GET", "/v1/ledger/head");
  auto j = r.Json();
  if (r.status != 200 || !j.is_object()) return ReplyError(r, "GET /v1/ledger/head");
  RemoteHead head;
  const auto& o = j.as_object();
  if (!o.contains("position") || !o.contains("hash") || !o.at("hash").is_string()) {
    return Error(ErrorCode::kInternal, "GET /v1/ledger/head: unexpected answer " + r.body);
  }
  head.position = o.at("position").to_number<uint64_t>();
  head.hash = std::string(o.at("hash").as_string());
  return head;
}

Result<std::string> FetchEventHash(std::string_view url, const std::string& service_key,
                                   uint64_t position) {
  auto client = ApiClient::Create(url, service_key);
  if (!client.ok()) return client.error();
  HttpReply r = (*client)->Call("GET", "/v1/events?from_position=" + std::to_string(position) +
                                           "&limit=1");
  auto j = r.Json();
  if (r.status != 200 || !j.is_object()) return ReplyError(r, "GET /v1/events");
  const auto* list = j.as_object().if_contains("events");
  if (!list || !list->is_array() || list->as_array().empty()) {
    return Error(ErrorCode::kNotFound, "the server has no event at position " +
                                           std::to_string(position));
  }
  const auto& e = list->as_array().front().as_object();
  if (e.at("position").to_number<uint64_t>() != position) {
    return Error(ErrorCode::kInternal, "the server answered another position");
  }
  return std::string(e.at("hash").as_string());
}

}  // namespace roster::tools
