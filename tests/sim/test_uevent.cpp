// SPDX-License-Identifier: MIT
// UeventBroadcaster: the udev wire format byte by byte, then delivery to a real sd_device_monitor.
#include "uevent.h"

#include <endian.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-device.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ampsim {
namespace {

using Props = std::vector<std::pair<std::string, std::string>>;

const std::string kRpmsgDevpath = "/devices/platform/ffe00000.r5f/remoteproc/remoteproc0/rproc-virtio.0.auto/"
				  "virtio0/virtio0.rpmsg-openamp-demo-channel.-1.1024";
const std::string kVirtioDevpath = "/devices/platform/ffe00000.r5f/remoteproc/remoteproc0/rproc-virtio.0.auto/"
				   "virtio0";
const std::string kRpmsgModalias = "rpmsg:rpmsg-openamp-demo-channel";

// MurmurHash2 (seed 0) values computed by a separate Python implementation
// that reproduces published MurmurHash2 test vectors ("PK" = 0xb043ac70,
// "Gn7C" = 0xde157932). The end-to-end test also reads libsystemd's own
// value for "rpmsg" back out of the monitor's BPF program.
constexpr uint32_t kHashRpmsg = 0x5e4187dc;
constexpr uint32_t kHashVirtio = 0x1d9942ce;
constexpr uint32_t kHashDisk = 0x7bcbc5ee;
// string_bloom64("systemd"), same source.
constexpr uint64_t kBloomSystemd = 0x0200040010800000;
// systemd hashes host-order words, so these constants hold on little endian only.
constexpr bool kLittleEndian = __BYTE_ORDER == __LITTLE_ENDIAN;

constexpr size_t kOffMagic = 8, kOffHeaderSize = 12, kOffPropsOff = 16, kOffPropsLen = 20, kOffSubsystemHash = 24,
		 kOffDevtypeHash = 28, kOffBloomHi = 32, kOffBloomLo = 36, kHeaderSize = 40;

uint32_t hostU32(const std::string &buf, size_t off)
{
	uint32_t v;
	std::memcpy(&v, buf.data() + off, 4);
	return v;
}

uint32_t beU32(const std::string &buf, size_t off)
{
	return be32toh(hostU32(buf, off));
}

std::vector<std::string> splitNul(std::string_view s)
{
	std::vector<std::string> out;
	while (!s.empty()) {
		const size_t nul = s.find('\0');
		out.emplace_back(s.substr(0, nul));
		if (nul == std::string_view::npos)
			break;
		s.remove_prefix(nul + 1);
	}
	return out;
}

unsigned long long monotonicUsec()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000ULL;
}

class UniqueFd {
public:
	explicit UniqueFd(int fd = -1) : fd_(fd) {}
	~UniqueFd() { reset(); }
	UniqueFd(UniqueFd &&o) noexcept : fd_(o.release()) {}
	UniqueFd &operator=(UniqueFd &&o) noexcept
	{
		if (this != &o) {
			reset();
			fd_ = o.release();
		}
		return *this;
	}
	int get() const { return fd_; }
	int release() { return std::exchange(fd_, -1); }
	void reset()
	{
		if (fd_ >= 0)
			::close(fd_);
		fd_ = -1;
	}

private:
	int fd_;
};

struct EventUnref {
	void operator()(sd_event *e) const { sd_event_unref(e); }
};
struct MonitorUnref {
	void operator()(sd_device_monitor *m) const { sd_device_monitor_unref(m); }
};
struct DeviceUnref {
	void operator()(sd_device *d) const { sd_device_unref(d); }
};
using EventPtr = std::unique_ptr<sd_event, EventUnref>;
using MonitorPtr = std::unique_ptr<sd_device_monitor, MonitorUnref>;
using DevicePtr = std::unique_ptr<sd_device, DeviceUnref>;

