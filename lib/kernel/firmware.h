// SPDX-License-Identifier: MIT
// Firmware before the core is touched: find a name the way the kernel's
// firmware loader does (kernel-abi.md 1, "Firmware search"), and inspect the
// ELF and its resource table the way remoteproc and the Zynq R5 driver will,
// predicting whether the start write fails, boots without rpmsg, or boots
// with an rpmsg VDEV. The parser takes hostile input: every read is bounds-
// checked, every sum overflow-safe, and it never trusts a count.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/sysfs_root.h"

namespace amp::kernel {

// ---- search ---------------------------------------------------------------

// EINVAL unless `name` is a plain relative name: not empty, not absolute,
// no ".." path component (6.12 refuses those), no newline or NUL.
[[nodiscard]] Result<void> checkFirmwareName(std::string_view name);

// The directories the kernel searches, in order, as the kernel names them
// (absolute, to be read under the root): firmware_class.path when set, then
// /lib/firmware/updates/<release>, /lib/firmware/updates,
// /lib/firmware/<release>, /lib/firmware. `release` defaults to uname -r.
std::vector<std::string> firmwareSearchPath(const SysfsRoot &root, std::optional<std::string> release = std::nullopt);

struct FirmwareLocation {
	std::string dir;    // the search directory it was found in ("/lib/firmware")
	std::string rel;    // path relative to the root ("lib/firmware/x.elf[.xz]")
	std::string suffix; // "", ".zst" or ".xz": compressed, the kernel decompresses
};

// Where the kernel will find `name`: the plain name through every
// directory first, then ".zst", then ".xz" (the loader's order; each suffix
// needs its CONFIG_FW_LOADER_COMPRESS_*). Only regular files count.
// EINVAL for a bad name, ENOENT when nowhere (the start write's ENOENT).
// Firmware built into the kernel image comes first and cannot be seen here.
[[nodiscard]] Result<FirmwareLocation> findFirmware(const SysfsRoot &root, std::string_view name,
						    std::optional<std::string> release = std::nullopt);

// ---- inspection -------------------------------------------------------------

// What starting a core with this image will do.
enum class FirmwareVerdict {
	Refuse,           // the start write fails (kernelErrno says with what)
	Unsafe,           // the kernel would read outside the image or table: refuse it ourselves
	BootWithoutRpmsg, // the core boots; no rpmsg channel will ever appear
	BootWithRpmsg,    // the core boots with an rpmsg VDEV
};
const char *verdictName(FirmwareVerdict v);

struct ElfSegment {
	uint32_t type = 0;
	uint32_t flags = 0;
	uint64_t offset = 0, vaddr = 0, paddr = 0, filesz = 0, memsz = 0;
};

struct ElfSection {
	std::string name; // "" when the name is unreadable
	uint32_t type = 0;
	uint64_t addr = 0, offset = 0, size = 0;
};

enum class ResourceKind { Carveout, Devmem, Trace, Vdev, Vendor, Unknown };
const char *resourceKindName(ResourceKind k);

struct VringReport {
	uint32_t da = 0, align = 0, num = 0, notifyid = 0, pa = 0;
};

struct ResourceEntryReport {
	uint32_t index = 0;  // position in the offset array
	uint32_t offset = 0; // as written in the table
	uint32_t type = 0;
	ResourceKind kind = ResourceKind::Unknown;
	// CARVEOUT/DEVMEM: da, pa, len, flags, name; TRACE: da, len, name.
	uint32_t da = 0, pa = 0, len = 0, flags = 0, reserved = 0;
	std::string name;
	// VDEV
	uint32_t vdevId = 0, dfeatures = 0, gfeatures = 0, configLen = 0;
	uint8_t status = 0, numVrings = 0;
	std::vector<VringReport> vrings;
	bool rpmsg = false;       // VDEV id 7 that virtio_rpmsg_bus will drive
	bool nameService = false; // dfeatures bit 0 (VIRTIO_RPMSG_F_NS)

