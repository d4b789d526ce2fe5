# Unit tests of bankcore (money, prices, bank.yaml) and bankproto (frames
# and the deadline-bound client).  Included from tests/unit/CMakeLists.txt.
add_executable(check_money ${CMAKE_CURRENT_LIST_DIR}/check_money.c)
target_link_libraries(check_money PRIVATE bankcore PkgConfig::CHECK)
target_compile_definitions(check_money PRIVATE
    CONF_DIR="${CMAKE_CURRENT_LIST_DIR}/conf")
add_test(NAME unit_money COMMAND check_money)

add_executable(check_conf ${CMAKE_CURRENT_LIST_DIR}/check_conf.c)
target_link_libraries(check_conf PRIVATE bankcore PkgConfig::CHECK)
target_compile_definitions(check_conf PRIVATE
    CONF_DIR="${CMAKE_CURRENT_LIST_DIR}/conf")
add_test(NAME unit_conf COMMAND check_conf)

add_executable(check_proto ${CMAKE_CURRENT_LIST_DIR}/check_proto.c)
target_link_libraries(check_proto PRIVATE bankproto PkgConfig::CHECK)
add_test(NAME unit_proto COMMAND check_proto)
