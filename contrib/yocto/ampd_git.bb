# SPDX-License-Identifier: MIT
# Yocto / PetaLinux recipe for ampd, ampctl and libamp (layer: add to your meta-user).
SUMMARY = "Daemon for remote processor cores (remoteproc and rpmsg)"
DESCRIPTION = "ampd loads and supervises remote cores (e.g. the Cortex-R5 of a \
Zynq UltraScale+) through remoteproc, restarts them by policy and serves their \
rpmsg channels to clients over one control socket; ampctl is its command line \
and libamp its client library."
LICENSE = "MIT"
# The tree has no LICENSE file yet: the SPDX line of the top CMakeLists.txt.
LIC_FILES_CHKSUM = "file://CMakeLists.txt;beginline=1;endline=1;md5=b2dccaa94b3629a08bfb4f983cad6f89"

# There is no public repository to name here: set AMPD_GIT_URI (and pin
# SRCREV) in a .bbappend or local.conf, e.g.
#   AMPD_GIT_URI = "git://git.example.com/ampd.git;protocol=https;branch=main"
AMPD_GIT_URI ??= ""
SRC_URI = "${AMPD_GIT_URI}"
SRCREV ?= "${AUTOREV}"
PV = "0.1.0+git${SRCPV}"
S = "${WORKDIR}/git"

# spdlog brings fmt; gtest and fuse3 because the top-level build always
# configures the test tree (the tests themselves are not built here).
DEPENDS = "systemd spdlog nlohmann-json cli11 googletest fuse3"

inherit cmake systemd pkgconfig useradd

# Only what is installed: ampd, ampctl and libamp; `install` must not
# drag in the test programs (the simulator needs FUSE ioctls, the tests root).
EXTRA_OECMAKE = " \
    -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON \
    -DAMP_SYSTEMD_UNITDIR=${systemd_system_unitdir} \
    -DAMP_SYSUSERSDIR=${nonarch_libdir}/sysusers.d \
"
OECMAKE_TARGET_COMPILE = "ampd ampctl amp"

# The clients' group: ampd.socket is SocketGroup=amp, mode 0660.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system amp"

PACKAGES =+ "libamp libamp-dev"
FILES:libamp = "${libdir}/libamp.so.*"
FILES:libamp-dev = "${includedir}/amp ${libdir}/libamp.so ${libdir}/pkgconfig/amp.pc ${libdir}/cmake/amp"
FILES:${PN} += " \
    ${systemd_system_unitdir}/ampd-remote@.service \
    ${nonarch_libdir}/sysusers.d/ampd.conf \
    ${datadir}/bash-completion/completions/ampctl \
"
RDEPENDS:${PN} = "libamp"

SYSTEMD_PACKAGES = "${PN}"
# The socket starts ampd on a client's first call; the service is enabled
# too so that autostart remotes come up at boot without a client.
SYSTEMD_SERVICE:${PN} = "ampd.socket ampd.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

# ampd reads /etc/ampd/ampd.json (without one: every core discovered,
# root-only control). Install yours from a .bbappend, e.g.
#   SRC_URI:append = " file://ampd.json"
#   do_install:append() { install -Dm0644 ${WORKDIR}/ampd.json ${D}${sysconfdir}/ampd/ampd.json }
#   CONFFILES:${PN} = "${sysconfdir}/ampd/ampd.json"
