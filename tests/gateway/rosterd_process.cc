// RosterdProcess, TempDir, FreePort: process and file plumbing for end-to-end tests.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/gateway/http_client.h"

extern char** environ;

namespace roster::testing {

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
  }
  ::close(fd);
  return port;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                     "/roster-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

RosterdProcess::RosterdProcess(std::string binary, std::string data_dir,
                               std::vector<std::string> args, HeaderList env)
    : binary_(std::move(binary)),
      data_dir_(std::move(data_dir)),
      args_(std::move(args)),
      env_(std::move(env)) {
  std::string tmpl = std::filesystem::temp_directory_path().string() + "/rosterd-log-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd >= 0) {
    ::close(fd);
    log_path_ = buf.data();
  }
}

RosterdProcess::~RosterdProcess() {
  if (pid_ > 0) Kill();
  if (!log_path_.empty()) ::unlink(log_path_.c_str());
}

pid_t RosterdProcess::Spawn(const std::vector<std::string>& argv) {
  // Build argv and envp before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "ROSTER_", 7) != 0) env_strings.emplace_back(*e);
  }
  for (const auto& [k, v] : env_) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args_copy = argv;
  std::vector<char*> argvp;
  for (auto& s : args_copy) argvp.push_back(s.data());
  argvp.push_back(nullptr);

  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(binary_.c_str(), argvp.data(), envp.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  return pid;
}

bool RosterdProcess::Start(std::chrono::milliseconds timeout) {
  if (pid_ > 0) return false;
  if (port_ == 0) port_ = FreePort();
  std::vector<std::string> argv = {binary_, "--data-dir", data_dir_, "--listen",
                                   "127.0.0.1:" + std::to_string(port_)};
  argv.insert(argv.end(), args_.begin(), args_.end());
  pid_ = Spawn(argv);
  if (pid_ <= 0) return false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;  // exited during start-up: Log() says why
    }
    HttpClient probe(port_, "127.0.0.1", std::chrono::milliseconds(1000));
    HttpResult r = probe.Get("/health");
    if (r.status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Kill();
  return false;
}

int RosterdProcess::RunToExit(const std::vector<std::string>& args,
                              std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {binary_};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = Spawn(argv);
  if (pid_ <= 0) return -1;
  int code = Wait(timeout);
  if (code == -1) Kill();
  return code;
}

void RosterdProcess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int RosterdProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0) {
      pid_ = -1;
      return -1;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int RosterdProcess::Terminate(std::chrono::milliseconds timeout) {
  Signal(SIGTERM);
  return Wait(timeout);
}

void RosterdProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool RosterdProcess::Restart(std::chrono::milliseconds timeout) {
  if (pid_ > 0 && Terminate(timeout) != 0) return false;
  return Start(timeout);
}

std::string RosterdProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace roster::testing
