# Unit tests of bankd's report queue (deliver.c and the files queue.h
# lists) and of its holds (holds.c), each driven without the daemon: a
# temp state directory, the test's event loop and, for the queue, a fake
# send hook in place of the portal.  Included from tests/unit/CMakeLists.txt.
add_executable(check_queue ${CMAKE_CURRENT_LIST_DIR}/check_queue.c)
target_link_libraries(check_queue PRIVATE bankd_objs PkgConfig::CHECK)
add_test(NAME unit_queue COMMAND check_queue)

add_executable(check_holds ${CMAKE_CURRENT_LIST_DIR}/check_holds.c)
target_link_libraries(check_holds PRIVATE bankd_objs PkgConfig::CHECK)
add_test(NAME unit_holds COMMAND check_holds)

# The reconciler's job list, as `bankd --list-jobs` writes it (joblist.c).
add_executable(check_joblist ${CMAKE_CURRENT_LIST_DIR}/check_joblist.c
    ${CMAKE_SOURCE_DIR}/bankd/joblist.c)
target_include_directories(check_joblist PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_joblist PRIVATE PkgConfig::CHECK)
add_test(NAME unit_joblist COMMAND check_joblist)
