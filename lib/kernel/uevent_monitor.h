// SPDX-License-Identifier: MIT
// Device events from netlink (kernel-abi.md section 4): the kernel's own
// uevents on group 1 and systemd-udevd's re-broadcast on group 2, parsed
// defensively (any local root process can send these), for sd-event: the
// owner watches fd() for EPOLLIN and calls receive() until EAGAIN.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace amp::kernel {

struct Uevent {
	enum class Source { Kernel, Udev };
	Source source = Source::Kernel;
	std::string action;    // add, remove, bind, unbind, change...
	std::string devpath;   // "/devices/platform/.../virtio0.rpmsg-...-channel.-1.1024"
	std::string subsystem; // rpmsg, virtio, remoteproc
	std::optional<uint64_t> seqnum;
	std::map<std::string, std::string> properties; // every KEY=value, first wins
	std::string property(const std::string &key) const;
	// Last component of DEVPATH: the bus or class device name.
	std::string deviceName() const;
};

// Parse one datagram's payload. nullopt for anything malformed: wrong
// header or magic, offsets outside the datagram, a property not NUL-
// terminated, missing ACTION/DEVPATH/SUBSYSTEM, too many properties.
std::optional<Uevent> parseKernelUevent(std::span<const uint8_t> datagram);
std::optional<Uevent> parseUdevUevent(std::span<const uint8_t> datagram);
// Dispatch on the "libudev" prefix.
std::optional<Uevent> parseUevent(std::span<const uint8_t> datagram);

class UeventMonitor {
public:
	enum Group : uint32_t { KernelGroup = 1, UdevGroup = 2 };

	// Listen on `groups` (a mask of Group; both by default: group 1 is
	// there on every board, group 2 only with udevd and under ampsim).
	// The same event seen on both is delivered once (by SEQNUM).
	// `subsystems`: deliver only these; empty delivers all.
	[[nodiscard]] static Result<UeventMonitor> open(uint32_t groups = KernelGroup | UdevGroup,
							std::set<std::string> subsystems = {"rpmsg", "virtio",
											    "remoteproc"});

	int fd() const { return fd_.get(); }
	// Read one datagram. An event; nullopt when it was dropped (foreign
	// sender, malformed, filtered, duplicate); EAGAIN when nothing is
	// queued; ENOBUFS when the kernel dropped events (rescan sysfs).
	[[nodiscard]] Result<std::optional<Uevent>> receive();

	// Counters, for logs and tests.
	uint64_t dropped() const { return dropped_; }

private:
	UeventMonitor(UniqueFd fd, std::set<std::string> subsystems)
		: fd_(std::move(fd)), subsystems_(std::move(subsystems))
	{
	}
	bool seenBefore(const Uevent &e);

	UniqueFd fd_;
	std::set<std::string> subsystems_;
	std::deque<std::string> recent_;
	std::set<std::string> recentSet_;
	uint64_t dropped_ = 0;
};

} // namespace amp::kernel
