// SPDX-License-Identifier: MIT
// remoteproc sysfs wrappers and the wording of their errnos.
#include "kernel/remoteproc.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace amp::kernel {

namespace {

constexpr std::string_view kClassDir = "sys/class/remoteproc";

struct StateName {
	RprocState state;
	const char *word;
};
constexpr StateName kStateNames[] = {
	{RprocState::Offline, "offline"},   {RprocState::Suspended, "suspended"}, {RprocState::Running, "running"},
	{RprocState::Crashed, "crashed"},   {RprocState::Deleted, "deleted"},     {RprocState::Invalid, "invalid"},
	{RprocState::Attached, "attached"}, {RprocState::Detached, "detached"},
};

} // namespace

RprocStateWord parseRprocState(std::string_view word)
{
	for (const auto &s : kStateNames)
		if (word == s.word)
			return {s.state, std::string(word)};
	return {RprocState::Unknown, std::string(word)};
}

const char *rprocStateName(RprocState state)
{
	for (const auto &s : kStateNames)
		if (s.state == state)
			return s.word;
	return "unknown";
}

std::optional<bool> parseRecovery(std::string_view word)
{
	if (word == "enabled")
		return true;
	if (word == "disabled")
		return false;
	return std::nullopt;
}

std::optional<int> Remoteproc::parseIndex(std::string_view devName)
{
	constexpr std::string_view prefix = "remoteproc";
	if (devName.size() <= prefix.size() || devName.substr(0, prefix.size()) != prefix)
		return std::nullopt;
	int value = 0;
	for (char c : devName.substr(prefix.size())) {
		if (c < '0' || c > '9')
			return std::nullopt;
		if (value > (std::numeric_limits<int>::max() - (c - '0')) / 10)
			return std::nullopt;
		value = value * 10 + (c - '0');
	}
	return value;
}

Remoteproc::Remoteproc(const SysfsRoot &root, int index)
	: root_(root), index_(index), dir_(std::string(kClassDir) + "/remoteproc" + std::to_string(index))
{
}

Result<Remoteproc> Remoteproc::open(const SysfsRoot &root, int index)
{
	if (index < 0)
		return unexpected(EINVAL, "remoteproc index " + std::to_string(index));
	Remoteproc r(root, index);
	if (!root.exists(r.dir_))
		return unexpected(ENOENT, "no " + root.path(r.dir_));
	return r;
}

Result<std::vector<Remoteproc>> Remoteproc::enumerate(const SysfsRoot &root)
{
	std::vector<Remoteproc> out;
	auto names = root.list(kClassDir);
	if (!names) {
		if (names.error().code == ENOENT)
			return out;
		return unexpected(std::move(names).error());
	}
	for (const auto &n : *names)
		if (auto idx = parseIndex(n))
			out.push_back(Remoteproc(root, *idx));
	std::sort(out.begin(), out.end(), [](const Remoteproc &a, const Remoteproc &b) { return a.index_ < b.index_; });
	return out;
}

Result<std::string> Remoteproc::name() const
{
	return root_.readAttr(attr("name"));
}

Result<RprocStateWord> Remoteproc::state() const
{
	auto text = root_.readAttr(attr("state"));
	if (!text)
		return unexpected(std::move(text).error());
	return parseRprocState(*text);
}

Result<std::string> Remoteproc::firmware() const
{
	return root_.readAttr(attr("firmware"));
}

Result<bool> Remoteproc::recovery() const
{
	auto text = root_.readAttr(attr("recovery"));
	if (!text)
		return unexpected(std::move(text).error());
	if (auto enabled = parseRecovery(*text))
		return *enabled;
	return unexpected(EPROTO, root_.path(attr("recovery")) + " reads '" + *text + "'");
}

Result<RemoteprocInfo> Remoteproc::info() const
{
	RemoteprocInfo i;
	i.index = index_;
	i.dir = dir_;
	auto n = name();
	if (!n)
		return unexpected(std::move(n).error());
	i.name = std::move(*n);
	auto s = state();
	if (!s)
		return unexpected(std::move(s).error());
	i.state = std::move(*s);
	// firmware and recovery are informative: a driver may lack them.
	i.firmware = firmware().value_or("");
	if (auto r = recovery())
		i.recovery = *r;
	i.hasCdev = root_.exists("dev/" + devName());
	return i;
}

Result<void> Remoteproc::setFirmware(std::string_view name) const
{
	// The kernel cuts the name at the first newline and refuses an empty
	// one; refuse both here so what we wrote is what it loads.
	if (name.empty() || name.find('\n') != std::string_view::npos || name.find('\0') != std::string_view::npos)
		return unexpected(EINVAL, "firmware name '" + std::string(name) + "' for " + devName());
	return root_.writeAttr(attr("firmware"), name);
}

