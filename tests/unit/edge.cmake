# Unit tests of bankd's request edge: the decoder (req.c, in bankcore),
# connections and dispatch driven over a socketpair (conn.c, dispatch.c,
# peer.c), and what a delivery changes (ledger.c, with holds.c stood in
# for).  Included from tests/unit/CMakeLists.txt.
add_executable(check_req ${CMAKE_CURRENT_LIST_DIR}/check_req.c)
target_link_libraries(check_req PRIVATE bankcore PkgConfig::CHECK)
add_test(NAME unit_req COMMAND check_req)

add_executable(check_edge ${CMAKE_CURRENT_LIST_DIR}/check_edge.c)
target_link_libraries(check_edge PRIVATE bankd_objs PkgConfig::CHECK)
target_compile_definitions(check_edge PRIVATE
    CONF_DIR="${CMAKE_CURRENT_LIST_DIR}/conf")
add_test(NAME unit_edge COMMAND check_edge)

add_executable(check_ledger ${CMAKE_CURRENT_LIST_DIR}/check_ledger.c
    ${CMAKE_SOURCE_DIR}/bankd/ledger.c ${CMAKE_SOURCE_DIR}/bankd/cache.c
    ${CMAKE_SOURCE_DIR}/bankd/idmap.c)
target_include_directories(check_ledger PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_ledger PRIVATE bankcore PkgConfig::LIBEVENT
    PkgConfig::CHECK)
add_test(NAME unit_ledger COMMAND check_ledger)

add_executable(check_counters ${CMAKE_CURRENT_LIST_DIR}/check_counters.c
    ${CMAKE_SOURCE_DIR}/bankd/counters.c)
target_include_directories(check_counters PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_counters PRIVATE bankcore PkgConfig::CHECK)
add_test(NAME unit_counters COMMAND check_counters)

# Issue 13: SHA-256 (FIPS 180-2 vectors), the digest a MUNGE credential
# binds, and the credential's check with munged stubbed out.
add_executable(check_tcpauth ${CMAKE_CURRENT_LIST_DIR}/check_tcpauth.c
    ${CMAKE_SOURCE_DIR}/bankd/tcpauth.c)
target_include_directories(check_tcpauth PRIVATE ${CMAKE_SOURCE_DIR}/bankd)
target_link_libraries(check_tcpauth PRIVATE bankproto PkgConfig::CHECK)
add_test(NAME unit_tcpauth COMMAND check_tcpauth)

# Issue 15: a credential asked of a munged that is down fails at once
# (plugins.failover makes one inside slurmctld), naming the socket.
add_executable(check_cred ${CMAKE_CURRENT_LIST_DIR}/check_cred.c)
target_link_libraries(check_cred PRIVATE bankproto_tcp PkgConfig::CHECK)
add_test(NAME unit_cred COMMAND check_cred)

# Issue 13: credentials decoded off the loop (credq.c), a TCP connection's
# pipelined frames kept in order (listen_tcp.c, conn.c) and the relay
# rule (peer.c, fields.c), with a fake decoder in munged's place.
add_executable(check_credq ${CMAKE_CURRENT_LIST_DIR}/check_credq.c)
target_link_libraries(check_credq PRIVATE bankd_objs PkgConfig::CHECK)
target_compile_definitions(check_credq PRIVATE
    CONF_DIR="${CMAKE_CURRENT_LIST_DIR}/conf")
add_test(NAME unit_credq COMMAND check_credq)