TEST(Uevent, EncodeHeaderLayout)
{
	const std::string d = UeventBroadcaster::encode("add", kRpmsgDevpath, "rpmsg", 7,
							{{"MODALIAS", kRpmsgModalias}, {"USEC_INITIALIZED", "42"}});
	ASSERT_GT(d.size(), kHeaderSize);
	// "libudev\0" is how the monitor tells a udev message from a kernel one.
	EXPECT_EQ(std::string(d.data(), 8), std::string("libudev\0", 8));
	// Magic in network order: the BPF filter compares it as loaded big-endian.
	EXPECT_EQ(static_cast<unsigned char>(d[kOffMagic + 0]), 0xfe);
	EXPECT_EQ(static_cast<unsigned char>(d[kOffMagic + 1]), 0xed);
	EXPECT_EQ(static_cast<unsigned char>(d[kOffMagic + 2]), 0xca);
	EXPECT_EQ(static_cast<unsigned char>(d[kOffMagic + 3]), 0xfe);
	// Sizes are host order, as systemd writes them.
	EXPECT_EQ(hostU32(d, kOffHeaderSize), kHeaderSize);
	EXPECT_EQ(hostU32(d, kOffPropsOff), kHeaderSize);
	EXPECT_EQ(hostU32(d, kOffPropsLen), d.size() - kHeaderSize);
	if (kLittleEndian) {
		EXPECT_EQ(beU32(d, kOffSubsystemHash), kHashRpmsg);
		// Network order on the wire: the most significant byte first.
		EXPECT_EQ(static_cast<unsigned char>(d[kOffSubsystemHash]), 0x5e);
		EXPECT_EQ(static_cast<unsigned char>(d[kOffSubsystemHash + 3]), 0xdc);
	}
	EXPECT_EQ(hostU32(d, kOffDevtypeHash), 0u);
	EXPECT_EQ(hostU32(d, kOffBloomHi), 0u);
	EXPECT_EQ(hostU32(d, kOffBloomLo), 0u);
	// The property block is a run of "KEY=value\0", no extra terminator.
	EXPECT_EQ(d.back(), '\0');
	EXPECT_NE(d[d.size() - 2], '\0');
}

TEST(Uevent, EncodeProperties)
{
	const std::string d = UeventBroadcaster::encode(
		"add", kRpmsgDevpath, "rpmsg", 7,
		{{"MODALIAS", kRpmsgModalias}, {"SEQNUM", "99"}, {"USEC_INITIALIZED", "42"}, {"DEVNAME", "/dev/x"}});
	const std::vector<std::string> expected = {
		"ACTION=add",
		"DEVPATH=" + kRpmsgDevpath,
		"SUBSYSTEM=rpmsg",
		"SEQNUM=7",
		"MODALIAS=" + kRpmsgModalias,
		// the caller's SEQNUM=99 is dropped: the broadcaster owns it
		"USEC_INITIALIZED=42",
		"DEVNAME=/dev/x",
	};
	EXPECT_EQ(splitNul(std::string_view(d).substr(kHeaderSize)), expected);
}

TEST(Uevent, EncodeStampsUsecInitialized)
{
	const unsigned long long before = monotonicUsec();
	const std::string d = UeventBroadcaster::encode("remove", kRpmsgDevpath, "rpmsg", 1, {});
	const unsigned long long after = monotonicUsec();
	const auto props = splitNul(std::string_view(d).substr(kHeaderSize));
	ASSERT_EQ(props.size(), 5u);
	ASSERT_EQ(props[4].rfind("USEC_INITIALIZED=", 0), 0u) << props[4];
	const unsigned long long usec = std::stoull(props[4].substr(std::strlen("USEC_INITIALIZED=")));
	EXPECT_GE(usec, before);
	EXPECT_LE(usec, after);
}

