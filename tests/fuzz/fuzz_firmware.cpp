// SPDX-License-Identifier: MIT
// libFuzzer target for the firmware inspector: what ampd runs on an ELF
// (and its resource table) before it touches a core, and the report it
// words for ampctl and the inspect reply. Any bytes get a verdict that
// agrees with the report, and nothing reads outside the image.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "kernel/firmware.h"
#include "kernel/remoteproc.h"

using namespace amp::kernel;

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail)
{
	std::fprintf(stderr, "fuzz_firmware: %s: %s\n", what, detail.c_str());
	__builtin_trap();
}

void check(const FirmwareReport &r, std::size_t size)
{
	if (r.fileSize != size)
		fail("fileSize is not the image's size", std::to_string(r.fileSize));
	if (r.reason.empty())
		fail("verdict without a reason", verdictName(r.verdict));
	switch (r.verdict) {
	case FirmwareVerdict::Refuse:
		// The start write fails with the kernel's EINVAL or the 1-byte count.
		if (r.kernelErrno != EINVAL && r.kernelErrno != kStartShortWrite)
			fail("refusal with an unexpected errno", std::to_string(r.kernelErrno) + ": " + r.reason);
		break;
	case FirmwareVerdict::Unsafe:
	case FirmwareVerdict::BootWithoutRpmsg:
		if (r.kernelErrno != 0)
			fail("errno on a verdict that is no refusal", r.reason);
		break;
	case FirmwareVerdict::BootWithRpmsg: {
		if (r.kernelErrno != 0 || !r.table.present || !r.table.accepted)
			fail("rpmsg without an accepted table", r.reason);
		bool vdev = false;
		for (const auto &e : r.table.entries)
			vdev = vdev || (e.rpmsg && e.kind == ResourceKind::Vdev && e.problem.empty());
		if (!vdev)
			fail("rpmsg verdict without an rpmsg VDEV entry", r.reason);
		if (vdevCount(r) == 0)
			fail("vdevCount() is 0 for an rpmsg verdict", r.reason);
		break;
	}
	}
	if (r.verdict != FirmwareVerdict::Refuse && r.elfClass != 32 && r.elfClass != 64)
		fail("a verdict past the ELF header without an ELF class", std::to_string(r.elfClass));
	if (r.table.accepted && !r.table.present)
		fail("accepted a table that is not there", "");
	if (r.table.entries.size() > r.table.num)
		fail("more entries than the table has", std::to_string(r.table.entries.size()));
	// A section or resource name comes out of the image: never past it.
	for (const auto &s : r.sections)
		if (s.name.size() > size)
			fail("section name longer than the image", std::to_string(s.name.size()));
	for (const auto &e : r.table.entries)
		if (e.name.size() > size)
			fail("resource name longer than the image", std::to_string(e.name.size()));

	// The words: what ampctl prints and ampd's inspect reply carries.
	if (r.summary().empty() || describeFormat(r).empty())
		fail("empty summary", r.reason);
	for (const auto &s : r.segments)
		if (describeSegment(s).empty() || describeSegmentType(s.type).empty() || describeSegmentFlags(s.flags).empty())
			fail("empty segment description", "");
	for (const auto &e : r.table.entries)
		if (e.summary().empty())
			fail("empty resource entry summary", std::to_string(e.index));
	for (const auto &line : reportLines(r))
		if (line.text.empty())
			fail("empty report line", r.reason);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::span<const std::uint8_t> image(data, size);

	// What ampd checks before a start on this host (little-endian, 6.1+).
	FirmwareReport first = inspectFirmware(image);
	check(first, size);
	// Inspection is a pure function of the bytes.
	FirmwareReport again = inspectFirmware(image);
	if (again.verdict != first.verdict || again.reason != first.reason || again.summary() != first.summary())
		fail("two inspections disagree", first.reason + " / " + again.reason);

	// The other kernels and hosts: 5.10-6.0 (vrings checked in the start),
	// a host of the image's own byte order (so big-endian images are
	// parsed to the end), and TCM plus a DDR carveout as load windows.
	InspectOptions other;
	other.hostLittleEndian = !(size > 5 && data[5] == 2);
	other.vdevProbedSeparately = false;
	other.windows = {{0x0, 0x20000}, {0x3ed00000, 0x100000}};
	FirmwareReport old = inspectFirmware(image, other);
	check(old, size);
	return 0;
}
