# Commands benchmark (issue 3): SendInvite through the CommandHandler over the synced
# RocksDB store vs raw appends of the same event size, and the decide-only cost.
# A plain executable with its own timing; `make bench`.
add_executable(commands_bench ${CMAKE_CURRENT_LIST_DIR}/commands_bench.cc)
target_link_libraries(commands_bench PRIVATE roster_commands roster_storage Threads::Threads)
add_test(NAME commands_bench COMMAND commands_bench)
set_tests_properties(commands_bench PROPERTIES LABELS bench TIMEOUT 1800)
