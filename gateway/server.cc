// The only gateway translation unit that includes Beast and Asio (BUILD_NOTES pitfall 11).
// Structure follows Beast's example/advanced/server: a listener and one session per
// connection, each on its own strand; see server.h for the limits.
#include "gateway/server.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "gateway/dispatcher.h"
#include "gateway/metrics.h"
#include "gateway/worker_pool.h"

namespace roster::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kLingerTimeout{1000};  // draining a refused body
constexpr size_t kLingerMaxBytes = 4 << 20;

std::string FormatEndpoint(const tcp::endpoint& ep) {
  if (ep.address().is_v6()) {
    return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
  }
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category();
}

bool ExpectsContinue(const http::request<http::string_body>& req) {
  auto it = req.find(http::field::expect);
  if (it == req.end()) return false;
  return beast::iequals(it->value(), "100-continue");
}

}  // namespace

class Session;

class ServerImpl {
 public:
  ServerImpl(ServerOptions options, Dispatcher& dispatcher, HttpMetrics& metrics);
  ~ServerImpl();

  Status Listen();
  void Run();
  void Stop();

  uint16_t port() const { return bound_port_; }
  std::string endpoint() const { return endpoint_; }

  // Session registry, for Stop().
  uint64_t Register(const std::shared_ptr<Session>& session);
  void Unregister(uint64_t id);

  const ServerOptions& options() const { return options_; }
  Dispatcher& dispatcher() { return dispatcher_; }
  HttpMetrics& metrics() { return metrics_; }
  spdlog::logger& log() { return *log_; }
  WorkerPool& workers() { return *workers_; }
  net::io_context& io() { return *ioc_; }
  WorkerPool& streams() { return *streams_; }
  bool stopping() const { return stopping_.load(); }

 private:
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void RefuseConnection(tcp::socket socket);
  void BeginStop();                    // on strand_
  void OnDrainDeadline(beast::error_code ec);
  std::vector<std::shared_ptr<Session>> LiveSessions();

  ServerOptions options_;
  Dispatcher& dispatcher_;
  HttpMetrics& metrics_;
  std::shared_ptr<spdlog::logger> log_;

  std::unique_ptr<net::io_context> ioc_;
  std::optional<net::strand<net::io_context::executor_type>> strand_;  // acceptor, timers
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> drain_timer_;
  std::optional<net::steady_timer> accept_retry_timer_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<WorkerPool> streams_;

  uint16_t bound_port_ = 0;
  std::string endpoint_;
  std::atomic<bool> stopping_{false};
  bool drain_timer_armed_ = false;  // on strand_

  std::mutex sessions_mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions_;
  uint64_t next_session_id_ = 1;
};

