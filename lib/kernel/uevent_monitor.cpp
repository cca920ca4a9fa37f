// SPDX-License-Identifier: MIT
// Netlink uevent listener and the two wire formats it accepts.
#include "kernel/uevent_monitor.h"

#include <cstring>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

namespace amp::kernel {

namespace {

constexpr size_t kUdevHeaderSize = 40; // struct monitor_netlink_header
constexpr uint32_t kUdevMagic = 0xfeedcafe;
constexpr size_t kMaxProperties = 512;
constexpr size_t kDedupWindow = 512;
constexpr size_t kReceiveBuffer = 16384; // udevd and the kernel send at most 8 KiB

uint32_t readBe32(const uint8_t *p)
{
	return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

uint32_t readHost32(const uint8_t *p)
{
	uint32_t v;
	std::memcpy(&v, p, 4);
	return v;
}

// NUL-separated KEY=value strings filling `props` exactly; the last one
// must be terminated too, or the datagram was cut or forged.
bool parseProperties(std::span<const uint8_t> props, Uevent &e)
{
	size_t pos = 0, count = 0;
	while (pos < props.size()) {
		const void *nul = std::memchr(props.data() + pos, 0, props.size() - pos);
		if (!nul)
			return false;
		size_t end = static_cast<size_t>(static_cast<const uint8_t *>(nul) - props.data());
		std::string_view kv(reinterpret_cast<const char *>(props.data() + pos), end - pos);
		pos = end + 1;
		if (kv.empty())
			continue;
		if (++count > kMaxProperties)
			return false;
		auto eq = kv.find('=');
		if (eq == std::string_view::npos || eq == 0)
			continue;
		e.properties.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
	}
	auto get = [&](const char *k) -> const std::string * {
		auto it = e.properties.find(k);
		return it == e.properties.end() ? nullptr : &it->second;
	};
	const std::string *action = get("ACTION"), *devpath = get("DEVPATH"), *subsystem = get("SUBSYSTEM");
	if (!action || action->empty() || !devpath || devpath->empty() || devpath->front() != '/' || !subsystem ||
	    subsystem->empty())
		return false;
	e.action = *action;
	e.devpath = *devpath;
	e.subsystem = *subsystem;
	if (const std::string *seq = get("SEQNUM")) {
		if (seq->empty() || seq->size() > 20)
			return false;
		uint64_t v = 0;
		for (char c : *seq) {
			if (c < '0' || c > '9')
				return false;
			uint64_t next = v * 10 + uint64_t(c - '0');
			if (next / 10 != v)
				return false;
			v = next;
		}
		e.seqnum = v;
	}
	return true;
}

} // namespace

std::string Uevent::property(const std::string &key) const
{
	auto it = properties.find(key);
	return it == properties.end() ? std::string() : it->second;
}

std::string Uevent::deviceName() const
{
	auto slash = devpath.rfind('/');
	return slash == std::string::npos ? devpath : devpath.substr(slash + 1);
}

std::optional<Uevent> parseKernelUevent(std::span<const uint8_t> d)
{
	// "ACTION@DEVPATH\0" then the properties.
	if (d.empty())
		return std::nullopt;
	const void *nul = std::memchr(d.data(), 0, d.size());
	if (!nul)
		return std::nullopt;
	size_t headerLen = static_cast<size_t>(static_cast<const uint8_t *>(nul) - d.data());
	std::string_view header(reinterpret_cast<const char *>(d.data()), headerLen);
	auto at = header.find("@/");
	if (at == std::string_view::npos || at == 0)
		return std::nullopt;
	Uevent e;
	e.source = Uevent::Source::Kernel;
	if (!parseProperties(d.subspan(headerLen + 1), e))
		return std::nullopt;
	// The header and the properties must tell the same story.
	if (header.substr(0, at) != e.action || header.substr(at + 1) != e.devpath)
		return std::nullopt;
	return e;
}

std::optional<Uevent> parseUdevUevent(std::span<const uint8_t> d)
{
	if (d.size() < kUdevHeaderSize || std::memcmp(d.data(), "libudev", 8) != 0)
		return std::nullopt;
	if (readBe32(d.data() + 8) != kUdevMagic)
		return std::nullopt;
	// Sizes and offsets are in the sender's (host) byte order.
	const uint32_t headerSize = readHost32(d.data() + 12);
	const uint32_t off = readHost32(d.data() + 16);
	const uint32_t len = readHost32(d.data() + 20);
	if (headerSize < kUdevHeaderSize || off < kUdevHeaderSize || off > d.size() || len > d.size() - off || len == 0)
		return std::nullopt;
	Uevent e;
	e.source = Uevent::Source::Udev;
	if (!parseProperties(d.subspan(off, len), e))
		return std::nullopt;
	return e;
}

std::optional<Uevent> parseUevent(std::span<const uint8_t> d)
{
	if (d.size() >= 8 && std::memcmp(d.data(), "libudev", 8) == 0)
		return parseUdevUevent(d);
	return parseKernelUevent(d);
}

Result<UeventMonitor> UeventMonitor::open(uint32_t groups, std::set<std::string> subsystems)
{
	UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT));
	if (!fd)
		return unexpected(lastError("socket(NETLINK_KOBJECT_UEVENT)"));
	int on = 1;
	if (::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
		return unexpected(lastError("SO_PASSCRED"));
	// A start emits about ten events at once; a bigger queue keeps a
	// busy loop from losing them (FORCE needs CAP_NET_ADMIN, try both).
	int size = 1 << 20;
	if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
		(void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	sockaddr_nl addr{};
	addr.nl_family = AF_NETLINK;
	addr.nl_groups = groups;
	if (::bind(fd.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0)
		return unexpected(lastError("bind uevent netlink groups " + std::to_string(groups)));
	return UeventMonitor(std::move(fd), std::move(subsystems));
}

bool UeventMonitor::seenBefore(const Uevent &e)
{
	if (!e.seqnum)
		return false;
	std::string key = std::to_string(*e.seqnum) + ' ' + e.action + ' ' + e.devpath;
	if (recentSet_.count(key))
		return true;
	recent_.push_back(key);
	recentSet_.insert(std::move(key));
	if (recent_.size() > kDedupWindow) {
		recentSet_.erase(recent_.front());
		recent_.pop_front();
	}
	return false;
}

Result<std::optional<Uevent>> UeventMonitor::receive()
{
	alignas(8) static thread_local uint8_t buf[kReceiveBuffer];
	alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
	sockaddr_nl src{};
	iovec iov{buf, sizeof buf};
	msghdr msg{};
	msg.msg_name = &src;
	msg.msg_namelen = sizeof src;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof control;
	ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
	if (n < 0)
		return unexpected(lastError("recvmsg uevent"));
	auto drop = [this]() -> Result<std::optional<Uevent>> {
		++dropped_;
		return std::optional<Uevent>();
	};
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || msg.msg_namelen != sizeof src)
		return drop();
	// Only root may speak here (sd_device_monitor's rule): a user process
	// in our network namespace can broadcast too.
	const ucred *cred = nullptr;
	for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(ucred)))
			cred = reinterpret_cast<const ucred *>(CMSG_DATA(c));
	if (!cred || cred->uid != 0)
		return drop();
	std::span<const uint8_t> d(buf, static_cast<size_t>(n));
	std::optional<Uevent> e;
	if (src.nl_groups == KernelGroup) {
		// Group 1 is the kernel's: its messages come from port 0 and
		// carry no udev header.
		if (src.nl_pid != 0)
			return drop();
		e = parseKernelUevent(d);
	} else if (src.nl_groups == UdevGroup) {
		e = parseUdevUevent(d);
	}
	if (!e || (!subsystems_.empty() && !subsystems_.count(e->subsystem)) || seenBefore(*e))
		return drop();
	return e;
}

} // namespace amp::kernel