TEST(Uevent, EncodeDevtypeHashAndTagBloom)
{
	if (!kLittleEndian)
		GTEST_SKIP() << "known hash values are for little-endian hosts";
	const std::string d = UeventBroadcaster::encode(
		"add", "/devices/virtual/block/ram0", "block", 3,
		{{"DEVTYPE", "disk"}, {"TAGS", ":systemd:"}, {"CURRENT_TAGS", ":systemd:"}, {"USEC_INITIALIZED", "1"}});
	EXPECT_EQ(beU32(d, kOffDevtypeHash), kHashDisk);
	EXPECT_EQ(beU32(d, kOffBloomHi), static_cast<uint32_t>(kBloomSystemd >> 32));
	EXPECT_EQ(beU32(d, kOffBloomLo), static_cast<uint32_t>(kBloomSystemd & 0xffffffff));

	const std::string v = UeventBroadcaster::encode("add", kVirtioDevpath, "virtio", 3, {});
	EXPECT_EQ(beU32(v, kOffSubsystemHash), kHashVirtio);
}

// Validation runs before the socket is touched, so this needs no socket and
// sends nothing.
TEST(Uevent, SendRefusesWhatListenersWouldDrop)
{
	UeventBroadcaster b;
	EXPECT_FALSE(b.isOpen());
	EXPECT_EQ(b.send("attach", kRpmsgDevpath, "rpmsg", {}), EINVAL); // not an sd-device action
	EXPECT_EQ(b.send("add", "", "rpmsg", {}), EINVAL);
	EXPECT_EQ(b.send("add", "devices/x", "rpmsg", {}), EINVAL);
	EXPECT_EQ(b.send("add", kRpmsgDevpath, "", {}), EINVAL);
	EXPECT_EQ(b.send("add", kRpmsgDevpath, "rpmsg", {{"MODALIAS", "a\nb"}}), EINVAL);
	EXPECT_EQ(b.send("add", kRpmsgDevpath, "rpmsg", {{"A=B", "c"}}), EINVAL);
	EXPECT_EQ(b.send("add", kRpmsgDevpath, "rpmsg", {{"MODALIAS", kRpmsgModalias}}), EBADF);
}

bool pid1NetnsReadable()
{
	struct stat st{};
	return ::stat("/proc/1/ns/net", &st) == 0;
}

TEST(Uevent, InPrivateNetnsHere)
{
	struct stat self{}, init{};
	if (::stat("/proc/self/ns/net", &self) == 0 && ::stat("/proc/1/ns/net", &init) == 0)
		EXPECT_EQ(inPrivateNetns(), self.st_ino != init.st_ino || self.st_dev != init.st_dev);
	else
		EXPECT_FALSE(inPrivateNetns()) << "an unreadable PID 1 netns must count as the host's";
}

// --- End to end, in a forked child with its own network namespace ----------

// The child reports "key=value" lines; the parent makes the assertions, so
// failures read as ordinary gtest output.
class Report {
public:
	explicit Report(int fd) : fd_(fd) {}
	void operator()(const std::string &key, const std::string &value) const
	{
		std::string line = key + "=" + value;
		for (char &c : line)
			if (c == '\n')
				c = ' ';
		line += '\n';
		// A pipe write of a short line is atomic; ignore a dead parent.
		(void)!::write(fd_, line.data(), line.size());
	}
	void operator()(const std::string &key, long long value) const { (*this)(key, std::to_string(value)); }

private:
	int fd_;
};

struct ChildResult {
	bool timedOut = false;
	int exitCode = -1;
	std::map<std::string, std::string> facts;
	std::string fact(const std::string &key) const
	{
		auto it = facts.find(key);
		return it == facts.end() ? "<missing>" : it->second;
	}
};

constexpr int kExitNoIsolation = 77;

