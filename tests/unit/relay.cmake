# Unit tests of bankd's relay role: its queue and journal (relayq.c) and
# its forwarder (relay_fwd.c, relay_wire.c; both in bankd_objs) against a
# fake upstream served in the test, with fake credentials.  Included from
# tests/unit/CMakeLists.txt.
add_executable(check_relay ${CMAKE_CURRENT_LIST_DIR}/check_relay.c)
target_link_libraries(check_relay PRIVATE bankd_objs PkgConfig::CHECK)
add_test(NAME unit_relay COMMAND check_relay)
