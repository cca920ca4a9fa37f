// SPDX-License-Identifier: MIT
// ampctl firmware inspect: the kernel's view of an image file, without asking ampd.
#include "ampctl.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/unique_fd.h"

namespace amp::cli {

namespace {

// As kernel::inspectFirmwareFile: an image larger than any TCM or carveout
// would be is not firmware, and reading it all would only cost memory.
constexpr std::uint64_t kMaxImage = 256ull << 20;

std::string verdictLine(const kernel::FirmwareReport &r)
{
	std::string s = kernel::verdictName(r.verdict);
	if (r.verdict == kernel::FirmwareVerdict::Refuse && r.kernelErrno)
		s += " (" + errnoName(r.kernelErrno) + ")";
	return s + ": " + r.reason;
}

// The errno with its words: these errors are ours, no daemon phrased them.
Unexpected<Error> systemError(const std::string &what)
{
	int code = errno;
	return unexpected(code, what + ": " + ::strerror(code));
}

} // namespace

Result<std::vector<std::uint8_t>> readFirmwareFile(const std::string &path)
{
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
	if (!fd)
		return systemError("cannot open " + path);
	struct stat st;
	if (::fstat(fd.get(), &st) < 0)
		return systemError("cannot stat " + path);
	if (S_ISDIR(st.st_mode))
		return unexpected(EISDIR, path + " is a directory");
	if (!S_ISREG(st.st_mode))
		return unexpected(EINVAL, path + " is not a regular file");
	if (static_cast<std::uint64_t>(st.st_size) > kMaxImage)
		return unexpected(EFBIG, path + " is " + std::to_string(st.st_size) + " bytes (firmware is at most " +
						 std::to_string(kMaxImage) + ")");
	std::vector<std::uint8_t> data(static_cast<std::size_t>(st.st_size));
	std::size_t done = 0;
	while (done < data.size()) {
		ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return systemError("cannot read " + path);
		if (n == 0)
			break; // shrank while we read: inspect what is there
		done += static_cast<std::size_t>(n);
	}
	data.resize(done);
	return data;
}

int firmwareExitCode(const kernel::FirmwareReport &report)
{
	switch (report.verdict) {
	case kernel::FirmwareVerdict::BootWithRpmsg:
	case kernel::FirmwareVerdict::BootWithoutRpmsg: return kExitOk;
	case kernel::FirmwareVerdict::Refuse:
	case kernel::FirmwareVerdict::Unsafe: return kExitFailed;
	}
	return kExitFailed;
}

std::string formatFirmwareReport(std::string_view path, const kernel::FirmwareReport &r)
{
	std::string out = std::string(path) + ": " + kernel::describeFormat(r) + ", " + std::to_string(r.fileSize) + " bytes";
	if (r.elfClass)
		out += ", entry " + hexNumber(r.entry);
	out += "\n";
	if (!r.segments.empty()) {
		out += "Program headers:\n";
		for (const auto &p : r.segments)
			out += "  " + kernel::describeSegment(p) + "\n";
	}
	if (r.table.present) {
		out += "Resource table: at " + hexNumber(r.table.offset) + ", " + std::to_string(r.table.size) + " bytes";
		if (r.table.accepted)
			out += ", version " + std::to_string(r.table.version) + ", " + std::to_string(r.table.num) + " entries\n";
		else
			out += ", ignored: " + r.table.ignoredWhy + "\n";
		for (const auto &e : r.table.entries)
			out += "  " + e.summary() + (e.handled ? "" : " (not reached)") + "\n";
	} else if (r.elfClass) {
		out += "Resource table: none\n";
	}
	for (const auto &w : r.warnings)
		out += "Warning: " + w + "\n";
	out += "Verdict: " + verdictLine(r) + "\n";
	return out;
}

std::string firmwareReportJson(std::string_view path, const kernel::FirmwareReport &r)
{
	using nlohmann::json;
	// The fields of ampd's inspect reply (docs/protocol.md), and the verdict.
	json report = json::array();
	for (const auto &line : kernel::reportLines(r)) {
		const char *level = line.level == kernel::ReportLine::Level::Error     ? "error"
				    : line.level == kernel::ReportLine::Level::Warning ? "warning"
										       : "info";
		report.push_back({{"level", level}, {"text", line.text}});
	}
	json segments = json::array();
	for (const auto &p : r.segments)
		segments.push_back({{"type", kernel::describeSegmentType(p.type)},
				    {"offset", p.offset},
				    {"vaddr", p.vaddr},
				    {"paddr", p.paddr},
				    {"filesz", p.filesz},
				    {"memsz", p.memsz},
				    {"flags", kernel::describeSegmentFlags(p.flags)}});
	json j = {{"ok", true},
		  {"path", path},
		  {"format", kernel::describeFormat(r)},
		  {"size", r.fileSize},
		  {"entry", r.entry},
		  {"resource_table", r.table.present && r.table.accepted},
		  {"vdevs", kernel::vdevCount(r)},
		  {"rpmsg", r.rpmsg()},
		  {"name_service", r.nameService},
		  {"segments", segments},
		  {"report", report},
		  {"verdict", kernel::verdictName(r.verdict)},
		  {"boots", firmwareExitCode(r) == kExitOk},
		  {"reason", r.reason}};
	if (r.verdict == kernel::FirmwareVerdict::Refuse && r.kernelErrno)
		j["kernel_error"] = errnoName(r.kernelErrno);
	return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

int cmdFirmwareInspect(const Context &ctx, const std::string &file)
{
	auto data = readFirmwareFile(file);
	if (!data)
		return reportError(ctx, data.error(), Stage::Local, "firmware inspect");
	auto report = kernel::inspectFirmware(*data);
	*ctx.out << (ctx.json ? firmwareReportJson(file, report) + "\n" : formatFirmwareReport(file, report));
	return firmwareExitCode(report);
}

} // namespace amp::cli