// Fork, move the child into a fresh network namespace and run `body` there.
// Every broadcast of these tests happens after the check that the namespace
// really changed, so nothing reaches the host's udev listeners.
ChildResult runInPrivateNetns(const std::function<void(const Report &)> &body)
{
	ChildResult result;
	int p[2];
	if (::pipe2(p, O_CLOEXEC) < 0) {
		result.facts["error"] = std::string("pipe2: ") + std::strerror(errno);
		return result;
	}
	UniqueFd rd(p[0]), wr(p[1]);

	const pid_t pid = ::fork();
	if (pid < 0) {
		result.facts["error"] = std::string("fork: ") + std::strerror(errno);
		return result;
	}
	if (pid == 0) {
		rd.reset();
		const Report report(wr.get());
		struct stat before{}, after{};
		if (::stat("/proc/self/ns/net", &before) < 0) {
			report("error", std::string("stat /proc/self/ns/net: ") + std::strerror(errno));
			::_exit(kExitNoIsolation);
		}
		if (::unshare(CLONE_NEWNET) < 0) {
			report("error", std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
			::_exit(kExitNoIsolation);
		}
		if (::stat("/proc/self/ns/net", &after) < 0 || after.st_ino == before.st_ino) {
			report("error", "network namespace did not change; refusing to broadcast");
			::_exit(2);
		}
		report("private_netns", inPrivateNetns() ? 1 : 0);
		body(report);
		// _exit: no gtest or sanitizer teardown of the parent's state here.
		::_exit(0);
	}

	wr.reset();
	std::string text;
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
	for (;;) {
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0) {
			result.timedOut = true;
			::kill(pid, SIGKILL);
			break;
		}
		pollfd pfd{rd.get(), POLLIN, 0};
		const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue; // the deadline check above ends it
		char buf[4096];
		const ssize_t got = ::read(rd.get(), buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break; // EOF: the child exited
		text.append(buf, static_cast<size_t>(got));
	}
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	std::istringstream lines(text);
	for (std::string line; std::getline(lines, line);) {
		const size_t eq = line.find('=');
		if (eq != std::string::npos)
			result.facts[line.substr(0, eq)] = line.substr(eq + 1);
	}
	return result;
}

// Mirrors dev_is_devtmpfs() (src/basic/mountpoint-util.c): the topmost mount
// on /dev is devtmpfs.
bool devIsDevtmpfs()
{
	std::ifstream in("/proc/self/mountinfo");
	bool devtmpfs = false;
	for (std::string line; std::getline(in, line);) {
		std::istringstream f(line);
		std::string id, parent, devno, root, mountPoint;
		f >> id >> parent >> devno >> root >> mountPoint;
		if (mountPoint != "/dev")
			continue;
		const size_t sep = line.find(" - ");
		devtmpfs = sep != std::string::npos && line.compare(sep + 3, 8, "devtmpfs") == 0;
	}
	return devtmpfs;
}

// sd_device_monitor_new() quietly joins no group at all unless
// /run/udev/control exists or /dev is devtmpfs (device_monitor_new_full(),
// "udev service seems not to be active"). Where neither holds, give this
// child a private /run that has the control file, so the monitor listens.
void ensureMonitorJoinsUdevGroup(const Report &report)
{
	if (::access("/run/udev/control", F_OK) == 0 || devIsDevtmpfs()) {
		report("faked_udev_control", 0);
		return;
	}
	if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0 ||
	    ::mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0 || ::mkdir("/run/udev", 0755) < 0) {
		report("error", std::string("private /run/udev: ") + std::strerror(errno));
		return;
	}
	UniqueFd control(::open("/run/udev/control", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	report("faked_udev_control", control.get() >= 0 ? 1 : -1);
}

// Group mask the monitor's socket joined (getsockname reports the first 32).
long long monitorGroups(sd_device_monitor *m)
{
	const int fd = sd_event_source_get_io_fd(sd_device_monitor_get_event_source(m));
	sockaddr_nl addr{};
	socklen_t len = sizeof(addr);
	if (fd < 0 || ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) < 0)
		return -1;
	return addr.nl_groups;
}

// The classic BPF program sd_device_monitor_filter_update() attached:
// libsystemd's own string_hash32(subsystem) is the constant of the JEQ
// that follows the load of filter_subsystem_hash.
long long bpfSubsystemHash(sd_device_monitor *m)
{
	const int fd = sd_event_source_get_io_fd(sd_device_monitor_get_event_source(m));
	sock_filter prog[512];
	socklen_t count = sizeof(prog) / sizeof(prog[0]); // SO_GET_FILTER counts instructions
	if (fd < 0 || ::getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, prog, &count) < 0)
		return -1;
	for (socklen_t i = 0; i + 1 < count; i++)
		if (prog[i].code == (BPF_LD | BPF_W | BPF_ABS) && prog[i].k == kOffSubsystemHash &&
		    prog[i + 1].code == (BPF_JMP | BPF_JEQ | BPF_K))
			return prog[i + 1].k;
	return -2;
}

