# bankctl migrate-config: the original plugins' bank-config.toml read by
# ctl_toml.c and carried over by ctl_migrate.c; each result is checked by
# bankd --check-config (no daemon runs).  Included from
# tests/unit/CMakeLists.txt.
find_program(PYTHON3 python3 REQUIRED)
add_test(NAME unit_migrate
  COMMAND ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/test_migrate.py
          $<TARGET_FILE:bankctl> $<TARGET_FILE:bankd>)
set_tests_properties(unit_migrate PROPERTIES TIMEOUT 300)