// One connection. Every member is touched only on the session's strand, except `closed_`
// (read by worker tasks) and the StreamQueue (thread-safe).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerImpl& server, tcp::socket socket)
      : server_(server),
        stream_(std::move(socket)),
        executor_(stream_.get_executor()),
        timer_(executor_),
        linger_timer_(executor_) {
    beast::error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    remote_ = ec ? std::string("?") : FormatEndpoint(remote);
    server_.metrics().open_connections.Add(1);
  }

  ~Session() {
    server_.metrics().open_connections.Add(-1);
    if (id_ != 0) server_.Unregister(id_);
  }

  void Start() {
    id_ = server_.Register(shared_from_this());
    net::dispatch(executor_, [self = shared_from_this()] {
      if (self->server_.stopping()) {
        self->Close();
        return;
      }
      self->DoRead();
    });
  }

  // From Server::Stop (any thread).
  void BeginDrain() {
    net::post(executor_, [self = shared_from_this()] { self->OnDrain(); });
  }
  void ForceClose() {
    net::post(executor_, [self = shared_from_this()] { self->Close(); });
  }

 private:
  struct Pending {
    std::shared_ptr<HttpRequest> request;
    SteadyClock::time_point received;
    bool keep_alive = true;
    bool close_after = false;         // protocol errors: answer, then close
    std::optional<Outcome> outcome;   // set once handled (or for server-made answers)
  };

  enum class TimerState { kNone, kRead, kWrite };

  // ---- reading --------------------------------------------------------------------------

  void DoRead() {
    if (reading_ || closing_ || read_done_ || draining_) return;
    if (queue_.size() >= server_.options().pipeline_limit) return;  // resumed after a write
    parser_.emplace();
    parser_->body_limit(server_.options().body_limit);
    parser_->header_limit(static_cast<uint32_t>(server_.options().header_limit));
    reading_ = true;
    UpdateTimer();
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    reading_ = false;
    if (closing_) return;
    if (ec) return OnReadError(ec);
    if (draining_) return;  // not started before the stop: dropped, the connection closes
    const auto& req = parser_->get();
    bool idle = queue_.empty() && !writing_ && !handler_running_ && !streaming_;
    if (req.version() >= 11 && ExpectsContinue(req) && idle && !parser_->is_done()) {
      // The client waits for a go-ahead before sending the body (e.g. curl over 1 KiB).
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      reading_ = true;
      StartWrite();
      net::async_write(stream_, net::buffer(kContinue),
                       [self = shared_from_this()](beast::error_code wec, size_t) {
                         self->writing_ = false;
                         if (self->closing_) return;
                         if (wec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) {  // no body
      OnRead({});
      return;
    }
    reading_ = true;
    UpdateTimer();
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    reading_ = false;
    if (closing_) return;
    if (ec) return OnReadError(ec);
    if (draining_) return;
    http::request<http::string_body> req = parser_->release();
    parser_.reset();

    Pending p;
    p.received = SteadyClock::now();
    p.keep_alive = req.keep_alive();
    p.request = std::make_shared<HttpRequest>();
    HttpRequest& r = *p.request;
    r.method_name = std::string(req.method_string());
    r.method = ParseMethod(r.method_name);
    r.target = std::string(req.target());
    r.version = static_cast<int>(req.version());
    r.remote_address = remote_;
    for (const auto& field : req) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      r.headers.emplace(std::move(name), std::string(field.value()));
    }
    r.body = std::move(req.body());
    Status target = ParseTarget(r.target, &r.path, &r.query);
    if (!target.ok()) {
      p.outcome = server_.dispatcher().Reject(
          r, ProblemResponse(400, "malformed_request", target.message()));
    }
    if (!p.keep_alive) read_done_ = true;  // "Connection: close": this is the last one
    queue_.push_back(std::move(p));
    MaybeStartNext();
    DoRead();
    UpdateTimer();
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == http::error::partial_message) {
      // The client closed its side (cleanly between requests, or mid-request).
      read_done_ = true;
      if (streaming_ && stream_queue_) {
        Close();  // a stream's client went away
        return;
      }
      if (Idle()) Close();
      return;
    }
    if (ec == net::error::operation_aborted) return;

    // A request we refuse: answer it (after those ahead of it), then close.
    HttpResponse response;
    if (ec == http::error::body_limit) {
      response = ProblemResponse(Error(
          ErrorCode::kBodyTooLarge, "request body exceeds the limit of " +
                                        std::to_string(server_.options().body_limit) + " bytes"));
    } else if (ec == http::error::header_limit) {
      response = ProblemResponse(431, "headers_too_large",
                                 "request line and headers exceed " +
                                     std::to_string(server_.options().header_limit) + " bytes");
    } else if (IsHttpParseError(ec)) {
      response = ProblemResponse(400, "malformed_request",
                                 "the request is not valid HTTP/1.1 (" + ec.message() + ")");
    } else {
      server_.log().debug("connection {}: read failed: {}", remote_, ec.message());
      Close();
      return;
    }
    Pending p;
    p.received = SteadyClock::now();
    p.keep_alive = false;
    p.close_after = true;
    p.request = std::make_shared<HttpRequest>();
    HttpRequest& r = *p.request;
    r.remote_address = remote_;
    if (parser_ && parser_->is_header_done()) {
      const auto& req = parser_->get();
      r.method_name = std::string(req.method_string());
      r.method = ParseMethod(r.method_name);
      r.target = std::string(req.target());
      r.version = static_cast<int>(req.version());
      if (auto id = req.find("x-request-id"); id != req.end()) {
        r.headers.emplace("x-request-id", std::string(id->value()));
      }
      if (auto origin = req.find(http::field::origin); origin != req.end()) {
        r.headers.emplace("origin", std::string(origin->value()));
      }
      (void)ParseTarget(r.target, &r.path, &r.query);
    }
    parser_.reset();
    p.outcome = server_.dispatcher().Reject(r, std::move(response));
    read_done_ = true;
    queue_.push_back(std::move(p));
    MaybeStartNext();
    UpdateTimer();
  }

  // ---- handling -------------------------------------------------------------------------

  bool Idle() const {
    return queue_.empty() && !writing_ && !handler_running_ && !streaming_;
  }

  void MaybeStartNext() {
    if (closing_ || queue_.empty() || writing_ || handler_running_ || streaming_) return;
    Pending& front = queue_.front();
    if (front.outcome) {
      StartResponse();
      return;
    }
    // Cheap handlers (and 404s) answer here, on the I/O thread: cheaper than two wake-ups.
    // So do commands: they only start here (decide, queue the append) and answer from
    // the log's completion (a deferred response), with no thread waiting for the fsync.
    if (std::optional<Outcome> outcome =
            server_.dispatcher().TryHandleInline(*front.request, front.received)) {
      if (outcome->response.deferred) {
        handler_running_ = true;
        ResumeDeferred(front.request, std::move(*outcome));
        UpdateTimer();
        return;
      }
      front.outcome = std::move(outcome);
      StartResponse();
      return;
    }
    handler_running_ = true;
    auto self = shared_from_this();
    std::shared_ptr<HttpRequest> request = front.request;
    SteadyClock::time_point received = front.received;
    bool accepted = server_.workers().TrySubmit([self, request, received] {
      std::optional<Outcome> outcome;
      if (!self->closed_.load(std::memory_order_relaxed)) {
        outcome = self->server_.dispatcher().Begin(*request, received);
        if (outcome->response.deferred) {
          self->ResumeDeferred(request, std::move(*outcome));
          return;
        }
      }
      net::post(self->executor_, [self, outcome = std::move(outcome)]() mutable {
        self->OnHandled(std::move(outcome));
      });
    });
    if (!accepted) {
      handler_running_ = false;
      server_.metrics().overloaded_requests.Inc();
      HttpResponse busy = ProblemResponse(
          Error(ErrorCode::kUnavailable, "the server is overloaded; retry shortly"));
      busy.headers.emplace_back("Retry-After", "1");
      front.outcome = server_.dispatcher().Reject(*front.request, std::move(busy));
      StartResponse();
    }
    UpdateTimer();
  }

  // Runs a deferred outcome's work (on this thread: the I/O strand or a worker); its
  // answer, from whichever thread produces it, is posted back to the strand. The work
  // guard keeps the io_context running until then, so Run() never returns (nor the
  // io_context go away) under an answer still to come.
  void ResumeDeferred(const std::shared_ptr<HttpRequest>& request, Outcome pending) {
    auto self = shared_from_this();
    auto work = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(
        server_.io().get_executor());
    server_.dispatcher().Resume(*request, std::move(pending), [self, work](Outcome outcome) {
      net::post(self->executor_, [self, outcome = std::move(outcome)]() mutable {
        self->OnHandled(std::move(outcome));
      });
      work->reset();
    });
  }

  void OnHandled(std::optional<Outcome> outcome) {
    handler_running_ = false;
    if (closing_ || queue_.empty() || !outcome) return;
    queue_.front().outcome = std::move(outcome);
    StartResponse();
  }

  // ---- writing --------------------------------------------------------------------------

  bool CloseAfterFront() const {
    const Pending& p = queue_.front();
    return p.close_after || !p.keep_alive || ((draining_ || read_done_) && queue_.size() == 1);
  }

  template <class Message>
  void FillHeaders(Message& res, const HttpResponse& response, bool close_after) {
    res.result(static_cast<unsigned>(response.status));
    if (!response.content_type.empty()) res.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res.insert(name, value);
    res.keep_alive(!close_after);
  }

  void StartResponse() {
    Pending& front = queue_.front();
    Outcome& outcome = *front.outcome;
    HttpResponse& response = outcome.response;
    const HttpRequest& request = *front.request;
    bool close_after = CloseAfterFront();
    front.close_after = close_after;
    unsigned version = request.version == 10 ? 10 : 11;
    bool head = request.method == Method::kHead;

    if (response.stream && !head) {
      StartStream(front, close_after, version);
      return;
    }

    auto res = std::make_unique<http::response<http::string_body>>();
    res->version(version);
    FillHeaders(*res, response, close_after);
    body_bytes_ = response.body.size();
    bool no_body = response.status == 204 || response.status == 304 ||
                   (response.status >= 100 && response.status < 200);
    if (no_body) {
      body_bytes_ = 0;
    } else if (head) {
      if (!response.stream) res->content_length(response.body.size());
      body_bytes_ = 0;
    } else {
      res->body() = std::move(response.body);
      res->prepare_payload();
    }
    string_response_ = std::move(res);
    StartWrite();
    http::async_write(stream_, *string_response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->OnResponseWritten(ec);
                      });
  }

  void OnResponseWritten(beast::error_code ec) {
    writing_ = false;
    string_response_.reset();
    FinishFront(ec);
  }

  // The front request is answered (or failed): report it, pop it, go on or close.
  void FinishFront(beast::error_code ec) {
    Pending& front = queue_.front();
    double seconds = std::chrono::duration<double>(SteadyClock::now() - front.received).count();
    server_.dispatcher().Complete(*front.request, *front.outcome, body_bytes_, seconds,
                                  static_cast<bool>(ec));
    bool close_after = front.close_after;
    queue_.pop_front();
    if (ec) {
      Close();
      return;
    }
    if (close_after || (draining_ && queue_.empty()) || (read_done_ && queue_.empty())) {
      GracefulClose();
      return;
    }
    MaybeStartNext();
    DoRead();
    UpdateTimer();
  }

  // ---- streaming ------------------------------------------------------------------------

  void StartStream(Pending& front, bool close_after, unsigned version) {
    auto queue = std::make_shared<StreamQueue>(server_.options().stream);
    StreamProducer producer = std::move(front.outcome->response.stream);
    bool accepted = server_.streams().TrySubmit([queue, producer = std::move(producer)] {
      producer(*queue);
      queue->Finish();
    });
    if (!accepted) {
      server_.metrics().overloaded_requests.Inc();
      HttpResponse busy = ProblemResponse(
          Error(ErrorCode::kUnavailable, "too many streamed responses in progress; retry shortly"));
      busy.headers.emplace_back("Retry-After", "1");
      front.outcome = server_.dispatcher().Reject(*front.request, std::move(busy));
      StartResponse();
      return;
    }
    stream_queue_ = std::move(queue);
    if (draining_) stream_queue_->RequestStop();
    streaming_ = true;
    body_bytes_ = 0;
    empty_response_ = std::make_unique<http::response<http::empty_body>>();
    empty_response_->version(version);
    FillHeaders(*empty_response_, front.outcome->response, close_after);
    empty_response_->chunked(true);
    serializer_ = std::make_unique<http::response_serializer<http::empty_body>>(*empty_response_);
    StartWrite();
    http::async_write_header(stream_, *serializer_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->writing_ = false;
                               if (self->closing_) return;
                               if (ec) return self->EndStream(ec);
                               self->PumpStream();
                             });
  }

  void PumpStream() {
    if (closing_ || !streaming_ || writing_) return;
    std::weak_ptr<Session> weak = weak_from_this();
    auto executor = executor_;
    StreamQueue::PopResult r = stream_queue_->Pop(&chunk_, [weak, executor] {
      net::post(executor, [weak] {
        if (auto self = weak.lock()) self->PumpStream();
      });
    });
    switch (r) {
      case StreamQueue::PopResult::kData:
        StartWrite();
        net::async_write(stream_, http::make_chunk(net::buffer(chunk_)),
                         [self = shared_from_this()](beast::error_code ec, size_t) {
                           self->writing_ = false;
                           if (self->closing_) return;
                           if (ec) return self->EndStream(ec);
                           self->body_bytes_ += self->chunk_.size();
                           self->PumpStream();
                         });
        return;
      case StreamQueue::PopResult::kEmpty:
        UpdateTimer();  // waiting for the producer: no deadline on the client
        return;
      case StreamQueue::PopResult::kFinished:
        StartWrite();
        net::async_write(stream_, http::make_chunk_last(),
                         [self = shared_from_this()](beast::error_code ec, size_t) {
                           self->writing_ = false;
                           if (self->closing_) return;
                           self->EndStream(ec);
                         });
        return;
      case StreamQueue::PopResult::kFailed:
        CountStalledStream();
        EndStream(net::error::make_error_code(net::error::timed_out));
        return;
    }
  }

  void EndStream(beast::error_code ec) {
    streaming_ = false;
    if (stream_queue_ && ec) stream_queue_->Cancel();
    stream_queue_.reset();
    serializer_.reset();
    empty_response_.reset();
    FinishFront(ec);
  }

  // ---- timers and closing ---------------------------------------------------------------

  // One deadline per state: waiting on the client to send (read_timeout, from the moment
  // the connection went idle, so a request trickled in byte by byte is cut too) or to
  // receive (write_timeout, per write). None while a handler or a stream producer is
  // working: the client is waiting on us then.
  void UpdateTimer() {
    if (closing_ || writing_) return;  // a write armed its own deadline
    TimerState want = reading_ && !handler_running_ && !streaming_ && queue_.empty()
                          ? TimerState::kRead
                          : TimerState::kNone;
    if (want != timer_state_) ArmTimer(want);
  }

  // Every write starts a fresh write deadline.
  void StartWrite() {
    writing_ = true;
    ArmTimer(TimerState::kWrite);
  }

  void ArmTimer(TimerState want) {
    if (closing_) return;
    timer_state_ = want;
    ++timer_generation_;
    if (want == TimerState::kNone) {
      timer_.cancel();
      return;
    }
    auto timeout = want == TimerState::kRead ? server_.options().read_timeout
                                             : server_.options().write_timeout;
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this(), gen = timer_generation_](beast::error_code ec) {
      if (ec || gen != self->timer_generation_ || self->closing_) return;
      self->server_.log().debug("connection {}: {} timeout", self->remote_,
                                self->timer_state_ == TimerState::kRead ? "read" : "write");
      self->Close();
    });
  }

  void OnDrain() {
    draining_ = true;
    if (stream_queue_) stream_queue_->RequestStop();
    if (Idle()) Close();
    // Otherwise: requests already read finish; FinishFront closes after the last one.
  }

  // Sends FIN, then reads and discards what the client still sends (a refused body) for a
  // moment, so it sees our answer instead of a reset.
  void GracefulClose() {
    if (closing_) return;
    closing_ = true;
    closed_.store(true, std::memory_order_relaxed);
    timer_.cancel();
    if (stream_queue_) stream_queue_->Cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || reading_) {
      // A read is still outstanding (it will fail with the close) or the socket is gone.
      stream_.socket().close(ec);
      return;
    }
    linger_timer_.expires_after(kLingerTimeout);
    linger_timer_.async_wait([self = shared_from_this()](beast::error_code wec) {
      if (wec) return;
      beast::error_code cec;
      self->stream_.socket().close(cec);
    });
    Linger();
  }

  void Linger() {
    if (linger_buffer_.empty()) linger_buffer_.resize(16 << 10);
    stream_.socket().async_read_some(
        net::buffer(linger_buffer_), [self = shared_from_this()](beast::error_code ec, size_t n) {
          self->lingered_ += n;
          if (ec || self->lingered_ > kLingerMaxBytes) {
            self->linger_timer_.cancel();
            beast::error_code cec;
            self->stream_.socket().close(cec);
            return;
          }
          self->Linger();
        });
  }

  void CountStalledStream() {
    if (stream_queue_ && stream_queue_->stalled()) {
      server_.metrics().dropped_streams.Inc();
      server_.log().warn("connection {}: dropped a stream client that stopped reading", remote_);
    }
  }

  void Close() {
    if (closing_) return;
    closing_ = true;
    closed_.store(true, std::memory_order_relaxed);
    timer_.cancel();
    linger_timer_.cancel();
    if (stream_queue_) {
      CountStalledStream();
      stream_queue_->Cancel();
    }
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  ServerImpl& server_;
  beast::tcp_stream stream_;
  const net::any_io_executor executor_;  // the connection's strand
  net::steady_timer timer_;
  net::steady_timer linger_timer_;
  beast::flat_buffer buffer_;
  std::string remote_;
  uint64_t id_ = 0;

  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<Pending> queue_;  // read, not yet answered; the front is in progress
  std::unique_ptr<http::response<http::string_body>> string_response_;
  std::unique_ptr<http::response<http::empty_body>> empty_response_;
  std::unique_ptr<http::response_serializer<http::empty_body>> serializer_;
  std::shared_ptr<StreamQueue> stream_queue_;
  std::string chunk_;
  std::string linger_buffer_;
  size_t lingered_ = 0;
  uint64_t body_bytes_ = 0;

  bool reading_ = false;
  bool writing_ = false;
  bool handler_running_ = false;
  bool streaming_ = false;
  bool read_done_ = false;  // the client closed, asked to close, or sent garbage
  bool draining_ = false;
  bool closing_ = false;
  std::atomic<bool> closed_{false};
  TimerState timer_state_ = TimerState::kNone;
  uint64_t timer_generation_ = 0;
};

