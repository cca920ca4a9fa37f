# SPDX-License-Identifier: MIT
# What `cmake --install` adds beyond the targets' own rules: units, package
# files for consumers of libamp, man pages, completion, the example config.
include(CMakePackageConfigHelpers)

# Where systemd looks for units and sysusers.d snippets: systemd.pc says so
# for this system (Debian: /lib/systemd/system); without it (a bare cross
# sysroot) the conventional place under the prefix. Yocto passes its own.
pkg_get_variable(AMP_PC_SYSTEMDUNITDIR systemd systemdsystemunitdir)
pkg_get_variable(AMP_PC_SYSUSERSDIR systemd sysusersdir)
if(NOT AMP_PC_SYSTEMDUNITDIR)
  set(AMP_PC_SYSTEMDUNITDIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
if(NOT AMP_PC_SYSUSERSDIR)
  set(AMP_PC_SYSUSERSDIR ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d)
endif()
set(AMP_SYSTEMD_UNITDIR ${AMP_PC_SYSTEMDUNITDIR} CACHE PATH "where the systemd units are installed")
set(AMP_SYSUSERSDIR ${AMP_PC_SYSUSERSDIR} CACHE PATH "where the sysusers.d snippet (group amp) is installed")
set(AMP_BASH_COMPLETIONDIR ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  CACHE PATH "where ampctl's bash completion is installed")

# Units name the binaries by their installed paths.
set(AMP_FULL_SBINDIR ${CMAKE_INSTALL_FULL_SBINDIR})
set(AMP_FULL_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
set(AMP_UNITS_DIR ${PROJECT_BINARY_DIR}/systemd)
foreach(unit ampd.service ampd-remote@.service)
  configure_file(${PROJECT_SOURCE_DIR}/systemd/${unit}.in ${AMP_UNITS_DIR}/${unit} @ONLY)
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/systemd/ampd.socket ${AMP_UNITS_DIR}/ampd.socket COPYONLY)
install(FILES ${AMP_UNITS_DIR}/ampd.service ${AMP_UNITS_DIR}/ampd.socket ${AMP_UNITS_DIR}/ampd-remote@.service
  DESTINATION ${AMP_SYSTEMD_UNITDIR})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/ampd.sysusers DESTINATION ${AMP_SYSUSERSDIR} RENAME ampd.conf)

add_subdirectory(${PROJECT_SOURCE_DIR}/tests/packaging ${PROJECT_BINARY_DIR}/tests/packaging)
