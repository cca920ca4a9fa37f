// SPDX-License-Identifier: MIT
// Device events: the simulator broadcasts what systemd-udevd would, and a
// real sd_device_monitor receives it (kernel-abi.md section 4). Runs in a
// private network namespace so nothing reaches the host's listeners.
#include "test_support.h"

#include <sched.h>
#include <thread>

#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

namespace ampsim::test {
namespace {

struct Event {
	std::string action, devpath, subsystem, devname, modalias;
};

int collect(sd_device_monitor *, sd_device *d, void *userdata)
{
	auto *events = static_cast<std::vector<Event> *>(userdata);
	Event e;
	sd_device_action_t action;
	if (sd_device_get_action(d, &action) >= 0)
		e.action = action == SD_DEVICE_ADD ? "add" : action == SD_DEVICE_REMOVE ? "remove"
						  : action == SD_DEVICE_BIND ? "bind" : action == SD_DEVICE_UNBIND ? "unbind" : "other";
	const char *s;
	if (sd_device_get_devpath(d, &s) >= 0)
		e.devpath = s;
	if (sd_device_get_subsystem(d, &s) >= 0)
		e.subsystem = s;
	if (sd_device_get_devname(d, &s) >= 0)
		e.devname = s;
	if (sd_device_get_property_value(d, "MODALIAS", &s) >= 0)
		e.modalias = s;
	events->push_back(e);
	return 0;
}

class Events : public ::testing::TestWithParam<std::string> {};

TEST_P(Events, MonitorSeesChannelsComeAndGo)
{
	// A thread of our own in a new network namespace: the simulator we
	// spawn from it and the monitor share that namespace, the rest of
	// the test binary keeps the host's.
	std::thread t([&] {
		if (unshare(CLONE_NEWNET) != 0) {
			ADD_FAILURE() << "unshare(CLONE_NEWNET): " << strerror(errno);
			return;
		}
		Simulator sim;
		Simulator::Options o;
		o.layout = GetParam();
		o.extraArgs = {"--uevents", "udev"};
		if (!sim.start(o))
			return;
		sim.installFirmware("image_echo_test", FirmwareSpec{});
		sd_event *ev = nullptr;
		sd_device_monitor *mon = nullptr;
		ASSERT_GE(sd_event_new(&ev), 0);
		ASSERT_GE(sd_device_monitor_new(&mon), 0);
		ASSERT_GE(sd_device_monitor_filter_add_match_subsystem_devtype(mon, "rpmsg", nullptr), 0);
		std::vector<Event> events;
		ASSERT_GE(sd_device_monitor_attach_event(mon, ev), 0);
		ASSERT_GE(sd_device_monitor_start(mon, collect, &events), 0);
		auto waitFor = [&](auto pred) {
			auto end = std::chrono::steady_clock::now() + 5s;
			while (!pred()) {
				if (std::chrono::steady_clock::now() > end)
					return false;
				sd_event_run(ev, 100000);
			}
			return true;
		};
		auto has = [&](const std::string &action, const std::string &suffix) {
			return std::any_of(events.begin(), events.end(), [&](const Event &e) {
				return e.action == action && e.devpath.size() >= suffix.size() &&
				       e.devpath.compare(e.devpath.size() - suffix.size(), suffix.size(), suffix) == 0;
			});
		};
		ASSERT_EQ(sim.boot("image_echo_test"), 0);
		const std::string channel = "/virtio0.rpmsg-openamp-demo-channel.-1.1024";
		EXPECT_TRUE(waitFor([&] { return has("add", channel); }));
		for (auto &e : events) {
			EXPECT_EQ(e.subsystem, "rpmsg");
			EXPECT_EQ(e.devpath.rfind("/devices/platform/ffe00000.r5f/remoteproc/remoteproc0/", 0), 0u)
				<< e.devpath;
			if (e.devpath.size() >= channel.size() &&
			    e.devpath.compare(e.devpath.size() - channel.size(), channel.size(), channel) == 0)
				EXPECT_EQ(e.modalias, "rpmsg:rpmsg-openamp-demo-channel");
		}
		if (GetParam() != "5.10") {
			EXPECT_TRUE(has("add", "/rpmsg/rpmsg_ctrl0"));
			auto ctrl = std::find_if(events.begin(), events.end(), [](const Event &e) {
				return e.devpath.find("/rpmsg/rpmsg_ctrl0") != std::string::npos;
			});
			if (ctrl != events.end())
				EXPECT_EQ(ctrl->devname, "/dev/rpmsg_ctrl0");
		}
		// The event path must carry the node a client creates too.
		if (GetParam() == "6.1") {
			std::string node = createEndpoint(sim, "rpmsg_ctrl0", "evt", 0xFFFFFFFF, 0x400);
			ASSERT_FALSE(node.empty());
			EXPECT_TRUE(waitFor([&] { return has("add", "/rpmsg_ctrl0/" + node); }));
		}
		ASSERT_EQ(writeText(sim.rproc() + "/state", "stop"), 0);
		EXPECT_TRUE(waitFor([&] { return has("remove", channel); }));
		sd_device_monitor_unref(mon);
		sd_event_unref(ev);
	});
	t.join();
}

INSTANTIATE_TEST_SUITE_P(Layouts, Events, AMP_ALL_LAYOUTS);

} // namespace
} // namespace ampsim::test
