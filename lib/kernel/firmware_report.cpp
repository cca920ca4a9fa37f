// SPDX-License-Identifier: MIT
// An inspection report in words: the one wording that ampctl prints and
// ampd's inspect reply carries.
#include <cstdio>
#include <iterator>

#include "kernel/firmware.h"

namespace amp::kernel {

namespace {

std::string hex(uint64_t v)
{
	char buf[32];
	std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
	return buf;
}

std::string segmentType(uint32_t type)
{
	static const char *names[] = {"NULL", "LOAD", "DYNAMIC", "INTERP", "NOTE", "SHLIB", "PHDR", "TLS"};
	if (type < std::size(names))
		return names[type];
	if (type == 0x70000001)
		return "ARM_EXIDX";
	return hex(type);
}

std::string machineName(uint16_t machine)
{
	switch (machine) {
	case 40: return "ARM";
	case 183: return "AArch64";
	case 243: return "RISC-V";
	case 62: return "x86-64";
	default: return "machine " + std::to_string(machine);
	}
}

} // namespace

std::string describeFormat(const FirmwareReport &r)
{
	if (!r.elfClass)
		return "not an ELF file";
	return "ELF" + std::to_string(r.elfClass) + (r.littleEndian ? " little-endian " : " big-endian ") +
	       machineName(r.machine);
}

std::string describeSegmentType(uint32_t type)
{
	return segmentType(type);
}

std::string describeSegmentFlags(uint32_t flags)
{
	std::string s;
	s += (flags & 4) ? 'R' : '-';
	s += (flags & 2) ? 'W' : '-';
	s += (flags & 1) ? 'X' : '-';
	return s;
}

std::string describeSegment(const ElfSegment &p)
{
	return segmentType(p.type) + " offset " + hex(p.offset) + " vaddr " + hex(p.vaddr) + " paddr " + hex(p.paddr) +
	       " filesz " + hex(p.filesz) + " memsz " + hex(p.memsz) + " " + describeSegmentFlags(p.flags);
}

uint32_t vdevCount(const FirmwareReport &r)
{
	uint32_t n = 0;
	for (const auto &e : r.table.entries)
		n += e.kind == ResourceKind::Vdev;
	return n;
}

std::vector<ReportLine> reportLines(const FirmwareReport &r)
{
	std::vector<ReportLine> lines;
	for (const auto &p : r.segments)
		lines.push_back({ReportLine::Level::Info, describeSegment(p)});
	if (r.table.present && !r.table.accepted)
		lines.push_back({ReportLine::Level::Warning, "resource table ignored: " + r.table.ignoredWhy});
	for (const auto &e : r.table.entries)
		lines.push_back({e.problem.empty() ? ReportLine::Level::Info : ReportLine::Level::Error, e.summary()});
	for (const auto &w : r.warnings)
		lines.push_back({ReportLine::Level::Warning, w});
	return lines;
}

} // namespace amp::kernel