// ---- ServerImpl -----------------------------------------------------------------------

ServerImpl::ServerImpl(ServerOptions options, Dispatcher& dispatcher, HttpMetrics& metrics)
    : options_(std::move(options)), dispatcher_(dispatcher), metrics_(metrics) {
  log_ = options_.log ? options_.log : spdlog::default_logger();
  if (options_.io_threads == 0) {
    options_.io_threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  }
  options_.workers = std::max<size_t>(1, options_.workers);
  options_.stream_threads = std::max<size_t>(1, options_.stream_threads);
  options_.pipeline_limit = std::max<size_t>(1, options_.pipeline_limit);
  ioc_ = std::make_unique<net::io_context>(static_cast<int>(options_.io_threads));
  strand_.emplace(net::make_strand(*ioc_));
  acceptor_.emplace(*strand_);
  drain_timer_.emplace(*strand_);
  accept_retry_timer_.emplace(*strand_);
  workers_ = std::make_unique<WorkerPool>("roster-worker", options_.workers, options_.worker_queue);
  streams_ = std::make_unique<WorkerPool>("roster-stream", options_.stream_threads, 0);
}

ServerImpl::~ServerImpl() {
  // Pools first (their tasks hold sessions and post to the io_context), then the I/O
  // objects, then the io_context, whose queued handlers may hold the last sessions.
  workers_->Shutdown();
  workers_->Join();
  streams_->Shutdown();
  streams_->Join();
  acceptor_.reset();
  drain_timer_.reset();
  accept_retry_timer_.reset();
  strand_.reset();
  ioc_.reset();
}

