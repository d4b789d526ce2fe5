# Unit tests of what bankd knows of the portal: the cache of
# can_submit_job's answers (cache.c).  Included from
# tests/unit/CMakeLists.txt.
add_executable(check_cache ${CMAKE_CURRENT_LIST_DIR}/check_cache.c
    ${CMAKE_SOURCE_DIR}/bankd/cache.c ${CMAKE_SOURCE_DIR}/bankd/idmap.c
    ${CMAKE_SOURCE_DIR}/bankd/answer.c)
target_include_directories(check_cache PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_cache PRIVATE bankcore PkgConfig::JANSSON
    PkgConfig::CHECK)
add_test(NAME unit_cache COMMAND check_cache)
