# SPDX-License-Identifier: MIT
# Cross build for aarch64 (Zynq UltraScale+ A53) with Debian's cross compiler and arm64 multiarch -dev packages.
#
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install crossbuild-essential-arm64 qemu-user-static \
#     libsystemd-dev:arm64 libspdlog-dev:arm64 libfmt-dev:arm64 libfuse3-dev:arm64 \
#     libgtest-dev:arm64 libgmock-dev:arm64 nlohmann-json3-dev libcli11-dev
#   cmake -S . -B build/aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
#   ninja -C build/aarch64 ampd ampctl amp amp_unit_test
#
# nlohmann-json and CLI11 are header-only (Architecture: all): the host's
# copies serve. Tests run under qemu-user (tests/packaging/cross-build.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(AMP_CROSS_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${AMP_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${AMP_CROSS_TRIPLET}-g++)

# Debian multiarch: the arm64 libraries live in /usr/lib/aarch64-linux-gnu
# of the host's own root, next to the amd64 ones, so the root is the host's
# and the search is narrowed by the library architecture instead.
set(CMAKE_LIBRARY_ARCHITECTURE ${AMP_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# pkg-config must read the arm64 .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${AMP_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# Run the test programs (and gtest's test discovery) under qemu-user; the
# arm64 loader (/lib/ld-linux-aarch64.so.1, from libc6:arm64) and libraries
# are where multiarch installed them, so no -L sysroot is needed.
find_program(AMP_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(AMP_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${AMP_QEMU_AARCH64})
endif()