	bool handled = false;  // the kernel got to this entry
	std::string problem;   // why the kernel refuses it ("" when fine)
	std::vector<std::string> notes;
	std::string summary() const;
};

struct ResourceTableReport {
	bool present = false;   // a ".resource_table" section exists
	bool accepted = false;  // the kernel takes it (else: boots without one)
	std::string ignoredWhy; // why the driver ignores it ("" when accepted)
	uint64_t offset = 0, size = 0, addr = 0;
	uint32_t version = 0, num = 0;
	std::vector<ResourceEntryReport> entries;
};

// A device-address window the core can load into (its da_to_va() map):
// TCM banks and reserved-memory carveouts of the device tree.
struct MemoryWindow {
	uint64_t da = 0, size = 0;
};

struct InspectOptions {
	// The host's byte order; the kernel loads only firmware of its own.
	bool hostLittleEndian = true;
	// 6.1+ parses a VDEV's vrings in the rproc-virtio probe, whose failure
	// does not fail the start (no rpmsg); 5.10-6.0 refuse with EINVAL.
	bool vdevProbedSeparately = true;
	// Known load windows; empty: segment addresses are not judged.
	std::vector<MemoryWindow> windows;
};

struct FirmwareReport {
	uint64_t fileSize = 0;
	int elfClass = 0;          // 32 or 64; 0 if not an ELF
	bool littleEndian = true;
	uint16_t type = 0, machine = 0;
	uint64_t entry = 0;
	std::vector<ElfSegment> segments;
	std::vector<ElfSection> sections;
	ResourceTableReport table;

	FirmwareVerdict verdict = FirmwareVerdict::Refuse;
	int kernelErrno = 0;   // Refuse: EINVAL, or kStartShortWrite (remoteproc.h)
	std::string reason;    // one sentence: why this verdict
	std::vector<std::string> warnings;
	bool rpmsg() const { return verdict == FirmwareVerdict::BootWithRpmsg; }
	bool nameService = false; // the rpmsg VDEV announces its channels
	std::string summary() const;
};

// Inspect an image in memory. Never fails: a hostile or broken image gets
// a Refuse or Unsafe verdict with the reason. Fuzz entry point.
FirmwareReport inspectFirmware(std::span<const uint8_t> image, const InspectOptions &options = {});

// What this root's kernel does with a VDEV's vrings, from its rpmsg layout
// (6.1+ probes them separately); no memory windows.
InspectOptions inspectOptionsFor(const SysfsRoot &root);

struct LocatedFirmware {
	FirmwareLocation location;
	FirmwareReport report;
};
// findFirmware(), then inspectFirmwareFile() with inspectOptionsFor(root):
// what a start of `name` would meet. ENOENT names every directory searched.
[[nodiscard]] Result<LocatedFirmware> inspectFirmwareByName(const SysfsRoot &root, std::string_view name);

// ---- the report in words (ampctl prints them, ampd's inspect reply carries them)

std::string describeFormat(const FirmwareReport &report); // "ELF32 little-endian ARM"
std::string describeSegmentType(uint32_t type);           // "LOAD"
std::string describeSegmentFlags(uint32_t flags);         // "R-X"
std::string describeSegment(const ElfSegment &segment);   // one program header
uint32_t vdevCount(const FirmwareReport &report);

struct ReportLine {
	enum class Level { Info, Warning, Error } level = Level::Info;
	std::string text;
};
// Program headers, resource-table entries (an error for each the kernel
// refuses), then the warnings.
std::vector<ReportLine> reportLines(const FirmwareReport &report);

// Read a file under the root (at most 256 MiB) and inspect it.
[[nodiscard]] Result<FirmwareReport> inspectFirmwareFile(const SysfsRoot &root, std::string_view rel,
							 const InspectOptions &options = {});

} // namespace amp::kernel
