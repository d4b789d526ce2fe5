# Unit tests of bankd's store: the id hash map (idmap.c), the durable
# report journal (journal.c) and the hold sums (tally.c).  None has a
# library target, so the tests build straight from the sources.  Included from tests/unit/CMakeLists.txt.
add_executable(check_idmap ${CMAKE_CURRENT_LIST_DIR}/check_idmap.c
    ${CMAKE_SOURCE_DIR}/bankd/idmap.c)
target_include_directories(check_idmap PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_idmap PRIVATE PkgConfig::CHECK)
add_test(NAME unit_idmap COMMAND check_idmap)

add_executable(check_journal ${CMAKE_CURRENT_LIST_DIR}/check_journal.c
    ${CMAKE_SOURCE_DIR}/bankd/journal.c ${CMAKE_SOURCE_DIR}/bankd/log.c)
target_include_directories(check_journal PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_journal PRIVATE PkgConfig::JANSSON PkgConfig::CHECK)
add_test(NAME unit_journal COMMAND check_journal)

add_executable(check_tally ${CMAKE_CURRENT_LIST_DIR}/check_tally.c
    ${CMAKE_SOURCE_DIR}/bankd/tally.c)
target_include_directories(check_tally PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_tally PRIVATE PkgConfig::CHECK)
add_test(NAME unit_tally COMMAND check_tally)