Status ServerImpl::Listen() {
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(options_.address, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidField, "not an IP address: " + options_.address);
  }
  tcp::endpoint endpoint(address, options_.port);
  std::string where = FormatEndpoint(endpoint);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor_->close(ignored);
    return Error(ErrorCode::kIoError, "cannot listen on " + where + ": " + ec.message());
  }
  tcp::endpoint local = acceptor_->local_endpoint(ec);
  bound_port_ = local.port();
  endpoint_ = FormatEndpoint(local);
  return Status::Ok();
}

void ServerImpl::Run() {
  net::dispatch(*strand_, [this] {
    if (!stopping_.load()) DoAccept();
  });
  std::vector<std::thread> threads;
  threads.reserve(options_.io_threads);
  for (size_t i = 0; i < options_.io_threads; ++i) {
    threads.emplace_back([this] { ioc_->run(); });
    // Named for top -H, perf and /proc/<pid>/task: "roster-io0", "roster-io1", ...
    pthread_setname_np(threads.back().native_handle(), ("roster-io" + std::to_string(i)).c_str());
  }
  for (auto& t : threads) t.join();
  // Handlers still running finish; their responses have nowhere to go.
  workers_->Shutdown();
  workers_->Join();
  streams_->Shutdown();
  streams_->Join();
}

