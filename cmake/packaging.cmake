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

install(FILES ${PROJECT_SOURCE_DIR}/config/ampd.example.json ${PROJECT_SOURCE_DIR}/config/ampd.schema.json
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/ampd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/ampctl.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/ampd.json.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${PROJECT_SOURCE_DIR}/contrib/bash-completion/ampctl DESTINATION ${AMP_BASH_COMPLETIONDIR})

# libamp for other programs: pkg-config and find_package(amp) -> amp::amp.
if(TARGET amp)
  set(AMP_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/amp)
  install(EXPORT ampTargets NAMESPACE amp:: DESTINATION ${AMP_CMAKEDIR})
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ampConfig.cmake.in
    ${PROJECT_BINARY_DIR}/cmake/ampConfig.cmake INSTALL_DESTINATION ${AMP_CMAKEDIR})
  # 0.x: the soname is libamp.so.0 and a new minor may break it.
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/ampConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/cmake/ampConfig.cmake ${PROJECT_BINARY_DIR}/cmake/ampConfigVersion.cmake
    DESTINATION ${AMP_CMAKEDIR})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/amp.pc.in ${PROJECT_BINARY_DIR}/cmake/amp.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/cmake/amp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()

add_subdirectory(${PROJECT_SOURCE_DIR}/tests/packaging ${PROJECT_BINARY_DIR}/tests/packaging)
