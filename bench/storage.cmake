# Storage benchmark (issue 2): durable appends vs raw RocksDB, replay vs a raw iterator.
# A plain executable with its own timing (no Google Benchmark needed); `make bench`.
add_executable(storage_bench ${CMAKE_CURRENT_LIST_DIR}/storage_bench.cc)
target_link_libraries(storage_bench PRIVATE roster_storage ${ROSTER_ROCKSDB} Threads::Threads)
add_test(NAME storage_bench COMMAND storage_bench)
set_tests_properties(storage_bench PROPERTIES LABELS bench TIMEOUT 1800)
