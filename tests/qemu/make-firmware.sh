#!/bin/bash
# SPDX-License-Identifier: MIT
# Write the firmware files the VM tests use into DIR:
#   make-firmware.sh DIR MKFW
# MKFW is `ampsim mkfw`-compatible: "MKFW [options] OUT" (qemu_mkfw today).
set -euo pipefail
dir=$1 mkfw=$2
mkdir -p "$dir"
"$mkfw" --app echo "$dir/ampsim-echo.elf"
"$mkfw" --app matmul "$dir/ampsim-matmul.elf"
"$mkfw" --app rpc "$dir/ampsim-rpc.elf"
"$mkfw" --app crash --crash-after-msgs 1 "$dir/ampsim-crash.elf"
"$mkfw" --app hang "$dir/ampsim-hang.elf"
"$mkfw" --app silent "$dir/ampsim-silent.elf"
"$mkfw" --app slow --reply-delay-ms 200 "$dir/ampsim-slow.elf"
"$mkfw" --app norsc "$dir/ampsim-norsc.elf"
"$mkfw" --app echo --rsc-bad-header "$dir/ampsim-badhdr.elf"
"$mkfw" --app echo --rsc-bad-entry "$dir/ampsim-badentry.elf"
"$mkfw" --app echo --load-addr 0x10000000 "$dir/ampsim-outside.elf"
echo "this is not an ELF file" >"$dir/ampsim-notelf.bin"
# the stock demos' file names (openamp-demos.md)
cp "$dir/ampsim-echo.elf" "$dir/image_echo_test"
cp "$dir/ampsim-matmul.elf" "$dir/image_matrix_multiply"
cp "$dir/ampsim-rpc.elf" "$dir/image_rpc_demo"