void ServerImpl::DoAccept() {
  acceptor_->async_accept(net::make_strand(*ioc_),
                          net::bind_executor(*strand_, [this](beast::error_code ec,
                                                              tcp::socket socket) {
                            OnAccept(ec, std::move(socket));
                          }));
}

void ServerImpl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping_.load() || !acceptor_->is_open()) return;
  if (ec) {
    // E.g. out of file descriptors: back off instead of spinning.
    log_->warn("accept failed: {}", ec.message());
    accept_retry_timer_->expires_after(std::chrono::milliseconds(100));
    accept_retry_timer_->async_wait([this](beast::error_code wec) {
      if (!wec && !stopping_.load()) DoAccept();
    });
    return;
  }
  size_t open;
  {
    std::lock_guard lock(sessions_mu_);
    open = sessions_.size();
  }
  if (open >= options_.max_connections) {
    RefuseConnection(std::move(socket));
  } else {
    std::make_shared<Session>(*this, std::move(socket))->Start();
  }
  DoAccept();
}

void ServerImpl::RefuseConnection(tcp::socket socket) {
  metrics_.rejected_connections.Inc();
  HttpResponse problem = ProblemResponse(
      Error(ErrorCode::kUnavailable, "too many open connections; retry shortly"));
  std::string text = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + problem.content_type +
                     "\r\nContent-Length: " + std::to_string(problem.body.size()) +
                     "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + problem.body;
  struct Refusal {
    tcp::socket socket;
    std::string text;
  };
  auto refusal = std::make_shared<Refusal>(Refusal{std::move(socket), std::move(text)});
  net::async_write(refusal->socket, net::buffer(refusal->text),
                   [refusal](beast::error_code, size_t) {
                     beast::error_code ec;
                     refusal->socket.shutdown(tcp::socket::shutdown_both, ec);
                     refusal->socket.close(ec);
                   });
}

