# bankctl backfill's sacct reader (bankctl/ctl_sacct.c): lines decoded
# once into typed values, bad ones refused by field, random and mutated
# input, the runner's deadline.  Included from tests/unit/CMakeLists.txt.
add_executable(check_sacct ${CMAKE_CURRENT_LIST_DIR}/check_sacct.c
    ${CMAKE_SOURCE_DIR}/bankctl/ctl_sacct.c)
target_include_directories(check_sacct PRIVATE ${CMAKE_SOURCE_DIR}/bankctl)
target_link_libraries(check_sacct PRIVATE bankcore PkgConfig::CHECK)
add_test(NAME unit_sacct COMMAND check_sacct)
