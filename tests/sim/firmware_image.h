// SPDX-License-Identifier: MIT
// Firmware files as the simulated kernel sees them: the ELF writer behind
// `ampsim mkfw`, and the checks remoteproc's ELF loader and the Zynq R5
// driver make before a core starts (with the errno the kernel returns).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fw_format.h"

namespace ampsim {

// The behaviour a firmware asks for, decoded from its marker.
struct FirmwareSpec {
	std::string app = "echo"; // echo matmul rpc crash hang silent slow norsc
	std::string service = AMPSIM_DEFAULT_SERVICE;
	uint32_t announceAddr = AMPSIM_DEFAULT_ANNOUNCE_ADDR;
	uint32_t crashAfterMsgs = 0;
	uint32_t crashAfterMs = 0;
	uint32_t replyDelayMs = 0;
	uint32_t flags = 0;
};

// Apps `ampsim mkfw` knows.
bool isKnownApp(const std::string &app);

// The bytes of a firmware file for `spec` (layout: fw_format.h).
std::vector<uint8_t> buildFirmware(const FirmwareSpec &spec);

// One vring of the VDEV entry, as the kernel parsed it.
struct VringInfo {
	uint32_t da, align, num, notifyid, pa;
};

// What the remoteproc core accepted from a firmware file.
struct LoadedFirmware {
	bool hasResourceTable = false; // false: boots, no rpmsg (Zynq R5 driver behaviour)
	bool hasRpmsgVdev = false;     // a VDEV with id 7 (rpmsg)
	uint32_t vdevFeatures = 0;     // dfeatures of that VDEV (bit 0: name service)
	std::vector<VringInfo> vrings;
	uint32_t entry = 0;
	// nullopt: no marker; the core runs but never announces (app "silent")
	std::optional<FirmwareSpec> spec;
};

// Validate `image` exactly as rproc_elf_sanity_check(), the Zynq R5
// parse_fw (rproc_elf_load_rsc_table() with a missing or unreadable table
// header tolerated), rproc_handle_resources() and rproc_elf_load_segments()
// do, in that order. Returns 0 and fills `out`, or the positive errno the
// kernel's `start` write fails with (EINVAL for every refusal the loader
// makes); `why` gets the kernel's log message.
int loadFirmware(const std::vector<uint8_t> &image, LoadedFirmware &out, std::string &why);

} // namespace ampsim
