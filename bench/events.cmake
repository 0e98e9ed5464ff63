# Events codec benchmark (issues 2 and 4): encode/decode of a realistic event mix,
# envelope-only decode, DecodeRecorded, JSON rendering. Google Benchmark; `make bench`
# runs it briefly. Figures: events_bench --benchmark_min_time=2 --benchmark_repetitions=3
if(TARGET benchmark::benchmark)
  add_executable(events_bench ${CMAKE_CURRENT_LIST_DIR}/events_bench.cc)
  target_link_libraries(events_bench PRIVATE roster_events benchmark::benchmark)
  add_test(NAME events_bench COMMAND events_bench --benchmark_min_time=0.2)
  set_tests_properties(events_bench PROPERTIES LABELS bench TIMEOUT 600)
endif()
