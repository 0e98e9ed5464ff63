// The test client's Beast side: synchronous calls built from async operations on a private
// io_context, each bounded by beast::tcp_stream's timeout.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include "tests/gateway/http_client.h"

namespace roster::testing {

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

template <class Body>
void FillResult(http::response_parser<Body>& parser, HttpResult* out) {
  auto& res = parser.get();
  out->status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out->headers.emplace(Lower(field.name_string()), std::string(field.value()));
  }
  out->body = std::move(res.body());
  out->keep_alive = res.keep_alive();
  out->chunked = parser.chunked();
}

beast::error_code Connect(net::io_context& ioc, beast::tcp_stream& stream, const std::string& host,
                          uint16_t port, std::chrono::milliseconds timeout) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return ec;
  stream.expires_after(timeout);
  return RunOp(ioc, [&](auto handler) {
    stream.async_connect(tcp::endpoint(address, port), std::move(handler));
  });
}

}  // namespace

std::string HttpResult::Header(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool HttpResult::HasHeader(std::string_view name) const {
  return headers.find(Lower(name)) != headers.end();
}

boost::json::value HttpResult::Json() const {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) return nullptr;
  return v;
}

// ---- HttpClient -------------------------------------------------------------------------

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

  void Close() {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.socket().close(ec);
    buffer.clear();
    open = false;
  }
};

HttpClient::HttpClient(uint16_t port, std::string host, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(port, std::move(host), timeout)) {}

HttpClient::~HttpClient() { impl_->Close(); }

int HttpClient::connects() const { return impl_->connects; }

HttpResult HttpClient::Request(std::string_view method, std::string_view target,
                               std::string_view body, const HeaderList& headers) {
  Impl& c = *impl_;
  HttpResult out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = c.open;
    if (!c.open) {
      beast::error_code ec = Connect(c.ioc, c.stream, c.host, c.port, c.timeout);
      if (ec) {
        c.Close();
        out.error = "connect: " + ec.message();
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
      c.Close();
      if (reused) continue;  // a stale keep-alive connection: retry once on a new one
      out.error = "write: " + ec.message();
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
      c.Close();
      if (reused && !parser.got_some()) continue;
      out.error = "read: " + ec.message();
      return out;
    }
    FillResult(parser, &out);
    if (!out.keep_alive) c.Close();
    return out;
  }
  out.error = "the server closed the connection twice";
  return out;
}

// ---- RawConnection ----------------------------------------------------------------------

struct RawConnection::Impl {
  explicit Impl() : stream(ioc) {}
  net::io_context ioc;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  bool connected = false;
};

RawConnection::RawConnection(uint16_t port, std::string host) : impl_(std::make_unique<Impl>()) {
  impl_->connected =
      !Connect(impl_->ioc, impl_->stream, host, port, std::chrono::seconds(10));
}

RawConnection::~RawConnection() {
  beast::error_code ec;
  impl_->stream.socket().close(ec);
}

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

HttpResult RawConnection::ReadResponse(std::chrono::milliseconds timeout) {
  HttpResult out;
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
  FillResult(parser, &out);
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

}  // namespace roster::testing
