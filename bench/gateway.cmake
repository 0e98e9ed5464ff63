# Gateway benchmark: router matching in-process, and keep-alive HTTP round trips against
# the real server (loopback, N client threads). A plain executable; `make bench`.
if(TARGET roster_test_http)
  add_executable(gateway_bench ${CMAKE_CURRENT_LIST_DIR}/gateway_bench.cc)
  target_link_libraries(gateway_bench PRIVATE roster_gateway roster_test_http Threads::Threads)
  add_test(NAME gateway_bench COMMAND gateway_bench)
  set_tests_properties(gateway_bench PROPERTIES LABELS bench TIMEOUT 600)
endif()
