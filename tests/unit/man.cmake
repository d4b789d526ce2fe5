# The man pages against the code: bank.yaml(5) against the settings the
# parser accepts (bankd --list-config-keys), bankctl(8) against the
# command table, bankd(8) against its options; mandoc -T lint and man -l
# when installed.  Included from tests/unit/CMakeLists.txt.
find_program(PYTHON3 python3 REQUIRED)
add_test(NAME unit_manpages
  COMMAND ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/test_manpages.py
          $<TARGET_FILE:bankd> ${PROJECT_SOURCE_DIR})
set_tests_properties(unit_manpages PROPERTIES TIMEOUT 120)