struct Received {
	std::vector<DevicePtr> devices;
};

int collectDevice(sd_device_monitor *, sd_device *device, void *userdata)
{
	static_cast<Received *>(userdata)->devices.emplace_back(sd_device_ref(device));
	return 0;
}

// Waits on the event loop with a deadline, then drains whatever else is
// already queued, so "exactly one" means one.
void runUntil(sd_event *e, const Received &received, size_t want)
{
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
	while (received.devices.size() < want) {
		const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
			deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0 || sd_event_run(e, left.count()) < 0)
			break;
	}
	while (sd_event_run(e, 0) > 0) {
	}
}

// Reads the raw group-2 datagrams a plain listener got, so the test can tell
// "the filter dropped it" from "it was never sent".
std::vector<std::string> drainRaw(int fd, size_t want)
{
	std::vector<std::string> out;
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
	for (;;) {
		char buf[16384];
		const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n >= 0) {
			out.emplace_back(buf, static_cast<size_t>(n));
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			break;
		if (out.size() >= want)
			break;
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0)
			break;
		pollfd pfd{fd, POLLIN, 0};
		(void)::poll(&pfd, 1, static_cast<int>(left.count()));
	}
	return out;
}

std::string propertyOf(sd_device *d, const char *key)
{
	const char *v = nullptr;
	const int r = sd_device_get_property_value(d, key, &v);
	return r < 0 ? "<" + std::string(std::strerror(-r)) + ">" : std::string(v);
}

// Monitor with a subsystem filter for rpmsg; a virtio add, then the rpmsg
// channel add. Queues are FIFO, so had the virtio event passed the filter it
// would have been dispatched before the rpmsg one.
void monitorChild(const Report &report)
{
	report("sys_device_exists", ::access(("/sys" + kRpmsgDevpath).c_str(), F_OK) == 0 ? 1 : 0);
	ensureMonitorJoinsUdevGroup(report);

	sd_event *rawEvent = nullptr;
	report("event_new", sd_event_new(&rawEvent));
	EventPtr event(rawEvent);
	sd_device_monitor *rawMonitor = nullptr;
	report("monitor_new", sd_device_monitor_new(&rawMonitor));
	MonitorPtr monitor(rawMonitor);
	if (!event || !monitor)
		return;
	report("filter_add", sd_device_monitor_filter_add_match_subsystem_devtype(monitor.get(), "rpmsg", nullptr));
	report("attach", sd_device_monitor_attach_event(monitor.get(), event.get()));
	Received received;
	report("start", sd_device_monitor_start(monitor.get(), collectDevice, &received));
	report("monitor_groups", monitorGroups(monitor.get()));
	report("bpf_subsystem_hash", bpfSubsystemHash(monitor.get()));

	UniqueFd raw(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT));
	sockaddr_nl rawAddr{};
	rawAddr.nl_family = AF_NETLINK;
	rawAddr.nl_groups = 2;
	report("raw_bind", ::bind(raw.get(), reinterpret_cast<sockaddr *>(&rawAddr), sizeof(rawAddr)) < 0 ? errno : 0);

	UeventBroadcaster b;
	report("open", b.open());
	report("send_virtio", b.send("add", kVirtioDevpath, "virtio", {{"MODALIAS", "virtio:d00000007v00000000"}}));
	const unsigned long long beforeRpmsg = monotonicUsec();
	report("send_rpmsg", b.send("add", kRpmsgDevpath, "rpmsg", {{"MODALIAS", kRpmsgModalias}}));

	runUntil(event.get(), received, 1);
	report("received", static_cast<long long>(received.devices.size()));
	if (!received.devices.empty()) {
		sd_device *d = received.devices.front().get();
		sd_device_action_t action = _SD_DEVICE_ACTION_INVALID;
		report("action_rc", sd_device_get_action(d, &action));
		report("action", action);
		const char *s = nullptr;
		report("devpath", sd_device_get_devpath(d, &s) < 0 ? "<error>" : s);
		report("syspath", sd_device_get_syspath(d, &s) < 0 ? "<error>" : s);
		report("sysname", sd_device_get_sysname(d, &s) < 0 ? "<error>" : s);
		report("subsystem", sd_device_get_subsystem(d, &s) < 0 ? "<error>" : s);
		report("devtype_rc", sd_device_get_devtype(d, &s));
		report("MODALIAS", propertyOf(d, "MODALIAS"));
		report("ACTION", propertyOf(d, "ACTION"));
		uint64_t seqnum = 0;
		report("seqnum_rc", sd_device_get_seqnum(d, &seqnum));
		report("seqnum", static_cast<long long>(seqnum));
		report("initialized", sd_device_get_is_initialized(d));
		uint64_t usec = 0;
		report("usec_rc", sd_device_get_usec_initialized(d, &usec));
		report("usec_in_window", usec >= beforeRpmsg && usec <= monotonicUsec() ? 1 : 0);
	}

	// Larger than the monitor's 8 KiB receive buffer: refused, not sent.
	report("send_oversized", b.send("change", kRpmsgDevpath, "rpmsg", {{"PAD", std::string(9000, 'x')}}));

	const auto datagrams = drainRaw(raw.get(), 2);
	report("raw_count", static_cast<long long>(datagrams.size()));
	for (size_t i = 0; i < datagrams.size(); i++) {
		const std::string &dg = datagrams[i];
		const std::string key = "raw" + std::to_string(i);
		if (dg.size() <= kHeaderSize)
			continue;
		for (const auto &prop : splitNul(std::string_view(dg).substr(kHeaderSize)))
			if (prop.rfind("SUBSYSTEM=", 0) == 0)
				report(key + "_subsystem", prop.substr(std::strlen("SUBSYSTEM=")));
		report(key + "_subsystem_hash", beU32(dg, kOffSubsystemHash));
	}
}

