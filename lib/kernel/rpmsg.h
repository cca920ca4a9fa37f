// SPDX-License-Identifier: MIT
// rpmsg through sysfs and rpmsg_char (kernel-abi.md sections 2, 3 and 5):
// channels and their owning core, the control node of each of the three
// layouts (detected from what exists), and endpoints made with CREATE_EPT,
// destroyed only while that is safe.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/sysfs_root.h"
#include "base/unique_fd.h"

namespace amp::kernel {

inline constexpr uint32_t kRpmsgAddrAny = 0xFFFFFFFF;
inline constexpr unsigned long kRpmsgCreateEptIoctl = 0x4028b501;
inline constexpr unsigned long kRpmsgDestroyEptIoctl = 0xb502;
inline constexpr size_t kRpmsgNameSize = 32;
inline constexpr size_t kRpmsgMaxPayload = 496; // 512-byte buffer, 16-byte header

// struct rpmsg_endpoint_info (uapi linux/rpmsg.h)
struct RpmsgEndpointInfo {
	char name[kRpmsgNameSize];
	uint32_t src;
	uint32_t dst;
};
static_assert(sizeof(RpmsgEndpointInfo) == 40);

// How user space gets a control node, by what the bus holds.
enum class RpmsgLayout {
	CtrlDevice,   // 5.18+: virtioM.rpmsg_ctrl.0.0
	ChrdevDevice, // 5.13-5.17: virtioM.rpmsg_chrdev.0.0
	BindChrdev,   // 5.10-5.12: neither; bind rpmsg_chrdev to the channel
};
const char *rpmsgLayoutName(RpmsgLayout layout);

// The layout of virtio device `virtio` ("virtio0"), from what exists.
RpmsgLayout detectLayout(const SysfsRoot &root, std::string_view virtio);
// A guess with no remote running (no virtio device to look at), from the
// drivers registered on the bus. 5.11/5.12 read as ChrdevDevice; once a
// channel exists, detectLayout() on its virtio device is the answer.
RpmsgLayout guessLayoutFromDrivers(const SysfsRoot &root);

struct RpmsgChannel {
	std::string device;  // bus device name: "virtio0.rpmsg-openamp-demo-channel.-1.1024"
	std::string virtio;  // "virtio0"
	std::string service; // "rpmsg-openamp-demo-channel" (the name attribute when readable)
	// From the device name: the kernel's "%d" of the u32 address, so
	// always within int32 (-1 is 0xffffffff, "any").
	int64_t nameSrc = -1, nameDst = -1;
	std::optional<uint32_t> dst;        // the `dst` attribute: the remote's address
	std::optional<int> remoteproc;      // owning remoteprocN, from the real path
	std::string driver;                 // bound driver ("" when none)

