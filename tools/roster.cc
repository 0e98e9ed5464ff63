// `roster`: the operator's and auditor's command-line tool. See docs/cli.md.
//
//   roster serve …            the server (same binary code as rosterd)
//   roster verify --data-dir DIR [--against URL]
//   roster replay --data-dir DIR (--until-position N | --until TIME) check|members|access-review …
//   roster export --data-dir DIR --format jsonl|csv [filters]
//   roster import --url URL FILE
//   roster demo --url URL
//   roster bench storage|commands|projections|gateway|all

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/cli.h"

namespace {


// The directory of this executable (for finding rosterd and the benchmarks beside it).
std::filesystem::path SelfDir(const char* argv0) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) self = std::filesystem::absolute(argv0, ec);
  return self.parent_path();
}

int ExecBeside(const std::filesystem::path& binary, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string path = binary.string();
  argv.push_back(path.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(path.c_str(), argv.data());
  return roster::tools::Fail(2, "cannot run " + path + ": " + std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace roster::tools;
  CLI::App app{"roster: the membership ledger's command-line tool"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "roster 0.1.0");

  // serve: an alias of rosterd (same flags); every argument after `serve` goes to it.
  std::vector<std::string> serve_args;
  auto* serve = app.add_subcommand("serve", "Run the server (the same program as rosterd; see rosterd --help)");
  serve->allow_extras();
  serve->prefix_command();

  VerifyArgs verify;
  auto* v = app.add_subcommand("verify", "Walk the chain offline: gapless positions and versions, every event decodes, every hash");
  v->add_option("--data-dir", verify.data_dir, "Data directory of rosterd")->envname("ROSTER_DATA_DIR")->required();
  v->add_option("--against", verify.against, "URL of a running server to compare heads with, e.g. http://127.0.0.1:8080");
  v->add_option("--service-key", verify.service_key, "Service key for --against")->envname("ROSTER_SERVICE_KEY");
  v->add_flag("--json", verify.json, "Print a JSON summary");

  ReplayArgs replay;
  auto* r = app.add_subcommand("replay", "Rebuild the views as of a past moment (read-only) and answer a question there");
  r->add_option("--data-dir", replay.data_dir, "Data directory of rosterd")->envname("ROSTER_DATA_DIR")->required();
  auto* until_pos = r->add_option("--until-position", replay.until_position, "State right after this position");
  auto* until = r->add_option("--until", replay.until, "State after the last event recorded at or before this RFC 3339 time");
  until_pos->excludes(until);
  r->require_subcommand(1);
  auto* rq_check = r->add_subcommand("check", "May PRINCIPAL do PERMISSION in WORKSPACE (or on ACCOUNT/RESOURCE)? And why");
  rq_check->add_option("--principal", replay.principal)->required();
  rq_check->add_option("--permission", replay.permission)->required();
  rq_check->add_option("--workspace", replay.workspace);
  rq_check->add_option("--market", replay.market);
  rq_check->add_option("--set", replay.set);
  rq_check->add_option("--account", replay.account);
  rq_check->add_option("--resource", replay.resource);
  auto* rq_members = r->add_subcommand("members", "The members of WORKSPACE");
  rq_members->add_option("--workspace", replay.workspace)->required();
  auto* rq_review = r->add_subcommand("access-review", "Who gained, lost or changed access in WORKSPACE between two moments");
  rq_review->add_option("--workspace", replay.workspace)->required();
  rq_review->add_option("--from", replay.from, "RFC 3339")->required();
  rq_review->add_option("--to", replay.to, "RFC 3339")->required();
  auto* rq_user = r->add_subcommand("user-access", "Every workspace and permission of USER");
  rq_user->add_option("--user", replay.user)->required();
  auto* rq_hist = r->add_subcommand("access-history", "The grant intervals of USER in WORKSPACE");
  rq_hist->add_option("--workspace", replay.workspace)->required();
  rq_hist->add_option("--user", replay.user)->required();

  ExportArgs exp;
  auto* e = app.add_subcommand("export", "Stream the audit trail as JSON Lines or CSV (read-only)");
  e->add_option("--data-dir", exp.data_dir, "Data directory of rosterd")->envname("ROSTER_DATA_DIR")->required();
  e->add_option("--format", exp.format, "jsonl or csv")->check(CLI::IsMember({"jsonl", "csv"}));
  e->add_option("--output,-o", exp.output, "File to write (default: stdout)");
  e->add_option("--account", exp.account);
  e->add_option("--workspace", exp.workspace);
  e->add_option("--actor", exp.actor, "e.g. user:ana or service");
  e->add_option("--subject", exp.subject);
  e->add_option("--type", exp.type, "Event type, e.g. InviteSent");
  e->add_option("--from", exp.from, "RFC 3339, inclusive");
  e->add_option("--to", exp.to, "RFC 3339, inclusive");

  ImportArgs imp;
  auto* i = app.add_subcommand("import", "Bulk-load accounts, workspaces and members through the API (safe to rerun)");
  i->add_option("--url", imp.url, "Server URL, e.g. http://127.0.0.1:8080")->envname("ROSTER_URL")->required();
  i->add_option("file", imp.file, "JSON Lines or CSV file (see docs/cli.md)")->required();
  i->add_option("--format", imp.format, "jsonl or csv (default: by file extension)");
  i->add_option("--service-key", imp.service_key)->envname("ROSTER_SERVICE_KEY")->required();
  i->add_option("--rejects", imp.rejects, "Write rejected rows (line: code: detail) to this file");

  DemoArgs demo;
  auto* d = app.add_subcommand("demo", "Seed a realistic demo through the API and print what to try next");
  d->add_option("--url", demo.url, "Server URL")->envname("ROSTER_URL")->default_val("http://127.0.0.1:8080");
  d->add_option("--service-key", demo.service_key)->envname("ROSTER_SERVICE_KEY")->required();

  BenchArgs bench;
  auto* b = app.add_subcommand("bench", "Run the benchmarks (see docs/BENCHMARKS.md)");
  std::vector<std::string> bench_choices = BenchNames();
  bench_choices.push_back("all");
  b->add_option("which", bench.which,
                "events, storage, commands, projections, gateway, gateway_load or all")
      ->check(CLI::IsMember(bench_choices))
      ->default_val("all");
  b->allow_extras();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0 with their text; every other parse error is a usage
    // error: CLI11's message on stderr and exit 2, as docs/cli.md promises.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  auto self = SelfDir(argv[0]);

  if (serve->parsed()) {
    std::vector<std::string> args = serve->remaining();
    return ExecBeside(self / "rosterd", args);
  }
  if (v->parsed()) return RunVerify(verify);
  if (r->parsed()) {
    for (auto* q : r->get_subcommands()) replay.question = q->get_name();
    return RunReplay(replay);
  }
  if (e->parsed()) return RunExport(exp);
  if (i->parsed()) return RunImport(imp);
  if (d->parsed()) return RunDemo(demo);
  if (b->parsed()) {
    bench.passthrough = b->remaining();
    return RunBench(bench, self.string());
  }
  return 0;
}
