# Gateway benchmark: router matching in-process, and keep-alive HTTP round trips against
# the real server (loopback, N client threads). A plain executable; `make bench`.
if(TARGET roster_test_http)
  add_executable(gateway_bench ${CMAKE_CURRENT_LIST_DIR}/gateway_bench.cc)
  target_link_libraries(gateway_bench PRIVATE roster_gateway roster_test_http Threads::Threads)
  add_test(NAME gateway_bench COMMAND gateway_bench)
  set_tests_properties(gateway_bench PROPERTIES LABELS bench TIMEOUT 600)
endif()

# The load benchmark (issue 5): the real rosterd driven by wrk with 64 keep-alive
# connections (bench/load/). Needs wrk (tools/setup.sh installs it); skipped without it.
find_program(ROSTER_WRK wrk)
if(TARGET roster_test_http AND TARGET rosterd AND ROSTER_WRK)
  add_executable(gateway_load_bench ${CMAKE_CURRENT_LIST_DIR}/load/gateway_load.cc)
  target_link_libraries(gateway_load_bench PRIVATE roster_test_http Boost::json Threads::Threads)
  target_compile_definitions(gateway_load_bench PRIVATE
    ROSTERD_PATH="$<TARGET_FILE:rosterd>"
    WRK_PATH="${ROSTER_WRK}"
    LOAD_SCRIPT_PATH="${CMAKE_CURRENT_LIST_DIR}/load/roster.lua")
  add_dependencies(gateway_load_bench rosterd)
  add_test(NAME gateway.load_bench COMMAND gateway_load_bench --rounds 3 --seconds 4)
  set_tests_properties(gateway.load_bench PROPERTIES LABELS bench TIMEOUT 900)
endif()
