# Unit tests of bankd's store: the id hash map (idmap.c), interned names
# (names.c), the durable report journal (journal.c, with its sync thread)
# and the hold sums (tally.c).  None has a library target, so the tests
# build straight from the sources.  Included from tests/unit/CMakeLists.txt.
find_package(Threads REQUIRED)

add_executable(check_idmap ${CMAKE_CURRENT_LIST_DIR}/check_idmap.c
    ${CMAKE_SOURCE_DIR}/bankd/idmap.c)
target_include_directories(check_idmap PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_idmap PRIVATE PkgConfig::CHECK)
add_test(NAME unit_idmap COMMAND check_idmap)

add_executable(check_names ${CMAKE_CURRENT_LIST_DIR}/check_names.c
    ${CMAKE_SOURCE_DIR}/bankd/names.c)
target_include_directories(check_names PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_names PRIVATE PkgConfig::CHECK)
add_test(NAME unit_names COMMAND check_names)

add_executable(check_journal ${CMAKE_CURRENT_LIST_DIR}/check_journal.c
    ${CMAKE_SOURCE_DIR}/bankd/journal.c ${CMAKE_SOURCE_DIR}/bankd/log.c
    ${CMAKE_SOURCE_DIR}/bankd/logkv.c)
target_include_directories(check_journal PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_journal PRIVATE bankcore PkgConfig::JANSSON PkgConfig::CHECK
    Threads::Threads)
add_test(NAME unit_journal COMMAND check_journal)

add_executable(check_tally ${CMAKE_CURRENT_LIST_DIR}/check_tally.c
    ${CMAKE_SOURCE_DIR}/bankd/tally.c)
target_include_directories(check_tally PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_tally PRIVATE PkgConfig::CHECK)
add_test(NAME unit_tally COMMAND check_tally)

# Report bodies against the jansson builder they replaced.
add_executable(check_report ${CMAKE_CURRENT_LIST_DIR}/check_report.c
    ${CMAKE_SOURCE_DIR}/bankd/report.c)
target_include_directories(check_report PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_report PRIVATE bankcore Slurm::slurm
    PkgConfig::JANSSON PkgConfig::CHECK)
target_compile_definitions(check_report PRIVATE
    CONF_DIR="${CMAKE_CURRENT_LIST_DIR}/conf")
add_test(NAME unit_report COMMAND check_report)

# The API's answers as bankd decodes them.
add_executable(check_answer ${CMAKE_CURRENT_LIST_DIR}/check_answer.c
    ${CMAKE_SOURCE_DIR}/bankd/answer.c)
target_include_directories(check_answer PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_answer PRIVATE bankcore PkgConfig::JANSSON
    PkgConfig::CHECK)
add_test(NAME unit_answer COMMAND check_answer)

# Issue 13: one active controller per state_dir (lock.c), two processes.
add_executable(check_lock ${CMAKE_CURRENT_LIST_DIR}/check_lock.c
    ${CMAKE_SOURCE_DIR}/bankd/lock.c ${CMAKE_SOURCE_DIR}/bankd/log.c
    ${CMAKE_SOURCE_DIR}/bankd/logkv.c)
target_include_directories(check_lock PRIVATE ${CMAKE_SOURCE_DIR}/bankd
    ${CMAKE_SOURCE_DIR}/common)
target_link_libraries(check_lock PRIVATE bankcore PkgConfig::LIBEVENT
    PkgConfig::CHECK)
add_test(NAME unit_lock COMMAND check_lock)

# Issue 14: bankd's key=value log lines (logkv.c) and how log.c writes
# them (plain stderr, the journal's <N>, the level).
add_executable(check_logkv ${CMAKE_CURRENT_LIST_DIR}/check_logkv.c
    ${CMAKE_SOURCE_DIR}/bankd/logkv.c ${CMAKE_SOURCE_DIR}/bankd/log.c)
target_include_directories(check_logkv PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_logkv PRIVATE bankcore PkgConfig::CHECK)
add_test(NAME unit_logkv COMMAND check_logkv)
