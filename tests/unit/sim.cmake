# Unit tests of the myBRC simulator's logic (tests/sim, library simbank).
# Included from tests/unit/CMakeLists.txt.
add_executable(check_sim ${CMAKE_CURRENT_LIST_DIR}/check_sim.c)
target_link_libraries(check_sim PRIVATE simbank PkgConfig::CHECK)
add_test(NAME unit_sim COMMAND check_sim)
