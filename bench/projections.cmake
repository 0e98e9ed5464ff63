# Projections benchmark (issue 4): rebuild speed, live/as-of check latency, who-has,
# audit pages, memory per membership, snapshots. Plain executable; `make bench`.
# Quick run: ROSTER_BENCH_PROJ_EVENTS=100000 ctest -L bench -R projections_bench
add_executable(projections_bench ${CMAKE_CURRENT_LIST_DIR}/projections_bench.cc)
# With the server's allocator (jemalloc), which also carries the warm arena of the rebuild.
target_link_libraries(projections_bench PRIVATE roster_projections Threads::Threads
                      ${ROSTER_JEMALLOC_LIBRARY})
add_test(NAME projections_bench COMMAND projections_bench)
set_tests_properties(projections_bench PROPERTIES LABELS bench TIMEOUT 1800)
