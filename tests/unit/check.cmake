# Unit tests of bankd's submit decision (check.c and the files checkint.h
# lists): a struct bankd as main.c makes it, checks sent over a socketpair
# through dispatch.c, and the portal's can_submit_job answered by a
# scripted HTTP server in the test's own loop.  Included from
# tests/unit/CMakeLists.txt.
add_executable(check_check ${CMAKE_CURRENT_LIST_DIR}/check_check.c)
target_link_libraries(check_check PRIVATE bankd_objs PkgConfig::CHECK)
add_test(NAME unit_check COMMAND check_check)