TEST(Uevent, MonitorDeliversOnlyTheRpmsgEvent)
{
	const ChildResult r = runInPrivateNetns(monitorChild);
	if (r.exitCode == kExitNoIsolation)
		GTEST_SKIP() << "cannot isolate broadcasts in a network namespace: " << r.fact("error");
	ASSERT_FALSE(r.timedOut) << "child did not finish";
	ASSERT_EQ(r.exitCode, 0) << r.fact("error");
	EXPECT_EQ(r.fact("private_netns"), pid1NetnsReadable() ? "1" : "0");

	// Setup: the monitor really listens on group 2 and its filter is libsystemd's.
	EXPECT_EQ(r.fact("monitor_new"), "0");
	EXPECT_EQ(r.fact("filter_add"), "1");
	EXPECT_EQ(r.fact("start"), "0");
	EXPECT_EQ(r.fact("monitor_groups"), "2") << "sd_device_monitor joined no udev group (faked_udev_control="
						 << r.fact("faked_udev_control") << ")";
	EXPECT_EQ(r.fact("bpf_subsystem_hash"), std::to_string(kHashRpmsg));
	EXPECT_EQ(r.fact("open"), "0");
	EXPECT_EQ(r.fact("send_virtio"), "0");
	EXPECT_EQ(r.fact("send_rpmsg"), "0");
	EXPECT_EQ(r.fact("send_oversized"), std::to_string(EMSGSIZE));

	// Both events went out, the oversized one did not; the encoded hash is libsystemd's.
	ASSERT_EQ(r.fact("raw_count"), "2");
	EXPECT_EQ(r.fact("raw0_subsystem"), "virtio");
	EXPECT_EQ(r.fact("raw1_subsystem"), "rpmsg");
	EXPECT_EQ(r.fact("raw1_subsystem_hash"), r.fact("bpf_subsystem_hash"));

	// The monitor delivered the rpmsg event only, intact, with no /sys behind it.
	EXPECT_EQ(r.fact("sys_device_exists"), "0");
	ASSERT_EQ(r.fact("received"), "1");
	EXPECT_EQ(r.fact("action_rc"), "0");
	EXPECT_EQ(r.fact("action"), std::to_string(SD_DEVICE_ADD));
	EXPECT_EQ(r.fact("ACTION"), "add");
	EXPECT_EQ(r.fact("devpath"), kRpmsgDevpath);
	EXPECT_EQ(r.fact("syspath"), "/sys" + kRpmsgDevpath);
	EXPECT_EQ(r.fact("sysname"), "virtio0.rpmsg-openamp-demo-channel.-1.1024");
	EXPECT_EQ(r.fact("subsystem"), "rpmsg");
	EXPECT_EQ(r.fact("devtype_rc"), std::to_string(-ENOENT));
	EXPECT_EQ(r.fact("MODALIAS"), kRpmsgModalias);
	// SEQNUM 1 went to the virtio event: one number per event.
	EXPECT_EQ(r.fact("seqnum_rc"), "0");
	EXPECT_EQ(r.fact("seqnum"), "2");
	EXPECT_EQ(r.fact("initialized"), "1");
	EXPECT_EQ(r.fact("usec_rc"), "0");
	EXPECT_EQ(r.fact("usec_in_window"), "1");
}

