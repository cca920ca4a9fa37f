#!/bin/bash
# SPDX-License-Identifier: MIT
# One VM run as a ctest test:
#   vm-test.sh VERSION EVENTS OUTDIR TESTLIST QEMU_MKFW [AMPSIM] -- BINARY...
# Gets the (cached) kernel from build-kernel.sh, writes the firmware files,
# packs the initramfs and boots it with run-vm.sh. Artifacts in OUTDIR:
# console.log, transcript.log, results.txt, <test>.out, initramfs.cpio.gz.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ver=$1 events=$2 outdir=$3 list=$4 mkfw=$5
shift 5
ampsim=
if [[ ${1:-} != -- ]]; then
	ampsim=$1
	shift
fi
shift # --
mkdir -p "$outdir"

kernel=$("$here/build-kernel.sh" "$ver" | tail -n 1)

# firmware: `ampsim mkfw` when it exists and takes our options, else qemu_mkfw
fw=$outdir/firmware
rm -rf "$fw"
gen=$mkfw
if [[ -n $ampsim && -x $ampsim ]] && "$ampsim" mkfw --app echo -o "$outdir/probe-mkfw.elf" >/dev/null 2>&1; then
	gen="$outdir/ampsim-mkfw"
	printf '#!/bin/sh\n# broken variants only qemu_mkfw writes\ncase "$*" in *--rsc-bad*|*--load-addr*) exec %q "$@";; esac\nexec %q mkfw "$@"\n' \
		"$mkfw" "$ampsim" >"$gen"
	chmod +x "$gen"
	echo "vm-test: firmware by ampsim mkfw"
fi
"$here/make-firmware.sh" "$fw" "$gen"

"$here/make-initramfs.sh" "$outdir/initramfs.cpio.gz" "$list" "$fw" "$@"
exec "$here/run-vm.sh" "$kernel" "$outdir/initramfs.cpio.gz" "$outdir" "$events" "${AMP_QEMU_REMOTES:-2}" "${AMP_QEMU_TIMEOUT:-300}"
