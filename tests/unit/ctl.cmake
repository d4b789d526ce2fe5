# bankctl's argument checks, what it sends and how it prints hostile
# replies, against a fake bankd in Python (no Slurm, no bankd).  Included
# from tests/unit/CMakeLists.txt.
find_program(PYTHON3 python3 REQUIRED)
add_test(NAME unit_bankctl
  COMMAND ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/test_bankctl.py
          $<TARGET_FILE:bankctl>)
set_tests_properties(unit_bankctl PROPERTIES TIMEOUT 300)
