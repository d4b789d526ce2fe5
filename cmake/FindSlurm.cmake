# Finds the installed Slurm (headers, libslurm, version) and the matching
# Slurm source tree whose internal headers the jobcomp plugin needs.
#
#   SLURM_INCLUDE_DIR  <slurm/slurm.h>
#   SLURM_LIBRARY      libslurm
#   SLURM_VERSION      e.g. 22.05.8 (from slurm_version.h)
#   SLURM_SRC_DIR      unpacked source of exactly SLURM_VERSION
#   SLURM_PLUGIN_DIR   where the installed plugins live
find_path(SLURM_INCLUDE_DIR slurm/slurm.h)
find_library(SLURM_LIBRARY NAMES slurm)
if(NOT SLURM_INCLUDE_DIR OR NOT SLURM_LIBRARY)
  message(FATAL_ERROR "Slurm headers or libslurm not found: install libslurm-dev "
                      "(scripts/setup does)")
endif()
file(STRINGS ${SLURM_INCLUDE_DIR}/slurm/slurm_version.h _v
     REGEX "^#define SLURM_VERSION_NUMBER")
string(REGEX REPLACE ".*0x([0-9a-fA-F]+).*" "\\1" _hex "${_v}")
math(EXPR _maj "0x${_hex} >> 16" OUTPUT_FORMAT DECIMAL)
math(EXPR _min "(0x${_hex} >> 8) & 255" OUTPUT_FORMAT DECIMAL)
math(EXPR _mic "0x${_hex} & 255" OUTPUT_FORMAT DECIMAL)
if(_min LESS 10)
  set(_min "0${_min}")
endif()
set(SLURM_VERSION "${_maj}.${_min}.${_mic}")

set(SLURM_SRC_DIR "${CMAKE_SOURCE_DIR}/third_party/slurm-${SLURM_VERSION}"
    CACHE PATH "Slurm source tree matching the installed Slurm")
if(NOT EXISTS "${SLURM_SRC_DIR}/src/slurmctld/slurmctld.h")
  message(FATAL_ERROR "Slurm ${SLURM_VERSION} source not found in ${SLURM_SRC_DIR}: "
                      "run scripts/setup, or pass -DSLURM_SRC_DIR=<unpacked slurm-${SLURM_VERSION}>")
endif()
file(STRINGS "${SLURM_SRC_DIR}/META" _m REGEX "^ *Micro:")
string(REGEX REPLACE "^.*:[ \t]*([0-9]+).*$" "\\1" _micro "${_m}")
if(NOT SLURM_VERSION MATCHES "\\.${_micro}$")
  message(FATAL_ERROR "Slurm source in ${SLURM_SRC_DIR} (micro ${_micro}) does not "
                      "match the installed Slurm ${SLURM_VERSION}")
endif()

find_path(SLURM_PLUGIN_DIR NAMES jobcomp_none.so
          PATHS /usr/lib/x86_64-linux-gnu/slurm-wlm /usr/lib64/slurm /usr/lib/slurm)
message(STATUS "Slurm ${SLURM_VERSION}: ${SLURM_LIBRARY}, source ${SLURM_SRC_DIR}")
add_library(Slurm::slurm UNKNOWN IMPORTED)
set_target_properties(Slurm::slurm PROPERTIES IMPORTED_LOCATION ${SLURM_LIBRARY}
                      INTERFACE_INCLUDE_DIRECTORIES ${SLURM_INCLUDE_DIR})
