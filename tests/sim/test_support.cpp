// SPDX-License-Identifier: MIT
// Test support for the simulator's own tests: rpmsg_char endpoints (test_support.h).
#include "test_support.h"

#include <set>

#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace ampsim::test {

std::string controlNodeFor(Simulator &sim, const std::string &layout, const std::string &channelDev)
{
	std::string virtio = channelDev.substr(0, channelDev.find('.'));
	if (layout == "5.10") {
		std::string dir = sim.sys("bus/rpmsg/devices/" + channelDev);
		if (writeText(dir + "/driver_override", "rpmsg_chrdev\n") ||
		    writeText(sim.sys("bus/rpmsg/drivers/rpmsg_chrdev/bind"), channelDev))
			return "";
		auto ctrls = listDir(dir + "/rpmsg");
		return ctrls.empty() ? "" : ctrls[0];
	}
	std::string ctrlDev = virtio + (layout == "6.1" ? ".rpmsg_ctrl.0.0" : ".rpmsg_chrdev.0.0");
	auto ctrls = listDir(sim.sys("bus/rpmsg/devices/" + ctrlDev + "/rpmsg"));
	return ctrls.empty() ? "" : ctrls[0];
}

std::string createEndpoint(Simulator &sim, const std::string &ctrl, const std::string &name, uint32_t src,
			   uint32_t dst, int *err)
{
	int fd = ::open(sim.dev(ctrl).c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (err)
			*err = errno;
		return "";
	}
	struct {
		char name[32];
		uint32_t src, dst;
	} info{};
	strncpy(info.name, name.c_str(), sizeof info.name - 1);
	info.src = src;
	info.dst = dst;
	std::set<std::string> before;
	for (auto &n : listDir(sim.sys("class/rpmsg/" + ctrl)))
		before.insert(n);
	int rc = ioctl(fd, 0x4028b501, &info);
	int saved = errno;
	::close(fd);
	if (rc != 0) {
		if (err)
			*err = saved;
		return "";
	}
	// CREATE_EPT returns 0, not the node: find it by name, src and dst.
	for (auto &n : listDir(sim.sys("class/rpmsg/" + ctrl))) {
		if (n.rfind("rpmsg", 0) != 0 || n.rfind("rpmsg_ctrl", 0) == 0 || before.count(n))
			continue;
		std::string d = sim.sys("class/rpmsg/" + ctrl + "/" + n);
		if (readText(d + "/name") == name + "\n" &&
		    readText(d + "/src") == std::to_string(static_cast<int32_t>(src)) + "\n" &&
		    readText(d + "/dst") == std::to_string(static_cast<int32_t>(dst)) + "\n")
			return n;
	}
	if (err)
		*err = ENOENT;
	return "";
}

} // namespace ampsim::test
