// The client's Beast side: synchronous calls built from async operations on a private
// io_context, each bounded by beast::tcp_stream's timeout.
#include "tools/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <cctype>

namespace roster::tools {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Runs the operation started by `start` (which receives a completion handler) to
// completion on `ioc` and returns its error.
template <class Start>
beast::error_code RunOp(net::io_context& ioc, Start start) {
  beast::error_code result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void FillReply(http::response_parser<http::string_body>& parser, HttpReply* out) {
  auto& res = parser.get();
  out->status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out->headers.emplace(Lower(field.name_string()), std::string(field.value()));
  }
  out->body = std::move(res.body());
  out->keep_alive = res.keep_alive();
  out->chunked = parser.chunked();
}

// Resolves `host` (a name or an address literal) and connects within `timeout`.
beast::error_code Connect(net::io_context& ioc, beast::tcp_stream& stream, const std::string& host,
                          uint16_t port, std::chrono::milliseconds timeout) {
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return ec;
  stream.expires_after(timeout);
  return RunOp(ioc, [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
}

void Close(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.socket().close(ec);
}

}  // namespace

// ---- HttpReply ----------------------------------------------------------------------------

std::string HttpReply::Header(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool HttpReply::HasHeader(std::string_view name) const {
  return headers.find(Lower(name)) != headers.end();
}

boost::json::value HttpReply::Json() const {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) return nullptr;
  return v;
}

std::string HttpReply::ProblemCode() const {
  auto v = Json();
  if (!v.is_object()) return "";
  const auto* code = v.as_object().if_contains("code");
  return code && code->is_string() ? std::string(code->as_string()) : "";
}

// ---- HttpClient ---------------------------------------------------------------------------

struct HttpClient::Impl {
  Impl(uint16_t p, std::string h, std::chrono::milliseconds t)
      : port(p), host(std::move(h)), timeout(t), stream(ioc) {}

  uint16_t port;
  std::string host;
  std::chrono::milliseconds timeout;
  net::io_context ioc;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  bool open = false;
  int connects = 0;

  void Reset() {
    Close(stream);
    buffer.clear();
    open = false;
  }
};

HttpClient::HttpClient(uint16_t port, std::string host, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(port, std::move(host), timeout)) {}

HttpClient::~HttpClient() { impl_->Reset(); }

int HttpClient::connects() const { return impl_->connects; }

HttpReply HttpClient::Request(std::string_view method, std::string_view target,
                              std::string_view body, const HeaderList& headers) {
  Impl& c = *impl_;
  HttpReply out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = c.open;
    if (!c.open) {
      beast::error_code ec = Connect(c.ioc, c.stream, c.host, c.port, c.timeout);
      if (ec) {
        c.Reset();
        out.error = "connect " + c.host + ":" + std::to_string(c.port) + ": " + ec.message();
        return out;
      }
      c.open = true;
      ++c.connects;
    }
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, c.host + ":" + std::to_string(c.port));
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req.body() = std::string(body);
      req.prepare_payload();
    }
    c.stream.expires_after(c.timeout);
    beast::error_code ec = RunOp(
        c.ioc, [&](auto handler) { http::async_write(c.stream, req, std::move(handler)); });
    if (ec) {
      c.Reset();
      if (reused) continue;  // a stale keep-alive connection: retry once on a new one
      out.error = std::string(method) + " " + std::string(target) + ": write: " + ec.message();
      return out;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    if (method == "HEAD") parser.skip(true);
    c.stream.expires_after(c.timeout);
    ec = RunOp(c.ioc, [&](auto handler) {
      http::async_read(c.stream, c.buffer, parser, std::move(handler));
    });
    if (ec) {
      c.Reset();
      // Closed before any byte of an answer: the server never took the request.
      if (reused && !parser.got_some()) continue;
      out.error = std::string(method) + " " + std::string(target) + ": read: " + ec.message();
      return out;
    }
    FillReply(parser, &out);
    if (!out.keep_alive) c.Reset();
    return out;
  }
  out.error = "the server closed the connection twice";
  return out;
}

// ---- RawConnection ------------------------------------------------------------------------

struct RawConnection::Impl {
  Impl() : stream(ioc) {}
  net::io_context ioc;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  bool connected = false;
};

RawConnection::RawConnection(uint16_t port, std::string host) : impl_(std::make_unique<Impl>()) {
  impl_->connected = !Connect(impl_->ioc, impl_->stream, host, port, std::chrono::seconds(10));
}

RawConnection::~RawConnection() { Close(impl_->stream); }

bool RawConnection::connected() const { return impl_->connected; }

bool RawConnection::Send(std::string_view bytes) {
  impl_->stream.expires_after(std::chrono::seconds(10));
  beast::error_code ec = RunOp(impl_->ioc, [&](auto handler) {
    net::async_write(impl_->stream, net::buffer(bytes.data(), bytes.size()), std::move(handler));
  });
  return !ec;
}

void RawConnection::ShutdownSend() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

HttpReply RawConnection::ReadResponse(std::chrono::milliseconds timeout) {
  HttpReply out;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  impl_->stream.expires_after(timeout);
  beast::error_code ec = RunOp(impl_->ioc, [&](auto handler) {
    http::async_read(impl_->stream, impl_->buffer, parser, std::move(handler));
  });
  if (ec) {
    out.error = "read: " + ec.message();
    return out;
  }
  FillReply(parser, &out);
  return out;
}

bool RawConnection::WaitClosed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  impl_->buffer.clear();
  char scratch[4096];
  while (true) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::milliseconds(0)) return false;
    impl_->stream.expires_after(left);
    beast::error_code ec = RunOp(impl_->ioc, [&](auto handler) {
      impl_->stream.async_read_some(net::buffer(scratch), std::move(handler));
    });
    if (ec == beast::error::timeout) return false;
    if (ec) return true;  // EOF, reset: closed by the server
  }
}

// ---- ApiClient ----------------------------------------------------------------------------

ApiClient::ApiClient(std::unique_ptr<HttpClient> http, std::string service_key)
    : http_(std::move(http)), key_(std::move(service_key)) {}
ApiClient::~ApiClient() = default;

Result<std::unique_ptr<ApiClient>> ApiClient::Create(std::string_view url,
                                                     std::string service_key,
                                                     std::chrono::milliseconds timeout) {
  auto parsed = boost::urls::parse_uri(url);
  uint64_t port = 80;
  if (parsed && parsed->has_port()) port = parsed->port_number();
  if (!parsed || parsed->scheme() != "http" || parsed->host().empty() || port == 0 ||
      port > 65535) {
    return Error(ErrorCode::kInvalidField,
                 "url: expected http://host:port, got \"" + std::string(url.substr(0, 100)) + "\"");
  }
  std::string host(parsed->host_address());
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto http = std::make_unique<HttpClient>(static_cast<uint16_t>(port), std::move(host), timeout);
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(http), std::move(service_key)));
}

HttpReply ApiClient::Call(std::string_view method, std::string_view target, std::string_view body,
                          const Headers& headers) {
  HeaderList all;
  all.reserve(headers.size() + 3);
  all.emplace_back("User-Agent", "roster-cli");
  if (!key_.empty()) all.emplace_back("Authorization", "Bearer " + key_);
  if (!body.empty()) all.emplace_back("Content-Type", "application/json");
  all.insert(all.end(), headers.begin(), headers.end());  // later set() wins
  return http_->Request(method, target, body, all);
}

// ---- head comparison helpers (roster verify --against) -----------------------------------

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
