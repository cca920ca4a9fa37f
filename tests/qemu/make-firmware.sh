#!/bin/bash
# SPDX-License-Identifier: MIT
# Write the firmware files the VM tests use into DIR:
#   make-firmware.sh DIR MKFW
# MKFW takes the options of `ampsim mkfw` ("MKFW [options] -o OUT"):
# qemu_mkfw, or a wrapper that runs `ampsim mkfw` for all but the broken ones.
set -euo pipefail
dir=$1 mkfw=$2
mkdir -p "$dir"
"$mkfw" --app echo -o "$dir/ampsim-echo.elf"
# answers each message's sender (the demo answers the first address it
# heard from): ampd-e2e.sh's stream scenarios, many clients on one channel
"$mkfw" --app echo --reply-to-sender -o "$dir/ampsim-echo-multi.elf"
"$mkfw" --app matmul -o "$dir/ampsim-matmul.elf"
"$mkfw" --app rpc -o "$dir/ampsim-rpc.elf"
# a hostile proxy remote: ampd-e2e.sh proxy_probe
"$mkfw" --app rpcprobe -o "$dir/ampsim-rpcprobe.elf"
"$mkfw" --app crash --crash-after-msgs 1 -o "$dir/ampsim-crash.elf"
# crashes on its own a while after each boot: ampd-e2e.sh's restart policy
# scenarios need a crash that no client has to provoke
"$mkfw" --app crash --crash-after-ms 800 -o "$dir/ampsim-crash-timed.elf"
"$mkfw" --app hang -o "$dir/ampsim-hang.elf"
"$mkfw" --app silent -o "$dir/ampsim-silent.elf"
"$mkfw" --app slow --reply-delay-ms 200 -o "$dir/ampsim-slow.elf"
"$mkfw" --app norsc -o "$dir/ampsim-norsc.elf"
"$mkfw" --app echo --rsc-bad-header -o "$dir/ampsim-badhdr.elf"
"$mkfw" --app echo --rsc-bad-entry -o "$dir/ampsim-badentry.elf"
"$mkfw" --app echo --load-addr 0x10000000 -o "$dir/ampsim-outside.elf"
echo "this is not an ELF file" >"$dir/ampsim-notelf.bin"
# the stock demos' file names (openamp-demos.md)
cp "$dir/ampsim-echo.elf" "$dir/image_echo_test"
cp "$dir/ampsim-matmul.elf" "$dir/image_matrix_multiply"
cp "$dir/ampsim-rpc.elf" "$dir/image_rpc_demo"
