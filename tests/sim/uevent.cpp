// SPDX-License-Identifier: MIT
// Device events in systemd-udevd's wire format, broadcast on uevent netlink group 2.
#include "uevent.h"

#include <endian.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace ampsim {

namespace {

// systemd's struct monitor_netlink_header (src/libsystemd/sd-device/
// device-monitor.c). The listener's BPF program loads the magic and the
// hashes at fixed offsets, so the layout must match to the byte.
struct MonitorNetlinkHeader {
	char prefix[8];
	uint32_t magic;
	uint32_t headerSize;
	uint32_t propertiesOff;
	uint32_t propertiesLen;
	uint32_t filterSubsystemHash;
	uint32_t filterDevtypeHash;
	uint32_t filterTagBloomHi;
	uint32_t filterTagBloomLo;
};
static_assert(sizeof(MonitorNetlinkHeader) == 40);
static_assert(offsetof(MonitorNetlinkHeader, magic) == 8);
static_assert(offsetof(MonitorNetlinkHeader, filterSubsystemHash) == 24);
static_assert(offsetof(MonitorNetlinkHeader, filterTagBloomLo) == 36);

constexpr uint32_t kUdevMonitorMagic = 0xfeedcafe;
// MONITOR_GROUP_UDEV: a bit mask in sockaddr_nl, which for 2 is also group 2.
constexpr uint32_t kUdevGroupMask = 2;
// device_monitor_receive_device() reads into an 8 KiB buffer and drops
// anything longer (MSG_TRUNC), so a bigger datagram reaches nobody.
constexpr size_t kMonitorReceiveMax = 8192;

// systemd's MurmurHash2 (src/basic/MurmurHash2.c) with seed 0, as
// string_hash32() uses it. It reads host-order words; so does the listener's
// libsystemd when it builds its filter, so host order is what matches.
uint32_t murmurHash2(std::string_view s)
{
	constexpr uint32_t m = 0x5bd1e995;
	constexpr int r = 24;
	const auto *data = reinterpret_cast<const unsigned char *>(s.data());
	size_t len = s.size();
	uint32_t h = static_cast<uint32_t>(len); // seed 0 ^ len

	while (len >= 4) {
		uint32_t k;
		std::memcpy(&k, data, 4); // unaligned-safe form of *(uint32_t *)data
		k *= m;
		k ^= k >> r;
		k *= m;
		h *= m;
		h ^= k;
		data += 4;
		len -= 4;
	}
	switch (len) {
	case 3:
		h ^= uint32_t(data[2]) << 16;
		[[fallthrough]];
	case 2:
		h ^= uint32_t(data[1]) << 8;
		[[fallthrough]];
	case 1:
		h ^= data[0];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

// string_bloom64(): four 6-bit slices of the hash select the bits.
uint64_t stringBloom64(std::string_view s)
{
	const uint32_t hash = murmurHash2(s);
	uint64_t bits = 0;
	for (int shift : {0, 6, 12, 18})
		bits |= uint64_t(1) << ((hash >> shift) & 63);
	return bits;
}

// Keys this file writes itself; a caller's copy would give the listener two
// conflicting values.
bool isFixedKey(std::string_view key)
{
	return key == "ACTION" || key == "DEVPATH" || key == "SUBSYSTEM" || key == "SEQNUM";
}

// The actions sd-device accepts (device_action_from_string); a message
// with any other ACTION fails device_verify() and is silently dropped.
bool isKnownAction(std::string_view action)
{
	for (std::string_view a : {"add", "remove", "change", "move", "online", "offline", "bind", "unbind"})
		if (action == a)
			return true;
	return false;
}

// A NUL would split the property; sd-device cuts a value at its first
// newline (truncate_nl), and '=' in a key shifts the split point.
bool isCleanValue(std::string_view v)
{
	return v.find('\0') == std::string_view::npos && v.find('\n') == std::string_view::npos;
}

bool isCleanKey(std::string_view k)
{
	return !k.empty() && isCleanValue(k) && k.find('=') == std::string_view::npos;
}

void appendProperty(std::string &out, std::string_view key, std::string_view value)
{
	out.append(key);
	out.push_back('=');
	out.append(value);
	out.push_back('\0');
}

// Owns the socket until open() has fully succeeded; the member fd_ (fixed
// by the header) takes it over only then, so a failed open leaks nothing.
class FdGuard {
public:
	explicit FdGuard(int fd) : fd_(fd) {}
	~FdGuard()
	{
		if (fd_ >= 0)
			::close(fd_);
	}
	FdGuard(const FdGuard &) = delete;
	FdGuard &operator=(const FdGuard &) = delete;
	int get() const { return fd_; }
	int release() { return std::exchange(fd_, -1); }

private:
	int fd_;
};

unsigned long long monotonicUsec()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
	       static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
}

} // namespace

UeventBroadcaster::~UeventBroadcaster()
{
	if (fd_ >= 0)
		::close(fd_);
}

int UeventBroadcaster::open()
{
	if (fd_ >= 0)
		return 0;

	// Non-blocking so a full send buffer is EAGAIN, never a stalled simulator.
	FdGuard fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT));
	if (fd.get() < 0)
		return errno;

	// Bind to no group: the socket only sends. Joining group 1 or 2 would
	// queue every kernel or udev event on a socket nobody reads. Sending
	// to a group needs CAP_NET_ADMIN, not membership.
	sockaddr_nl addr{};
	addr.nl_family = AF_NETLINK;
	if (::bind(fd.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof(addr)) < 0)
		return errno;
	fd_ = fd.release();
	return 0;
}