Result<void> Remoteproc::checkStartable(const RprocStateWord &state)
{
	if (state.state == RprocState::Offline || state.state == RprocState::Detached)
		return {};
	return unexpected(EBUSY, "the core reads '" + state.word + "'; start needs offline or detached");
}

Result<void> Remoteproc::writeState(std::string_view word) const
{
	auto n = root_.writeAttrCount(attr("state"), word);
	if (!n)
		return unexpected(std::move(n).error());
	if (*n != word.size())
		return unexpected(kStartShortWrite, "write '" + std::string(word) + "' to " + root_.path(attr("state")) +
							    ": the kernel returned " + std::to_string(*n) + " of " +
							    std::to_string(word.size()) + " bytes");
	return {};
}

Result<void> Remoteproc::start() const
{
	auto s = state();
	if (!s)
		return unexpected(std::move(s).error());
	if (auto ok = checkStartable(*s); !ok)
		return unexpected(ok.error().code, devName() + ": " + ok.error().context);
	return writeStart();
}

Result<void> Remoteproc::writeStart() const
{
	return writeState("start");
}

Result<void> Remoteproc::stop() const
{
	return writeState("stop");
}

Result<void> Remoteproc::detach() const
{
	return writeState("detach");
}

Result<void> Remoteproc::setRecovery(bool enabled) const
{
	return root_.writeAttr(attr("recovery"), enabled ? "enabled" : "disabled");
}

Result<void> Remoteproc::recover() const
{
	return root_.writeAttr(attr("recovery"), "recover");
}

std::string describeStartError(int err)
{
	switch (err) {
	case ENOENT:
		return "firmware file not found in the kernel's search path (firmware_class.path, "
		       "/lib/firmware/updates/$(uname -r), /lib/firmware/updates, /lib/firmware/$(uname -r), "
		       "/lib/firmware)";
	case EINVAL:
		return "the kernel refused the firmware: not an ELF the driver accepts (bad magic, class or "
		       "endianness, no program headers, truncated), a bad resource-table entry, or a segment at an "
		       "address the core cannot map (see 'ampctl firmware inspect' and the kernel log)";
	case ENOMEM:
		return "the kernel could not allocate memory for the firmware (carveouts, vrings or segments; "
		       "check the core's reserved-memory regions)";
	case EBUSY:
		return "the core is busy: already running, or its power domain or memory is held by another user";
	case ENODEV:
		return "the core did not power up (the platform firmware refused it; check the device tree and "
		       "the PMU/TF-A firmware)";
	case kStartShortWrite:
		return "the kernel refused the resource table without an errno: its last entry is a vendor "
		       "resource the driver ignores (the start write returned a short count)";
	case EACCES:
	case EPERM:
		return "not allowed to write the core's state (needs root)";
	case ETIMEDOUT:
		return "the core did not answer while powering up";
	case EIO:
		return "I/O error while loading the firmware or powering up the core";
	case ENXIO:
		return "the core's device is gone";
	case E2BIG:
	case EFBIG:
		return "the firmware file is too large for the kernel to load";
	default:
		return std::string("the kernel refused to start the core: ") + ::strerror(err);
	}
}

std::string describeStopError(int err)
{
	switch (err) {
	case EINVAL:
		return "the core is not running (offline, detached or crashed cores cannot be stopped this way)";
	case EBUSY:
		return "the core is busy and cannot be stopped now";
	case EACCES:
	case EPERM:
		return "not allowed to write the core's state (needs root)";
	default:
		return std::string("the kernel refused to stop the core: ") + ::strerror(err);
	}
}

std::string describeDetachError(int err)
{
	switch (err) {
	case EINVAL:
		return "only an attached core can be detached (or this kernel, before 5.13, cannot detach)";
	case EOPNOTSUPP:
		return "the core's driver cannot detach";
	default:
		return std::string("the kernel refused to detach the core: ") + ::strerror(err);
	}
}

std::string describeFirmwareWriteError(int err)
{
	switch (err) {
	case EBUSY:
		return "the firmware can only be changed while the core is offline";
	case EINVAL:
		return "invalid firmware name (empty, or with a newline)";
	case EACCES:
	case EPERM:
		return "not allowed to write the core's firmware (needs root)";
	default:
		return std::string("the kernel refused the firmware name: ") + ::strerror(err);
	}
}

} // namespace amp::kernel
