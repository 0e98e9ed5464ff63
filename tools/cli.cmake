# roster: the command-line tool (build/tools/roster). See docs/cli.md.
# roster_http_client: the one HTTP client, shared by the CLI and every end-to-end test.
add_library(roster_http_client http_client.cc)
target_link_libraries(roster_http_client PUBLIC roster_base Boost::headers Boost::json Boost::url
                      Threads::Threads)
add_library(roster_cli_lib progress.cc cli_offline.cc cli_online.cc cli_bench.cc)
target_link_libraries(roster_cli_lib PUBLIC roster_http_client roster_projections roster_storage
                      Boost::headers Boost::json Threads::Threads)
add_executable(roster roster.cc)
# jemalloc like rosterd: `roster replay` rebuilds the views offline (warm arena).
target_link_libraries(roster PRIVATE roster_cli_lib CLI11::CLI11 ${ROSTER_JEMALLOC_LIBRARY})
add_dependencies(roster rosterd)  # `roster serve` runs the rosterd beside it
