// SPDX-License-Identifier: MIT
// The kernel firmware loader's search, replayed under the root prefix.
#include "kernel/firmware.h"
#include "kernel/rpmsg.h"

#include <climits>
#include <sys/stat.h>
#include <sys/utsname.h>

namespace amp::kernel {

Result<void> checkFirmwareName(std::string_view name)
{
	auto bad = [&](const char *why) {
		return unexpected(EINVAL, "firmware name '" + std::string(name) + "': " + why);
	};
	if (name.empty())
		return bad("empty");
	if (name.front() == '/')
		return bad("absolute; give a name relative to the firmware search path");
	if (name.find('\n') != std::string_view::npos || name.find('\0') != std::string_view::npos)
		return bad("contains a newline or NUL");
	size_t start = 0;
	while (start <= name.size()) {
		size_t end = name.find('/', start);
		if (end == std::string_view::npos)
			end = name.size();
		if (name.substr(start, end - start) == "..")
			return bad("contains '..'");
		start = end + 1;
	}
	return {};
}

std::vector<std::string> firmwareSearchPath(const SysfsRoot &root, std::optional<std::string> release)
{
	if (!release) {
		struct utsname u;
		release = ::uname(&u) == 0 ? std::string(u.release) : std::string();
	}
	std::vector<std::string> dirs;
	// show() adds one newline; what is left is the string the loader
	// pastes in front of the name, a written newline included (kernel-abi.md).
	if (auto param = root.readAttr("sys/module/firmware_class/parameters/path"); param && !param->empty())
		dirs.push_back(*param);
	for (const char *base : {"/lib/firmware/updates", "/lib/firmware"}) {
		if (!release->empty())
			dirs.push_back(std::string(base) + "/" + *release);
		dirs.push_back(base);
	}
	return dirs;
}

Result<FirmwareLocation> findFirmware(const SysfsRoot &root, std::string_view name, std::optional<std::string> release)
{
	if (auto ok = checkFirmwareName(name); !ok)
		return unexpected(std::move(ok).error());
	const auto dirs = firmwareSearchPath(root, release);
	// fw_get_filesystem_firmware() runs once per suffix over every
	// directory: the plain name everywhere before any compressed one.
	for (const char *suffix : {"", ".zst", ".xz"}) {
		for (const auto &dir : dirs) {
			std::string rel = dir + "/" + std::string(name) + suffix;
			if (rel.size() >= PATH_MAX)
				continue;
			struct stat st;
			// kernel_read_file() skips what is not a regular file, and an
			// empty one (-EINVAL), and the loader moves on to the next place.
			if (::stat(root.path(rel).c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
				continue;
			while (!rel.empty() && rel.front() == '/')
				rel.erase(0, 1);
			return FirmwareLocation{dir, rel, suffix};
		}
	}
	std::string where;
	for (const auto &d : dirs)
		where += (where.empty() ? "" : ", ") + d;
	std::string under = root.root().empty() || root.root() == "/" ? "" : " (under " + root.root() + ")";
	return unexpected(ENOENT, "firmware \"" + std::string(name) + "\" not found in " + where + under);
}

InspectOptions inspectOptionsFor(const SysfsRoot &root)
{
	InspectOptions o;
	o.vdevProbedSeparately = guessLayoutFromDrivers(root) == RpmsgLayout::CtrlDevice;
	return o;
}

Result<LocatedFirmware> inspectFirmwareByName(const SysfsRoot &root, std::string_view name)
{
	auto location = findFirmware(root, name);
	if (!location)
		return unexpected(std::move(location).error());
	auto report = inspectFirmwareFile(root, location->rel, inspectOptionsFor(root));
	if (!report)
		return unexpected(std::move(report).error());
	return LocatedFirmware{std::move(*location), std::move(*report)};
}

} // namespace amp::kernel
