# Debian packages, built by `cpack` in the build directory (docs/packages.md):
#
#   slurm-bank-plugins  the three plugins, in Debian's Slurm PluginDir
#   slurm-bankd         bankd, bankctl, the units, /etc/slurm/bank.yaml, man pages
#
# Everything installed only into a package (absolute paths under /etc,
# /lib/systemd, /usr/share/doc) is EXCLUDE_FROM_ALL: `cmake --install`
# to /usr/local never writes /etc/slurm/bank.yaml over an admin's file.
set(PKG_DIR ${CMAKE_SOURCE_DIR}/packaging)
set(PKG_OUT ${CMAKE_BINARY_DIR}/packaging)
set(PKG_RELEASE 1)
set(PKG_VERSION "${PROJECT_VERSION}-${PKG_RELEASE}")
file(MAKE_DIRECTORY ${PKG_OUT})

# The changelog's newest entry must name the version being packaged:
# lintian reads the version from there too, and a package whose
# changelog does not mention it says nothing about what changed.
file(STRINGS ${PKG_DIR}/changelog _top LIMIT_COUNT 1)
if(NOT _top MATCHES "^slurm-bank \\(${PKG_VERSION}\\) ")
  message(FATAL_ERROR "packaging/changelog: the first entry is not version "
                      "${PKG_VERSION}: add an entry for it (\"${_top}\")")
endif()

# The exact Slurm the plugins are built against: libslurm-dev's version
# (its headers, and the source under third_party pinned to it by
# scripts/setup).  slurm-wlm-basic-plugins of that version is what the
# package depends on: it owns the PluginDir, every Slurm daemon and client
# (slurmctld, slurmd, slurm-client) depends on exactly its version, so
# pinning it pins the slurmctld and slurmd that load our plugins.
find_program(DPKG_QUERY dpkg-query)
set(SLURM_DEB_VERSION "")
if(DPKG_QUERY)
  execute_process(COMMAND ${DPKG_QUERY} -W -f=\${Version} libslurm-dev
                  OUTPUT_VARIABLE SLURM_DEB_VERSION ERROR_QUIET
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND ${DPKG_QUERY} -W -f=\${Version} slurm-wlm-basic-plugins
                  OUTPUT_VARIABLE _basic ERROR_QUIET
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_basic AND NOT _basic STREQUAL SLURM_DEB_VERSION)
    message(WARNING "slurm-wlm-basic-plugins ${_basic} and libslurm-dev "
                    "${SLURM_DEB_VERSION} differ: slurm-bank-plugins will "
                    "depend on ${SLURM_DEB_VERSION}, the headers it is built with")
  endif()
endif()
if(SLURM_DEB_VERSION AND NOT SLURM_DEB_VERSION MATCHES "^${SLURM_VERSION}-")
  message(FATAL_ERROR "libslurm-dev ${SLURM_DEB_VERSION} is not Slurm "
                      "${SLURM_VERSION} (slurm_version.h)")
endif()

# gzip -9n: what Debian wants for changelogs (and man pages, man/).
add_custom_command(OUTPUT ${PKG_OUT}/changelog.Debian.gz
  COMMAND gzip -9n -c ${PKG_DIR}/changelog > ${PKG_OUT}/changelog.Debian.gz
  DEPENDS ${PKG_DIR}/changelog VERBATIM)
add_custom_target(pkgdocs ALL DEPENDS ${PKG_OUT}/changelog.Debian.gz)

foreach(comp_pkg "plugins;slurm-bank-plugins" "bankd;slurm-bankd")
  list(GET comp_pkg 0 comp)
  list(GET comp_pkg 1 pkg)
  install(FILES ${PKG_DIR}/copyright ${PKG_OUT}/changelog.Debian.gz
          DESTINATION /usr/share/doc/${pkg} COMPONENT ${comp} EXCLUDE_FROM_ALL)
endforeach()

# slurm-bank-plugins: spank is loaded through plugstack.conf.d, which
# Debian's /etc/slurm/plugstack.conf (slurm-wlm-basic-plugins) includes.
configure_file(${PKG_DIR}/plugins/bank.conf.in ${PKG_OUT}/bank.conf @ONLY)
install(FILES ${PKG_OUT}/bank.conf
        DESTINATION /etc/slurm/plugstack.conf.d COMPONENT plugins EXCLUDE_FROM_ALL)

# slurm-bankd
install(FILES ${CMAKE_SOURCE_DIR}/etc/bank.yaml
        DESTINATION /etc/slurm COMPONENT bankd EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_SOURCE_DIR}/systemd/bankd.service
              ${CMAKE_SOURCE_DIR}/systemd/bankd-relay.service
        DESTINATION /lib/systemd/system COMPONENT bankd EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_SOURCE_DIR}/etc/relay.yaml ${CMAKE_SOURCE_DIR}/etc/bank.yaml
        DESTINATION /usr/share/doc/slurm-bankd/examples
        COMPONENT bankd EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/packages.md
        DESTINATION /usr/share/doc/slurm-bankd COMPONENT bankd EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME slurm-bank)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT
    "slurm-bank maintainers <maintainers@users.noreply.r-seed-4590daa5.example>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# Absolute destinations (/etc, /lib/systemd, the PluginDir) go into the
# package's tree, not onto the build machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
    WORLD_READ WORLD_EXECUTE)
set(CPACK_COMPONENTS_ALL plugins bankd)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${PKG_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_PLUGINS_PACKAGE_NAME slurm-bank-plugins)
set(CPACK_DEBIAN_PLUGINS_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PLUGINS_DESCRIPTION
"Slurm plugins of slurm-bank (job_submit, jobcomp, spank)
job_submit/bank refuses at submission the jobs an account cannot pay for,
jobcomp/bank reports every finished job with its actual use, and spank_bank
reports each job's start. Each makes one call to bankd (package slurm-bankd)
over a Unix socket, with a deadline.

Built for exactly one Slurm version: rebuild and reinstall this package
after every Slurm upgrade.")
if(SLURM_DEB_VERSION)
  set(CPACK_DEBIAN_PLUGINS_PACKAGE_DEPENDS
      "slurm-wlm-basic-plugins (= ${SLURM_DEB_VERSION})")
endif()
set(CPACK_DEBIAN_PLUGINS_PACKAGE_RECOMMENDS "slurm-bankd (= ${PKG_VERSION})")
set(CPACK_DEBIAN_PLUGINS_PACKAGE_CONTROL_EXTRA ${PKG_DIR}/plugins/conffiles)

set(CPACK_DEBIAN_BANKD_PACKAGE_NAME slurm-bankd)
set(CPACK_DEBIAN_BANKD_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_BANKD_DESCRIPTION
"slurm-bank daemon (bankd) and its client (bankctl)
bankd prices Slurm jobs in service units, asks a myBRC/ColdFront portal's
API whether an account can pay, journals every job report before
acknowledging it and delivers it to the portal with retries. On compute
and login nodes it runs as a relay that forwards reports to the
controller's bankd. bankctl shows balances, estimates and the queue.")
# munged: a relay's and listen_tcp's credentials (the library alone is
# found by shlibdeps).
set(CPACK_DEBIAN_BANKD_PACKAGE_DEPENDS "munge")
set(CPACK_DEBIAN_BANKD_PACKAGE_CONTROL_EXTRA
    "${PKG_DIR}/bankd/conffiles;${PKG_DIR}/bankd/postinst;${PKG_DIR}/bankd/prerm;${PKG_DIR}/bankd/postrm")
include(CPack)
