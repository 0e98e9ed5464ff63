// `roster bench`: runs the benchmark programs built beside the tool (build/bench/…).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "tools/cli.h"

namespace roster::tools {

int RunBench(const BenchArgs& args, const std::string& self_dir) {
  std::vector<std::string> which;
  if (args.which == "all") {
    which = BenchNames();
  } else {
    which = {args.which};
  }
  std::filesystem::path dir = std::filesystem::path(self_dir).parent_path() / "bench";
  int worst = 0;
  for (const auto& name : which) {
    auto binary = dir / (name + "_bench");
    if (!std::filesystem::exists(binary)) {
      worst = std::max(worst, Fail(2, binary.string() + " is not built (make bench builds it)"));
      continue;
    }
    std::fprintf(stderr, "== %s\n", binary.string().c_str());
    pid_t pid = ::fork();
    if (pid == 0) {
      std::vector<std::string> copy = args.passthrough;
      std::vector<char*> argv;
      std::string path = binary.string();
      argv.push_back(path.data());
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(path.c_str(), argv.data());
      _exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    worst = std::max(worst, code);
  }
  return worst;
}

}  // namespace roster::tools