uint64_t ServerImpl::Register(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(sessions_mu_);
  uint64_t id = next_session_id_++;
  sessions_.emplace(id, session);
  return id;
}

void ServerImpl::Unregister(uint64_t id) {
  bool last = false;
  {
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(id);
    last = sessions_.empty();
  }
  if (last && stopping_.load() && ioc_ && strand_) {
    net::post(*strand_, [this] {
      drain_timer_armed_ = false;
      drain_timer_->cancel();
    });
  }
}

std::vector<std::shared_ptr<Session>> ServerImpl::LiveSessions() {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard lock(sessions_mu_);
  for (auto& [id, weak] : sessions_) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}

void ServerImpl::Stop() {
  if (stopping_.exchange(true)) return;
  net::post(*strand_, [this] { BeginStop(); });
}

void ServerImpl::BeginStop() {
  log_->info("stopping: no new connections; draining in-flight requests (up to {} ms)",
             options_.drain_timeout.count());
  beast::error_code ec;
  acceptor_->close(ec);
  accept_retry_timer_->cancel();
  std::vector<std::shared_ptr<Session>> live = LiveSessions();
  for (auto& s : live) s->BeginDrain();
  if (live.empty()) return;
  drain_timer_armed_ = true;
  drain_timer_->expires_after(options_.drain_timeout);
  drain_timer_->async_wait([this](beast::error_code wec) { OnDrainDeadline(wec); });
}

void ServerImpl::OnDrainDeadline(beast::error_code ec) {
  if (ec || !drain_timer_armed_) return;
  std::vector<std::shared_ptr<Session>> live = LiveSessions();
  if (live.empty()) return;
  log_->warn("drain deadline passed: closing {} connection(s) with requests in flight",
             live.size());
  for (auto& s : live) s->ForceClose();
}

// ---- Server -----------------------------------------------------------------------------

Server::Server(ServerOptions options, Dispatcher& dispatcher, HttpMetrics& metrics)
    : impl_(std::make_unique<ServerImpl>(std::move(options), dispatcher, metrics)) {}

Server::~Server() = default;

Status Server::Listen() { return impl_->Listen(); }
uint16_t Server::port() const { return impl_->port(); }
std::string Server::endpoint() const { return impl_->endpoint(); }
void Server::Run() { impl_->Run(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace roster::gateway