int UeventBroadcaster::send(const std::string &action, const std::string &devpath, const std::string &subsystem,
			    const std::vector<std::pair<std::string, std::string>> &props)
{
	// Refuse what a listener would drop without a word, so the caller
	// learns of it here rather than from a test that times out.
	if (!isKnownAction(action) || devpath.size() < 2 || devpath[0] != '/' || !isCleanValue(devpath) ||
	    !isCleanKey(subsystem))
		return EINVAL;
	for (const auto &[key, value] : props)
		if (!isCleanKey(key) || !isCleanValue(value))
			return EINVAL;
	if (fd_ < 0)
		return EBADF;

	// Starts at 1: sd-device rejects SEQNUM=0. A refused event takes no
	// number; one that reached sendto() keeps its number even if the send
	// fails, as the kernel's counter does, so numbers never repeat.
	const std::string datagram = encode(action, devpath, subsystem, seqnum_ + 1, props);
	if (datagram.size() > kMonitorReceiveMax)
		return EMSGSIZE;
	++seqnum_;

	sockaddr_nl dest{};
	dest.nl_family = AF_NETLINK;
	dest.nl_groups = kUdevGroupMask;
	const ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT,
				   reinterpret_cast<const sockaddr *>(&dest), sizeof(dest));
	if (n < 0) {
		// The multicast copy went out; the unicast copy to the kernel
		// socket (portid 0) is refused on kernels whose uevent socket
		// has no input handler. systemd ignores it for the same reason.
		if (errno == ECONNREFUSED)
			return 0;
		return errno;
	}
	return 0;
}

std::string UeventBroadcaster::encode(const std::string &action, const std::string &devpath,
				      const std::string &subsystem, unsigned long long seqnum,
				      const std::vector<std::pair<std::string, std::string>> &props)
{
	std::string properties;
	appendProperty(properties, "ACTION", action);
	appendProperty(properties, "DEVPATH", devpath);
	appendProperty(properties, "SUBSYSTEM", subsystem);
	appendProperty(properties, "SEQNUM", std::to_string(seqnum));

	const std::string *devtype = nullptr;
	bool haveUsecInitialized = false;
	uint64_t tagBloom = 0;
	for (const auto &[key, value] : props) {
		if (isFixedKey(key))
			continue;
		appendProperty(properties, key, value);
		if (key == "DEVTYPE")
			devtype = &value;
		else if (key == "USEC_INITIALIZED")
			haveUsecInitialized = true;
		else if (key == "TAGS" || key == "CURRENT_TAGS") {
			// ":a:b:" lists; the bloom covers every tag of either
			// list, as FOREACH_DEVICE_TAG walks all_tags.
			std::string_view rest = value;
			while (!rest.empty()) {
				const size_t colon = rest.find(':');
				const std::string_view tag = rest.substr(0, colon);
				if (!tag.empty())
					tagBloom |= stringBloom64(tag);
				if (colon == std::string_view::npos)
					break;
				rest.remove_prefix(colon + 1);
			}
		}
	}
	// udevd stamps every event it forwards (device_ensure_usec_initialized
	// on receipt and after the rules) and sd_device_get_usec_initialized()
	// users rely on it. A caller may pass the original time for a later
	// event of the same device, as udevd preserves it from its database.
	if (!haveUsecInitialized)
		appendProperty(properties, "USEC_INITIALIZED", std::to_string(monotonicUsec()));

	MonitorNetlinkHeader nlh{};
	std::memcpy(nlh.prefix, "libudev", sizeof("libudev"));
	nlh.magic = htobe32(kUdevMonitorMagic);
	// Sizes and offset stay in host order, exactly as systemd writes them.
	nlh.headerSize = sizeof(nlh);
	nlh.propertiesOff = sizeof(nlh);
	nlh.propertiesLen = static_cast<uint32_t>(properties.size());
	nlh.filterSubsystemHash = htobe32(murmurHash2(subsystem));
	if (devtype)
		nlh.filterDevtypeHash = htobe32(murmurHash2(*devtype));
	if (tagBloom) {
		nlh.filterTagBloomHi = htobe32(static_cast<uint32_t>(tagBloom >> 32));
		nlh.filterTagBloomLo = htobe32(static_cast<uint32_t>(tagBloom & 0xffffffff));
	}

	std::string out(reinterpret_cast<const char *>(&nlh), sizeof(nlh));
	out += properties;
	return out;
}

bool inPrivateNetns()
{
	struct stat self{};
	struct stat init{};
	// Unreadable (no procfs, or PID 1 not ptrace-readable by us) means we
	// cannot tell, and the answer that keeps broadcasts off the host is no.
	if (::stat("/proc/self/ns/net", &self) < 0 || ::stat("/proc/1/ns/net", &init) < 0)
		return false;
	return self.st_dev != init.st_dev || self.st_ino != init.st_ino;
}

} // namespace ampsim
