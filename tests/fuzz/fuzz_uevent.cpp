// SPDX-License-Identifier: MIT
// libFuzzer target for netlink uevents (any local root process can send
// them): both wire formats, the kernel's "ACTION@DEVPATH" and udevd's
// "libudev" header, then what ampd's manager takes from an event (the
// core index from the device name or the owning-core path).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "kernel/remoteproc.h"
#include "kernel/rpmsg.h"
#include "kernel/uevent_monitor.h"

using namespace amp::kernel;

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail)
{
	std::fprintf(stderr, "fuzz_uevent: %s: %s\n", what, detail.c_str());
	__builtin_trap();
}

void check(const Uevent &e, std::size_t size)
{
	// What the monitor delivers always has the three keys ampd dispatches on.
	if (e.action.empty() || e.subsystem.empty() || e.devpath.empty() || e.devpath.front() != '/')
		fail("event without ACTION, SUBSYSTEM or an absolute DEVPATH", e.devpath);
	if (e.property("ACTION") != e.action || e.property("DEVPATH") != e.devpath || e.property("SUBSYSTEM") != e.subsystem)
		fail("fields disagree with the properties", e.devpath);
	if (e.properties.size() > 512)
		fail("more properties than the limit", std::to_string(e.properties.size()));
	std::size_t bytes = 0;
	for (const auto &[k, v] : e.properties) {
		if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos ||
		    v.find('\0') != std::string::npos)
			fail("malformed property kept", k);
		bytes += k.size() + 1 + v.size() + 1;
	}
	if (bytes > size)
		fail("properties larger than the datagram", std::to_string(bytes));
	if (e.seqnum) {
		std::string seq = e.property("SEQNUM");
		auto digit = seq.find_first_not_of('0');
		if ((digit == std::string::npos ? std::string("0") : seq.substr(digit)) != std::to_string(*e.seqnum))
			fail("SEQNUM read as another number", seq);
	} else if (!e.property("SEQNUM").empty()) {
		fail("SEQNUM present but not read", e.property("SEQNUM"));
	}
	std::string name = e.deviceName();
	if (name.find('/') != std::string::npos || e.devpath.size() < name.size() ||
	    e.devpath.compare(e.devpath.size() - name.size(), name.size(), name) != 0)
		fail("deviceName() is not DEVPATH's last component", e.devpath);
	// Manager::onUevent(): a remoteproc event names its core, another one
	// names it by the path; a channel event's device name is parsed later.
	if (auto idx = Remoteproc::parseIndex(name); idx && *idx < 0)
		fail("negative core index", name);
	if (auto idx = remoteprocOfPath(e.devpath); idx && *idx < 0)
		fail("negative core index from DEVPATH", e.devpath);
	(void)parseChannelDevice(name);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::span<const std::uint8_t> datagram(data, size);
	auto any = parseUevent(datagram);
	auto kernel = parseKernelUevent(datagram);
	auto udev = parseUdevUevent(datagram);
	bool isUdev = size >= 8 && std::string_view(reinterpret_cast<const char *>(data), 8) == std::string_view("libudev", 8);
	// parseUevent() is the dispatch on the prefix, nothing more.
	if (any.has_value() != (isUdev ? udev.has_value() : kernel.has_value()))
		fail("dispatch disagrees with the format's parser", std::to_string(size) + " bytes");
	for (const auto *e : {&any, &kernel, &udev})
		if (*e)
			check(**e, size);
	if (kernel && kernel->source != Uevent::Source::Kernel)
		fail("kernel event marked as udev's", kernel->devpath);
	if (udev && udev->source != Uevent::Source::Udev)
		fail("udev event marked as the kernel's", udev->devpath);
	return 0;
}