	// The remote's address: the `dst` attribute, else the device name's.
	uint32_t remoteAddr() const { return dst ? *dst : static_cast<uint32_t>(static_cast<int32_t>(nameDst)); }
	// The local address in the device name (-1 there: any).
	uint32_t localAddr() const { return static_cast<uint32_t>(static_cast<int32_t>(nameSrc)); }
};

// Split "<parent>.<service>.<src>.<dst>" (the service may hold dots).
std::optional<RpmsgChannel> parseChannelDevice(std::string_view device);
// A bus device's `dst` attribute as rpmsg_core shows it ("0x400"): 1 to 8
// hex digits after an optional 0x; nullopt otherwise.
std::optional<uint32_t> parseDstAttr(std::string_view text);
// "rpmsg12": an rpmsg_char endpoint node under sys/class/rpmsg (not rpmsg_ctrlN).
bool isEndpointNodeName(std::string_view name);
// True for the bus devices that are not channels: rpmsg_ns, rpmsg_chrdev, rpmsg_ctrl.
bool isControlDevice(const RpmsgChannel &c);
// The first component of `path` that is ^remoteproc[0-9]+$ as a whole.
std::optional<int> remoteprocOfPath(std::string_view path);

// Every channel on the rpmsg bus (empty when the bus is absent).
[[nodiscard]] Result<std::vector<RpmsgChannel>> listChannels(const SysfsRoot &root);
[[nodiscard]] Result<RpmsgChannel> readChannel(const SysfsRoot &root, std::string_view device);

// 5.10: the rpmsg_chrdev binding made for a channel, undone on request.
class ChrdevBinding {
public:
	ChrdevBinding() = default;
	ChrdevBinding(const SysfsRoot &root, std::string channel, bool overrideWritten)
		: root_(root), channel_(std::move(channel)), overrideWritten_(overrideWritten), active_(true)
	{
	}
	ChrdevBinding(ChrdevBinding &&o) noexcept;
	ChrdevBinding &operator=(ChrdevBinding &&o) noexcept;
	ChrdevBinding(const ChrdevBinding &) = delete;
	ChrdevBinding &operator=(const ChrdevBinding &) = delete;
	~ChrdevBinding() = default; // explicit undo(): a daemon restart keeps the binding for re-adoption
	bool active() const { return active_; }
	// Unbind rpmsg_chrdev and clear driver_override. A channel that is
	// gone already (remote stopped) counts as undone.
	[[nodiscard]] Result<void> undo();

private:
	SysfsRoot root_;
	std::string channel_;
	bool overrideWritten_ = false;
	bool active_ = false;
};

struct ControlNodeRef {
	RpmsgLayout layout = RpmsgLayout::CtrlDevice;
	std::string ctrl;       // "rpmsg_ctrlN": dev/rpmsg_ctrlN, sys/class/rpmsg/rpmsg_ctrlN
	ChrdevBinding binding;  // active only when we bound rpmsg_chrdev (5.10)
};

// The control node serving `channel`, binding rpmsg_chrdev on 5.10 (and
// reusing a binding that exists). ENOENT when the layout offers none (yet).
[[nodiscard]] Result<ControlNodeRef> findControlNode(const SysfsRoot &root, const RpmsgChannel &channel);

class RpmsgEndpoint;

// An open rpmsg_ctrlN. Close it when the remote stops: CREATE_EPT on a
// control fd kept across a stop fails with ENOENT and a kernel WARNING.
class RpmsgControl {
public:
	[[nodiscard]] static Result<RpmsgControl> open(const SysfsRoot &root, std::string ctrl);
	const std::string &name() const { return ctrl_; }
	int fd() const { return fd_.get(); }
	bool isOpen() const { return fd_.valid(); }
	void close() { fd_.reset(); }

	// CREATE_EPT, then find and open the new rpmsgK (O_RDWR|O_NONBLOCK|
	// O_CLOEXEC). `name` is at most 31 bytes; src defaults to "any".
	[[nodiscard]] Result<RpmsgEndpoint> createEndpoint(std::string_view name, uint32_t dst,
							   uint32_t src = kRpmsgAddrAny);

private:
	RpmsgControl(const SysfsRoot &root, std::string ctrl, UniqueFd fd)
		: root_(root), ctrl_(std::move(ctrl)), fd_(std::move(fd))
	{
	}
	SysfsRoot root_;
	std::string ctrl_;
	UniqueFd fd_;
};

// One rpmsg_char endpoint node. Tracks whether DESTROY_EPT is still safe:
// never after EPIPE, POLLERR or a remote stop (6.1 oopses, kernel-abi.md 5).
class RpmsgEndpoint {
public:
	RpmsgEndpoint(const SysfsRoot &root, std::string ctrl, std::string node, UniqueFd fd, bool destroyable);
	RpmsgEndpoint(RpmsgEndpoint &&) noexcept = default;
	RpmsgEndpoint &operator=(RpmsgEndpoint &&) noexcept = default;
	// Closes the fd only. Call destroy() to remove a CREATE_EPT node.
	~RpmsgEndpoint() = default;

	int fd() const { return fd_.get(); }
	const std::string &node() const { return node_; } // "rpmsgK"
	const std::string &ctrl() const { return ctrl_; }
	bool dead() const { return dead_; }

	// One message per call; errnos unchanged (EAGAIN, EMSGSIZE, EPIPE...).
	// EPIPE marks the endpoint dead.
	[[nodiscard]] Result<size_t> send(std::span<const uint8_t> data);
	[[nodiscard]] Result<size_t> receive(std::span<uint8_t> buffer);
	// Feed poll()'s revents: POLLERR means the remote went away.
	void noteRevents(short revents);
	// The daemon learned the remote stopped or crashed.
	void markRemoteGone() { dead_ = true; }
	// DESTROY_EPT when safe, then close. When not safe (dead, POLLERR
	// pending, node gone from sysfs), close only; that is not an error.
	[[nodiscard]] Result<void> destroy();

private:
	SysfsRoot root_;
	std::string ctrl_;
	std::string node_;
	UniqueFd fd_;
	bool destroyable_ = true; // made by CREATE_EPT (a bound channel's node is not)
	bool dead_ = false;
};

} // namespace amp::kernel