// Monitor with a tag filter: only the event whose TAGS bloom matches passes
// the kernel-side filter and the userspace tag check.
void tagChild(const Report &report)
{
	ensureMonitorJoinsUdevGroup(report);
	sd_event *rawEvent = nullptr;
	report("event_new", sd_event_new(&rawEvent));
	EventPtr event(rawEvent);
	sd_device_monitor *rawMonitor = nullptr;
	report("monitor_new", sd_device_monitor_new(&rawMonitor));
	MonitorPtr monitor(rawMonitor);
	if (!event || !monitor)
		return;
	report("filter_add", sd_device_monitor_filter_add_match_tag(monitor.get(), "systemd"));
	report("attach", sd_device_monitor_attach_event(monitor.get(), event.get()));
	Received received;
	report("start", sd_device_monitor_start(monitor.get(), collectDevice, &received));

	UeventBroadcaster b;
	report("open", b.open());
	report("send_untagged", b.send("add", kVirtioDevpath, "virtio", {}));
	report("send_tagged",
	       b.send("add", kRpmsgDevpath, "rpmsg", {{"TAGS", ":systemd:"}, {"CURRENT_TAGS", ":systemd:"}}));
	runUntil(event.get(), received, 1);
	report("received", static_cast<long long>(received.devices.size()));
	if (!received.devices.empty()) {
		sd_device *d = received.devices.front().get();
		const char *s = nullptr;
		report("subsystem", sd_device_get_subsystem(d, &s) < 0 ? "<error>" : s);
		report("has_tag", sd_device_has_tag(d, "systemd"));
		report("has_current_tag", sd_device_has_current_tag(d, "systemd"));
	}
}

TEST(Uevent, TagFilterMatchesTagBloom)
{
	const ChildResult r = runInPrivateNetns(tagChild);
	if (r.exitCode == kExitNoIsolation)
		GTEST_SKIP() << "cannot isolate broadcasts in a network namespace: " << r.fact("error");
	ASSERT_FALSE(r.timedOut) << "child did not finish";
	ASSERT_EQ(r.exitCode, 0) << r.fact("error");
	EXPECT_EQ(r.fact("start"), "0");
	EXPECT_EQ(r.fact("send_untagged"), "0");
	EXPECT_EQ(r.fact("send_tagged"), "0");
	ASSERT_EQ(r.fact("received"), "1");
	EXPECT_EQ(r.fact("subsystem"), "rpmsg");
	EXPECT_EQ(r.fact("has_tag"), "1");
	EXPECT_EQ(r.fact("has_current_tag"), "1");
}

} // namespace
} // namespace ampsim
