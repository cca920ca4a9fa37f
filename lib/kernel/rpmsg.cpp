// SPDX-License-Identifier: MIT
// rpmsg bus scanning, control nodes for the three layouts, rpmsg_char endpoints.
#include "kernel/rpmsg.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"

namespace amp::kernel {

namespace {

constexpr std::string_view kBusDevices = "sys/bus/rpmsg/devices";
constexpr std::string_view kBusDrivers = "sys/bus/rpmsg/drivers";

// An address in a bus device name: the kernel prints the u32 with "%d",
// so only what fits an int32 is one (ten digits alone could wrap to
// another address).
std::optional<int64_t> parseSigned(std::string_view s)
{
	if (s.empty())
		return std::nullopt;
	bool neg = s.front() == '-';
	if (neg)
		s.remove_prefix(1);
	if (s.empty() || s.size() > 10)
		return std::nullopt;
	int64_t v = 0;
	for (char c : s) {
		if (c < '0' || c > '9')
			return std::nullopt;
		v = v * 10 + (c - '0');
	}
	if (neg)
		v = -v;
	if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
		return std::nullopt;
	return v;
}

} // namespace

std::optional<uint32_t> parseDstAttr(std::string_view s)
{
	if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s.remove_prefix(2);
	if (s.empty() || s.size() > 8)
		return std::nullopt;
	uint32_t v = 0;
	for (char c : s) {
		int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		if (d < 0)
			return std::nullopt;
		v = v << 4 | static_cast<uint32_t>(d);
	}
	return v;
}

namespace {

std::string signedDec(uint32_t v)
{
	return std::to_string(static_cast<int32_t>(v));
}

std::string lastComponent(std::string_view p)
{
	auto slash = p.rfind('/');
	return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

// The rpmsg_ctrlN child of a bus device, if any.
std::optional<std::string> ctrlChild(const SysfsRoot &root, const std::string &device)
{
	auto names = root.list(std::string(kBusDevices) + "/" + device + "/rpmsg");
	if (!names)
		return std::nullopt;
	for (const auto &n : *names)
		if (n.rfind("rpmsg_ctrl", 0) == 0)
			return n;
	return std::nullopt;
}

} // namespace

bool isEndpointNodeName(std::string_view n)
{
	if (n.size() <= 5 || n.substr(0, 5) != "rpmsg")
		return false;
	return std::all_of(n.begin() + 5, n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

const char *rpmsgLayoutName(RpmsgLayout layout)
{
	switch (layout) {
	case RpmsgLayout::CtrlDevice:
		return "rpmsg_ctrl (5.18+)";
	case RpmsgLayout::ChrdevDevice:
		return "rpmsg_chrdev control device (5.13-5.17)";
	case RpmsgLayout::BindChrdev:
		return "bind rpmsg_chrdev (5.10-5.12)";
	}
	return "?";
}

RpmsgLayout detectLayout(const SysfsRoot &root, std::string_view virtio)
{
	std::string base = std::string(kBusDevices) + "/" + std::string(virtio);
	if (root.exists(base + ".rpmsg_ctrl.0.0"))
		return RpmsgLayout::CtrlDevice;
	if (root.exists(base + ".rpmsg_chrdev.0.0"))
		return RpmsgLayout::ChrdevDevice;
	return RpmsgLayout::BindChrdev;
}

RpmsgLayout guessLayoutFromDrivers(const SysfsRoot &root)
{
	if (root.exists(std::string(kBusDrivers) + "/rpmsg_ctrl"))
		return RpmsgLayout::CtrlDevice;
	if (root.exists(std::string(kBusDrivers) + "/rpmsg_ns"))
		return RpmsgLayout::ChrdevDevice;
	return RpmsgLayout::BindChrdev;
}

std::optional<RpmsgChannel> parseChannelDevice(std::string_view device)
{
	auto first = device.find('.');
	auto last = device.rfind('.');
	if (first == std::string_view::npos || last == first)
		return std::nullopt;
	auto second = device.rfind('.', last - 1);
	if (second == std::string_view::npos || second <= first)
		return std::nullopt;
	auto src = parseSigned(device.substr(second + 1, last - second - 1));
	auto dst = parseSigned(device.substr(last + 1));
	if (!src || !dst || first == 0)
		return std::nullopt;
	RpmsgChannel c;
	c.device = std::string(device);
	c.virtio = std::string(device.substr(0, first));
	c.service = std::string(device.substr(first + 1, second - first - 1));
	c.nameSrc = *src;
	c.nameDst = *dst;
	return c;
}

bool isControlDevice(const RpmsgChannel &c)
{
	return (c.service == "rpmsg_ns" && c.nameSrc == 53 && c.nameDst == 53) ||
	       ((c.service == "rpmsg_chrdev" || c.service == "rpmsg_ctrl") && c.nameSrc == 0 && c.nameDst == 0);
}

std::optional<int> remoteprocOfPath(std::string_view path)
{
	size_t start = 0;
	while (start <= path.size()) {
		size_t end = path.find('/', start);
		if (end == std::string_view::npos)
			end = path.size();
		std::string_view comp = path.substr(start, end - start);
		constexpr std::string_view prefix = "remoteproc";
		if (comp.size() > prefix.size() && comp.substr(0, prefix.size()) == prefix && comp.size() - prefix.size() <= 9 &&
		    std::all_of(comp.begin() + prefix.size(), comp.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
			int v = 0;
			for (char ch : comp.substr(prefix.size()))
				v = v * 10 + (ch - '0');
			return v;
		}
		start = end + 1;
	}
	return std::nullopt;
}

Result<RpmsgChannel> readChannel(const SysfsRoot &root, std::string_view device)
{
	auto c = parseChannelDevice(device);
	if (!c)
		return unexpected(EINVAL, "'" + std::string(device) + "' is not an rpmsg device name");
	std::string dir = std::string(kBusDevices) + "/" + std::string(device);
	auto real = root.realpath(dir);
	if (!real)
		return unexpected(std::move(real).error());
	c->remoteproc = remoteprocOfPath(*real);
	if (auto name = root.readAttr(dir + "/name"))
		c->service = *name;
	if (auto dst = root.readAttr(dir + "/dst"))
		c->dst = parseDstAttr(*dst);
	if (auto drv = root.realpath(dir + "/driver"))
		c->driver = lastComponent(*drv);
	return *c;
}

Result<std::vector<RpmsgChannel>> listChannels(const SysfsRoot &root)
{
	std::vector<RpmsgChannel> out;
	auto names = root.list(kBusDevices);
	if (!names) {
		if (names.error().code == ENOENT)
			return out;
		return unexpected(std::move(names).error());
	}
	for (const auto &n : *names) {
		auto parsed = parseChannelDevice(n);
		if (!parsed || isControlDevice(*parsed))
			continue;
		// A device that went away between list and read is skipped:
		// the remote stopped meanwhile, and its remove uevent follows.
		if (auto c = readChannel(root, n))
			out.push_back(std::move(*c));
	}
	return out;
}

ChrdevBinding::ChrdevBinding(ChrdevBinding &&o) noexcept
	: root_(std::move(o.root_)), channel_(std::move(o.channel_)), overrideWritten_(o.overrideWritten_),
	  active_(std::exchange(o.active_, false))
{
}

ChrdevBinding &ChrdevBinding::operator=(ChrdevBinding &&o) noexcept
{
	if (this != &o) {
		root_ = std::move(o.root_);
		channel_ = std::move(o.channel_);
		overrideWritten_ = o.overrideWritten_;
		active_ = std::exchange(o.active_, false);
	}
	return *this;
}

Result<void> ChrdevBinding::undo()
{
	if (!active_)
		return {};
	active_ = false;
	std::string dir = std::string(kBusDevices) + "/" + channel_;
	if (!root_.exists(dir))
		return {};
	auto unbind = root_.writeAttr(std::string(kBusDrivers) + "/rpmsg_chrdev/unbind", channel_);
	if (!unbind && unbind.error().code != ENODEV)
		return unbind;
	if (overrideWritten_) {
		// driver_override: a lone newline clears it ("echo > driver_override").
		auto clear = root_.writeAttr(dir + "/driver_override", "\n");
		if (!clear && clear.error().code != ENOENT)
			return clear;
	}
	return {};
}

Result<ControlNodeRef> findControlNode(const SysfsRoot &root, const RpmsgChannel &channel)
{
	ControlNodeRef ref;
	ref.layout = detectLayout(root, channel.virtio);
	if (ref.layout != RpmsgLayout::BindChrdev) {
		std::string dev = channel.virtio + (ref.layout == RpmsgLayout::CtrlDevice ? ".rpmsg_ctrl.0.0" : ".rpmsg_chrdev.0.0");
		auto ctrl = ctrlChild(root, dev);
		if (!ctrl)
			return unexpected(ENOENT, "no rpmsg_ctrl node under " + root.path(std::string(kBusDevices) + "/" + dev));
		ref.ctrl = *ctrl;
		return ref;
	}
	// 5.10: bind rpmsg_chrdev to the channel; it gets an rpmsg_ctrlN child.
	if (auto ctrl = ctrlChild(root, channel.device)) {
		ref.ctrl = *ctrl; // bound already (by us before a restart, or by hand)
		return ref;
	}
	std::string dir = std::string(kBusDevices) + "/" + channel.device;
	auto current = root.readAttr(dir + "/driver_override");
	bool writeOverride = !current || *current != "rpmsg_chrdev";
	if (writeOverride) {
		if (auto w = root.writeAttr(dir + "/driver_override", "rpmsg_chrdev"); !w)
			return unexpected(std::move(w).error());
	}
	ChrdevBinding binding(root, channel.device, writeOverride);
	if (auto b = root.writeAttr(std::string(kBusDrivers) + "/rpmsg_chrdev/bind", channel.device); !b) {
		(void)binding.undo();
		return unexpected(std::move(b).error());
	}
	auto ctrl = ctrlChild(root, channel.device);
	if (!ctrl) {
		(void)binding.undo();
		return unexpected(ENOENT, "bound rpmsg_chrdev to " + channel.device + " but no rpmsg_ctrl node appeared");
	}
	ref.ctrl = *ctrl;
	ref.binding = std::move(binding);
	return ref;
}

Result<RpmsgControl> RpmsgControl::open(const SysfsRoot &root, std::string ctrl)
{
	auto fd = root.open("dev/" + ctrl, O_RDWR);
	if (!fd)
		return unexpected(std::move(fd).error());
	return RpmsgControl(root, std::move(ctrl), std::move(*fd));
}

Result<RpmsgEndpoint> RpmsgControl::createEndpoint(std::string_view name, uint32_t dst, uint32_t src)
{
	if (!fd_)
		return unexpected(EBADF, ctrl_ + " is closed");
	if (name.empty() || name.size() >= kRpmsgNameSize || name.find('\0') != std::string_view::npos)
		return unexpected(EINVAL, "endpoint name '" + std::string(name) + "' (1 to 31 bytes)");
	const std::string classDir = "sys/class/rpmsg/" + ctrl_;
	std::set<std::string> before;
	if (auto names = root_.list(classDir))
		for (auto &n : *names)
			if (isEndpointNodeName(n))
				before.insert(n);

	RpmsgEndpointInfo info{};
	std::memcpy(info.name, name.data(), name.size());
	info.src = src;
	info.dst = dst;
	if (::ioctl(fd_.get(), kRpmsgCreateEptIoctl, &info) != 0)
		return unexpected(lastError("RPMSG_CREATE_EPT_IOCTL '" + std::string(name) + "' on " + root_.path("dev/" + ctrl_)));

	// CREATE_EPT returns 0, not the node: find it by name/src/dst, newest
	// first. Identical requests make identical nodes; a node another
	// endpoint holds open answers EBUSY (5.13+), so try the next one.
	auto names = root_.list(classDir);
	if (!names)
		return unexpected(std::move(names).error());
	std::vector<std::string> fresh, older;
	for (auto &n : *names) {
		if (!isEndpointNodeName(n))
			continue;
		std::string d = classDir + "/" + n;
		if (root_.readAttr(d + "/name").value_or("") != name || root_.readAttr(d + "/src").value_or("") != signedDec(src) ||
		    root_.readAttr(d + "/dst").value_or("") != signedDec(dst))
			continue;
		(before.count(n) ? older : fresh).push_back(n);
	}
	auto byNumber = [](const std::string &a, const std::string &b) {
		return a.size() != b.size() ? a.size() > b.size() : a > b;
	};
	std::sort(fresh.begin(), fresh.end(), byNumber);
	std::sort(older.begin(), older.end(), byNumber);
	fresh.insert(fresh.end(), older.begin(), older.end());
	Error last{ENOENT, "no new rpmsg endpoint node under " + root_.path(classDir) + " for '" + std::string(name) + "'"};
	for (const auto &n : fresh) {
		auto fd = root_.open("dev/" + n, O_RDWR | O_NONBLOCK);
		if (fd)
			return RpmsgEndpoint(root_, ctrl_, n, std::move(*fd), true);
		last = std::move(fd).error();
		if (last.code != EBUSY)
			break;
	}
	return unexpected(std::move(last));
}

RpmsgEndpoint::RpmsgEndpoint(const SysfsRoot &root, std::string ctrl, std::string node, UniqueFd fd, bool destroyable)
	: root_(root), ctrl_(std::move(ctrl)), node_(std::move(node)), fd_(std::move(fd)), destroyable_(destroyable)
{
}

Result<size_t> RpmsgEndpoint::send(std::span<const uint8_t> data)
{
	ssize_t n = ::write(fd_.get(), data.data(), data.size());
	if (n < 0) {
		if (errno == EPIPE)
			dead_ = true;
		return unexpected(lastError("write to " + node_));
	}
	return static_cast<size_t>(n);
}

Result<size_t> RpmsgEndpoint::receive(std::span<uint8_t> buffer)
{
	ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
	if (n < 0) {
		if (errno == EPIPE)
			dead_ = true;
		return unexpected(lastError("read from " + node_));
	}
	return static_cast<size_t>(n);
}

void RpmsgEndpoint::noteRevents(short revents)
{
	if (revents & POLLERR)
		dead_ = true;
}

Result<void> RpmsgEndpoint::destroy()
{
	if (!fd_)
		return {};
	if (!dead_ && destroyable_) {
		// Last look before the ioctl that oopses 6.1 on a stopped remote.
		pollfd p{fd_.get(), POLLIN, 0};
		if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLNVAL)))
			dead_ = true;
		if (!root_.exists("sys/class/rpmsg/" + ctrl_ + "/" + node_))
			dead_ = true;
	}
	if (dead_ || !destroyable_) {
		fd_.reset();
		return {};
	}
	int rc = ::ioctl(fd_.get(), kRpmsgDestroyEptIoctl);
	Error err = lastError("RPMSG_DESTROY_EPT_IOCTL on " + root_.path("dev/" + node_));
	fd_.reset();
	if (rc != 0) {
		log::rpmsg()->warn("{}: {}", node_, err.message());
		return unexpected(std::move(err));
	}
	return {};
}

} // namespace amp::kernel
