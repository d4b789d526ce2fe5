# Unit tests of bankd's side of the portal: what it learns from
# can_submit_job (cache.c), the prices in force (pricetab.c, apiprices.c)
# and the portal's routes (portal.c).  Included from
# tests/unit/CMakeLists.txt.
add_executable(check_cache ${CMAKE_CURRENT_LIST_DIR}/check_cache.c
    ${CMAKE_SOURCE_DIR}/bankd/cache.c ${CMAKE_SOURCE_DIR}/bankd/idmap.c
    ${CMAKE_SOURCE_DIR}/bankd/answer.c)
target_include_directories(check_cache PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_cache PRIVATE bankcore PkgConfig::JANSSON
    PkgConfig::CHECK)
add_test(NAME unit_cache COMMAND check_cache)

# The prices in force: bank.yaml's and the API's merged (pricetab.c).
add_executable(check_prices ${CMAKE_CURRENT_LIST_DIR}/check_prices.c
    ${CMAKE_SOURCE_DIR}/bankd/pricetab.c ${CMAKE_SOURCE_DIR}/bankd/log.c
    ${CMAKE_SOURCE_DIR}/bankd/logkv.c)
target_include_directories(check_prices PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_prices PRIVATE bankcore PkgConfig::CHECK)
add_test(NAME unit_prices COMMAND check_prices)

# The portal's routes (portal.c) through the real client (api.c) against
# a scripted HTTP server in the test's own loop, and the prices in force
# (apiprices.c) across a reload.
add_executable(check_portal ${CMAKE_CURRENT_LIST_DIR}/check_portal.c
    ${CMAKE_SOURCE_DIR}/bankd/portal.c ${CMAKE_SOURCE_DIR}/bankd/api.c
    ${CMAKE_SOURCE_DIR}/bankd/counters.c
    ${CMAKE_SOURCE_DIR}/bankd/portal_report.c
    ${CMAKE_SOURCE_DIR}/bankd/answer.c ${CMAKE_SOURCE_DIR}/bankd/apiprices.c
    ${CMAKE_SOURCE_DIR}/bankd/pricetab.c ${CMAKE_SOURCE_DIR}/bankd/log.c
    ${CMAKE_SOURCE_DIR}/bankd/logkv.c)
target_include_directories(check_portal PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_portal PRIVATE bankcore PkgConfig::LIBEVENT
    PkgConfig::LIBCURL PkgConfig::JANSSON PkgConfig::CHECK)
add_test(NAME unit_portal COMMAND check_portal)
