// SPDX-License-Identifier: MIT
// Device events as systemd-udevd re-broadcasts them: udev-format messages on
// NETLINK_KOBJECT_UEVENT multicast group 2 (kernel-abi.md section 4), so a
// daemon's event path runs against the simulator instead of only its polling.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ampsim {

class UeventBroadcaster {
public:
	UeventBroadcaster() = default;
	~UeventBroadcaster();
	UeventBroadcaster(const UeventBroadcaster &) = delete;
	UeventBroadcaster &operator=(const UeventBroadcaster &) = delete;

	// Open the netlink socket. Returns 0 or a positive errno.
	int open();
	bool isOpen() const { return fd_ >= 0; }

	// Broadcast one event. `devpath` is relative to /sys and starts with
	// "/devices/"; `props` are extra KEY=value pairs (DEVNAME=/dev/rpmsg0,
	// MAJOR, MINOR, MODALIAS...). ACTION, DEVPATH, SUBSYSTEM and SEQNUM are
	// added here. Returns 0 or a positive errno; never blocks.
	int send(const std::string &action, const std::string &devpath, const std::string &subsystem,
		 const std::vector<std::pair<std::string, std::string>> &props);

	// The serialized datagram (header + properties) send() would emit.
	static std::string encode(const std::string &action, const std::string &devpath,
				  const std::string &subsystem, unsigned long long seqnum,
				  const std::vector<std::pair<std::string, std::string>> &props);

private:
	int fd_ = -1;
	unsigned long long seqnum_ = 0;
};

// True when this process is in a network namespace other than init's
// (PID 1's), where broadcasting cannot disturb the host's listeners.
bool inPrivateNetns();

} // namespace ampsim
