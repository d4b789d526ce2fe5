# Unit tests of bankd's Prometheus text (bankd/metrics_fmt.c, with the
# counters it shows): formatting, histogram buckets, label escaping, SU
# as exact decimals.  check_metrics --sample prints a scrape of made-up
# figures, which test_dashboard.py parses and checks the Grafana
# dashboard (contrib/grafana/bankd.json) against.  Included from
# tests/unit/CMakeLists.txt.
add_executable(check_metrics ${CMAKE_CURRENT_LIST_DIR}/check_metrics.c
    ${CMAKE_SOURCE_DIR}/bankd/metrics_fmt.c
    ${CMAKE_SOURCE_DIR}/bankd/counters.c)
target_include_directories(check_metrics PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_metrics PRIVATE bankcore PkgConfig::CHECK)
add_test(NAME unit_metrics COMMAND check_metrics)
add_test(NAME unit_dashboard
  COMMAND ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/test_dashboard.py
    $<TARGET_FILE:check_metrics>
    ${CMAKE_SOURCE_DIR}/contrib/grafana/bankd.json)
