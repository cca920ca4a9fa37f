// SPDX-License-Identifier: MIT
// The simulated kernel: remoteproc life cycle, virtio rpmsg bus, rpmsg_char.
// Every behaviour here mirrors a kernel source path named in the comments;
// kernel-abi.md is the summary, the kernel the authority.
#include "kernel_model.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace ampsim {

namespace {

constexpr uint32_t kAddrAny = 0xFFFFFFFFu;
constexpr uint32_t kNsAddr = 53;
constexpr size_t kNsMessageSize = 40; // struct rpmsg_ns_msg
constexpr uint32_t kFirstDynamicAddr = 1024;
constexpr size_t kMaxPayload = 496; // 512-byte buffers minus the 16-byte header
constexpr int kTxBuffers = 256;     // half of the 512 buffers of a virtio rpmsg device
constexpr auto kBlockingSendTimeout = std::chrono::seconds(15);

constexpr unsigned kCreateEpt = 0x4028b501;
constexpr unsigned kDestroyEpt = 0xb502;
constexpr unsigned kSetShutdownOnRelease = 0x4004b701;
constexpr unsigned kGetShutdownOnRelease = 0x8004b702;

constexpr int kRemoteprocMajor = 246;
constexpr int kRpmsgMajor = 245;     // rpmsg_char (all layouts; ctrl too before 5.18)
constexpr int kRpmsgCtrlMajor = 244; // rpmsg_ctrl, its own driver from 5.18

// sysfs_streq(): equal, ignoring one trailing newline on either side.
bool sysfsStreq(const std::string &a, const char *b)
{
	std::string s = a;
	if (!s.empty() && s.back() == '\n')
		s.pop_back();
	return s == b;
}

std::string hex(uint32_t v)
{
	char buf[16];
	snprintf(buf, sizeof buf, "0x%x\n", v);
	return buf;
}

std::string signedDec(uint32_t v)
{
	return std::to_string(static_cast<int32_t>(v));
}

} // namespace

std::optional<Layout> parseLayout(const std::string &text)
{
	if (text == "6.1")
		return Layout::V6_1;
	if (text == "5.15")
		return Layout::V5_15;
	if (text == "5.10")
		return Layout::V5_10;
	return std::nullopt;
}

const char *layoutName(Layout layout)
{
	switch (layout) {
	case Layout::V6_1:
		return "6.1";
	case Layout::V5_15:
		return "5.15";
	case Layout::V5_10:
		return "5.10";
	}
	return "?";
}

enum class RprocState { Offline, Running, Crashed, Attached, Detached };

using Clock = std::chrono::steady_clock;

struct Message {
	Message() = default;
	Message(uint32_t s, uint32_t d, std::vector<uint8_t> bytes) : src(s), dst(d), data(std::move(bytes)) {}

	uint32_t src = 0, dst = 0;
	std::vector<uint8_t> data;
	// A name-service message to address 53 (create or destroy `nsName`
	// at `src`), which crosses the link in order with the data.
	enum class Ns { None, Create, Destroy } ns = Ns::None;
	std::string nsName;
	// Link timing: when its transfer is over and the receiver may see it
	// (the epoch, always past, without link timing).
	Clock::time_point readyAt{};
};

// The remote -> Linux direction of a link with timing: messages the remote
// sent, crossing one at a time, handed to their endpoints by a thread of
// their own when their transfer is over (the Linux side's interrupt), so
// that no FUSE worker ever waits for a transfer.
struct RxLink {
	Vdev *vdev = nullptr;         // model lock; null once the device is gone
	std::deque<Message> inflight; // model lock; readyAt ascending
	Clock::time_point busyUntil;  // model lock; end of the last transfer queued
	std::condition_variable_any cv;
	std::atomic<bool> stop{false};
	std::thread thread;
};

struct PendingRead {
	fuse_req_t req;
	size_t size;
};

struct BlockedWrite {
	fuse_req_t req;
	std::shared_ptr<EptDevice> ept;
	std::vector<char> data;
	std::chrono::steady_clock::time_point deadline;
};

struct EptDevice {
	std::string devName, path;
	int id = -1, minor = -1;
	std::string name;
	uint32_t src = kAddrAny, dst = kAddrAny; // chinfo as passed
	Vdev *vdev = nullptr;
	RpmsgDevice *rpdev = nullptr; // whose dst a 5.10 write uses
	CtrlDevice *ctrl = nullptr;   // parent control device, if made by CREATE_EPT
	bool defaultEpt = false;      // 5.18+ rpmsg_chrdev bound to a channel
	bool hasEpt = false;          // a kernel endpoint exists (eptdev->ept)
	uint32_t addr = kAddrAny;
	int opens = 0;
	bool gone = false;
	std::deque<std::vector<uint8_t>> queue;
	std::deque<PendingRead> reads;
	std::set<class EptFile *> files;
};

struct CtrlDevice {
	std::string devName, path;
	int id = -1, minor = -1;
	Vdev *vdev = nullptr;
	RpmsgDevice *rpdev = nullptr;
	bool gone = false;
	std::vector<std::shared_ptr<EptDevice>> epts;
};

struct RpmsgDevice {
	enum class Kind { Channel, Ns, Ctrl, Chrdev } kind = Kind::Channel;
	Vdev *vdev = nullptr;
	std::string service, devName, path;
	uint32_t src = kAddrAny, dst = kAddrAny;
	std::string override; // driver_override; empty reads "(null)"
	std::string driver;   // bound driver
	std::shared_ptr<CtrlDevice> ctrl;
	std::shared_ptr<EptDevice> chrdev;
	bool gone = false;
};

struct Vdev {
	Remote *remote = nullptr;
	int virtioId = -1, rprocVirtioId = -1;
	std::string holderPath, path;
	bool ns = false;
	int txFree = kTxBuffers;
	std::deque<Message> inbox; // Linux -> remote, each holding a TX buffer
	Clock::time_point txBusyUntil; // link timing: end of the last Linux -> remote transfer
	std::shared_ptr<RxLink> rx;    // link timing: remote -> Linux
	std::map<uint32_t, EptDevice *> endpoints; // Linux addresses in use (owner may be null)
	std::vector<std::shared_ptr<RpmsgDevice>> devices;
	std::shared_ptr<Core> core;
};

struct Remote {
	int index = 0;
	std::string name, platformPath, path;
	RprocState state = RprocState::Offline;
	std::string firmware;
	bool recovery = true;
	std::string coredump = "disabled";
	int power = 0;
	std::optional<std::string> preloadedApp;
	std::unique_ptr<Vdev> vdev;
	LoadedFirmware fw;
	int failNextStart = 0;
	bool cdevPutOnRelease = false;
	// Fault injection: `hold-start` parks the next start before the firmware
	// is requested (held while `startHeld`), `fail-write` fails the next
	// write of an attribute; `boots` counts the cores powered up.
	bool holdNextStart = false;
	bool startHeld = false;
	std::map<std::string, int> failNextWrite;
	unsigned boots = 0;
};

// ---------------------------------------------------------------------------
// The remote's CPU: runs the firmware app on a thread of its own.

class Core : public RemoteBus, public std::enable_shared_from_this<Core> {
public:
	Core(Kernel &k, Vdev *v, std::optional<FirmwareSpec> spec, std::chrono::milliseconds bootDelay)
		: vdev(v), spec(std::move(spec)), k_(k), bootDelay_(bootDelay)
	{
		// A hung firmware never services its rings: Linux's TX buffers
		// are not returned, as on a real core stuck in a loop.
		hung = this->spec && this->spec->app == "hang";
	}

	void launch()
	{
		app_ = makeFirmwareApp(spec);
		th_ = std::thread([self = shared_from_this()] { self->run(); });
	}

	// Wake the core: a message is waiting in the inbox.
	void poke()
	{
		std::lock_guard<std::mutex> l(qmu_);
		poked_ = true;
		cv_.notify_one();
	}

	void post(std::function<void()> fn)
	{
		std::lock_guard<std::mutex> l(qmu_);
		tasks_.push_back(std::move(fn));
		cv_.notify_one();
	}

	// Model lock held. The core executes nothing more for the model.
	void kill()
	{
		dead = true;
		halt_ = true;
		std::lock_guard<std::mutex> l(qmu_);
		stop_ = true;
		cv_.notify_one();
	}

	void join()
	{
		if (th_.joinable())
			th_.join();
	}

	// RemoteBus
	void send(uint32_t src, uint32_t dst, std::span<const uint8_t> data) override
	{
		k_.remoteSend(*this, src, dst, std::vector<uint8_t>(data.begin(), data.end()));
	}
	void announce(const std::string &name, uint32_t addr) override
	{
		k_.remoteNs(*this, name, addr, false);
	}
	void unannounce(const std::string &name, uint32_t addr) override
	{
		k_.remoteNs(*this, name, addr, true);
	}
	void reportCrash() override
	{
		ModelLock l(k_.mutex_);
		if (!dead)
			k_.crashed(*vdev->remote);
	}
	void log(const std::string &line) override
	{
		fprintf(stderr, "ampsim: remote: %s\n", line.c_str());
	}
	void after(std::chrono::milliseconds delay, std::function<void()> fn) override
	{
		std::lock_guard<std::mutex> l(qmu_);
		timers_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
		cv_.notify_one();
	}

	// Guarded by the model lock.
	Vdev *vdev;
	bool dead = false;
	bool hung = false;
	int corrupt = 0;                 // flip a byte in this many outgoing messages
	uint32_t lastPeer = kAddrAny;    // Linux address of the last message received
	std::set<uint32_t> extraEcho;    // channels added by `ampsim ctl announce`
	std::optional<FirmwareSpec> spec;

private:
	void run()
	{
		loop();
		// Work never run may hold this core (`ctl flood` captures it):
		// drop it, or the core and its app leak.
		std::deque<std::function<void()>> tasks;
		std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timers;
		std::lock_guard<std::mutex> l(qmu_);
		tasks.swap(tasks_);
		timers.swap(timers_);
	}

	void loop()
	{
		using clock = std::chrono::steady_clock;
		if (k_.opt_.link.enabled)
			setPreciseTimerSlack(); // it waits for messages crossing the link
		{
			// The remote's boot time before it announces (sim tunable).
			std::unique_lock<std::mutex> l(qmu_);
			cv_.wait_until(l, clock::now() + bootDelay_, [this] { return stop_; });
			if (stop_)
				return;
		}
		app_->start(*this);
		for (;;) {
			std::deque<std::function<void()>> work;
			bool poked;
			{
				std::unique_lock<std::mutex> l(qmu_);
				auto ready = [this] {
					return stop_ || poked_ || !tasks_.empty() ||
					       (!timers_.empty() && timers_.begin()->first <= clock::now());
				};
				if (timers_.empty())
					cv_.wait(l, ready);
				else
					cv_.wait_until(l, timers_.begin()->first, ready);
				if (stop_)
					return;
				work.swap(tasks_);
				while (!timers_.empty() && timers_.begin()->first <= clock::now()) {
					work.push_back(std::move(timers_.begin()->second));
					timers_.erase(timers_.begin());
				}
				poked = poked_;
				poked_ = false;
			}
			for (auto &fn : work)
				fn();
			if (poked) {
				Message m;
				clock::time_point due;
				for (;;) {
					Kernel::Pull got = k_.pullMessage(*this, m, due);
					if (got == Kernel::Pull::None)
						break;
					if (got == Kernel::Pull::Wait) {
						// Still crossing the link. Tasks and
						// timers first; else wait (at most one
						// transfer, under 80 us on the board).
						if (otherWorkDue()) {
							poke();
							break;
						}
						if (!sleepUntil(due, halt_))
							return;
						continue;
					}
					if (isExtraEcho(m.dst))
						send(m.dst, m.src, m.data);
					else
						app_->receive(*this, m.src, m.dst, m.data);
				}
			}
		}
	}

	bool otherWorkDue()
	{
		std::lock_guard<std::mutex> l(qmu_);
		return !tasks_.empty() || (!timers_.empty() && timers_.begin()->first <= std::chrono::steady_clock::now());
	}

	bool isExtraEcho(uint32_t dst)
	{
		ModelLock l(k_.mutex_);
		return extraEcho.count(dst) != 0;
	}

	Kernel &k_;
	std::chrono::milliseconds bootDelay_;
	std::unique_ptr<FirmwareApp> app_;
	std::thread th_;
	std::mutex qmu_;
	std::condition_variable cv_;
	std::deque<std::function<void()>> tasks_;
	std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timers_;
	bool stop_ = false;
	bool poked_ = false;
	std::atomic<bool> halt_{false}; // stop_, for waits outside qmu_
};

// ---------------------------------------------------------------------------
// Open files of the device nodes.

// dev/rpmsgK (drivers/rpmsg/rpmsg_char.c)
class EptFile : public DeviceFile {
public:
	EptFile(Kernel &k, std::shared_ptr<EptDevice> e) : k_(k), e_(std::move(e)) { e_->files.insert(this); }
	~EptFile() override { e_->files.erase(this); }

	bool alive() const { return !e_->gone && (e_->hasEpt || e_->defaultEpt); }
	void notify() { wakePollers(); }

	void read(fuse_req_t req, size_t size, int flags) override
	{
		if (!alive())
			return (void)fuse_reply_err(req, EPIPE);
		if (!e_->queue.empty()) {
			auto msg = std::move(e_->queue.front());
			e_->queue.pop_front();
			// One message per read; a short buffer loses the rest.
			return (void)fuse_reply_buf(req, reinterpret_cast<const char *>(msg.data()),
						    std::min(size, msg.size()));
		}
		if (flags & O_NONBLOCK)
			return (void)fuse_reply_err(req, EAGAIN);
		e_->reads.push_back({req, size});
		fuse_req_interrupt_func(req, &Kernel::readInterrupted, &k_);
	}

	void write(fuse_req_t req, const char *buf, size_t size, int flags) override
	{
		int r = k_.linuxSend(*e_, buf, size, flags & O_NONBLOCK);
		if (r == 0)
			return (void)fuse_reply_write(req, size);
		if (r > 0)
			return (void)fuse_reply_err(req, r);
		k_.blockWrite(req, e_, buf, size);
	}

	void ioctl(fuse_req_t req, unsigned int cmd, const void *, size_t, size_t) override
	{
		if (cmd != kDestroyEpt)
			return (void)fuse_reply_err(req, EINVAL);
		if (e_->defaultEpt)
			return (void)fuse_reply_err(req, EINVAL);
		if (e_->gone) {
			// The endpoint device was already deleted with its remote;
			// rpmsg_chrdev_eptdev_destroy() runs device_del() a second
			// time and the kernel oopses, killing the caller (6.1; seen
			// in QEMU, kernel-abi.md section 5). Do what the kernel does.
			const fuse_ctx *ctx = fuse_req_ctx(req);
			fprintf(stderr,
				"ampsim: BUG: kernel NULL pointer dereference in device_del "
				"(RPMSG_DESTROY_EPT_IOCTL on %s after its remote stopped); Oops, killing pid %d\n",
				e_->devName.c_str(), static_cast<int>(ctx->pid));
			::kill(ctx->pid, SIGKILL);
			return (void)fuse_reply_err(req, EIO);
		}
		k_.destroyEptFromUser(*e_);
		fuse_reply_ioctl(req, 0, nullptr, 0);
	}

	unsigned poll(fuse_pollhandle *ph) override
	{
		DeviceFile::poll(ph);
		if (!alive())
			return POLLERR;
		return e_->queue.empty() ? 0 : (POLLIN | POLLRDNORM);
	}

	void release() override { k_.releaseEpt(*e_); }

private:
	Kernel &k_;
	std::shared_ptr<EptDevice> e_;
};

// dev/rpmsg_ctrlN (rpmsg_ctrl.c from 5.18, rpmsg_char.c before)
class CtrlFile : public DeviceFile {
public:
	CtrlFile(Kernel &k, std::shared_ptr<CtrlDevice> c) : k_(k), c_(std::move(c)) {}

	void ioctl(fuse_req_t req, unsigned int cmd, const void *in, size_t inSize, size_t) override
	{
		if (cmd != kCreateEpt || inSize < 40)
			return (void)fuse_reply_err(req, EINVAL);
		if (c_->gone) {
			// The ctrl device died with its remote; the kernel warns
			// and fails the ioctl (kernel-abi.md section 5).
			fprintf(stderr, "ampsim: WARNING: Device '%s' does not have a release() function\n",
				c_->devName.c_str());
			return (void)fuse_reply_err(req, ENOENT);
		}
		char name[32];
		std::memcpy(name, in, 32);
		name[31] = '\0';
		uint32_t src, dst;
		std::memcpy(&src, static_cast<const char *>(in) + 32, 4);
		std::memcpy(&dst, static_cast<const char *>(in) + 36, 4);
		k_.createEptFromUser(*c_, name, src, dst);
		fuse_reply_ioctl(req, 0, nullptr, 0);
	}

	// No poll method in the kernel: the VFS default mask.
	unsigned poll(fuse_pollhandle *ph) override
	{
		DeviceFile::poll(ph);
		return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
	}

private:
	Kernel &k_;
	std::shared_ptr<CtrlDevice> c_;
};

// dev/remoteprocN (remoteproc_cdev.c, 5.11+)
class RprocFile : public DeviceFile {
public:
	RprocFile(Kernel &k, Remote &r) : k_(k), r_(r) {}

	void write(fuse_req_t req, const char *buf, size_t size, int) override
	{
		char cmd[10] = {};
		if (size > sizeof(cmd))
			return (void)fuse_reply_err(req, EINVAL);
		std::memcpy(cmd, buf, size);
		// The kernel compares only `size` bytes: "sta" means start.
		int err = EINVAL;
		for (const char *word : {"start", "stop", "detach"})
			if (!strncmp(cmd, word, size)) {
				err = k_.rprocCommand(r_, word);
				break;
			}
		if (err < 0)
			return (void)fuse_reply_write(req, std::min<size_t>(size, static_cast<size_t>(-err)));
		if (err)
			return (void)fuse_reply_err(req, err);
		fuse_reply_write(req, size);
	}

	void ioctl(fuse_req_t req, unsigned int cmd, const void *in, size_t inSize, size_t outSize) override
	{
		if (cmd == kSetShutdownOnRelease && inSize >= 4) {
			int32_t v;
			std::memcpy(&v, in, 4);
			r_.cdevPutOnRelease = v != 0;
			return (void)fuse_reply_ioctl(req, 0, nullptr, 0);
		}
		if (cmd == kGetShutdownOnRelease && outSize >= 4) {
			int32_t v = r_.cdevPutOnRelease;
			return (void)fuse_reply_ioctl(req, 0, &v, 4);
		}
		fuse_reply_err(req, EINVAL);
	}

	void release() override
	{
		if (r_.cdevPutOnRelease && r_.state == RprocState::Running)
			k_.shutdown(r_);
		else if (r_.cdevPutOnRelease && r_.state == RprocState::Attached)
			k_.detach(r_);
	}

private:
	Kernel &k_;
	Remote &r_;
};

// ---------------------------------------------------------------------------

Kernel::Kernel(SimOptions options) : opt_(std::move(options)), sys_(mutex_, "sysfs"), dev_(mutex_, "devtmpfs")
{
	struct utsname u;
	if (uname(&u) == 0)
		release_ = u.release;
}

Kernel::~Kernel()
{
	stop();
}

int Kernel::nextId(std::set<int> &used)
{
	// ida_alloc(): the lowest free id, so ids come back after a stop.
	int id = 0;
	while (used.count(id))
		++id;
	used.insert(id);
	return id;
}

void Kernel::emit(const std::string &action, const std::string &devpath, const std::string &subsystem,
		  std::vector<std::pair<std::string, std::string>> props)
{
	if (uevents_.isOpen())
		uevents_.send(action, "/" + devpath, subsystem, props);
}

int Kernel::start(std::string &why)
{
	ModelLock lock(mutex_);
	if (opt_.uevents == "udev" || (opt_.uevents == "auto" && inPrivateNetns())) {
		if (int err = uevents_.open()) {
			why = std::string("uevent socket: ") + strerror(err);
			return err;
		}
	}
	Node *root = sys_.root();
	for (const char *d : {"block", "bus", "class", "dev", "devices", "firmware", "fs", "kernel", "module", "power"})
		sys_.mkdir(root, d);
	// The rpmsg bus and its drivers.
	Node *bus = sysDir("bus/rpmsg");
	sys_.mkdir(bus, "devices");
	sys_.attr(bus, "drivers_autoprobe", 0644, [] { return std::string("1\n"); }, [](const std::string &) { return 0; });
	sys_.attr(bus, "drivers_probe", 0200, nullptr, [](const std::string &) { return 0; });
	sys_.attr(bus, "uevent", 0200, nullptr, [](const std::string &) { return 0; });
	std::vector<std::string> drivers = {"rpmsg_chrdev"};
	if (opt_.layout != Layout::V5_10)
		drivers.push_back("rpmsg_ns");
	if (opt_.layout == Layout::V6_1)
		drivers.push_back("rpmsg_ctrl");
	for (const auto &drv : drivers) {
		Node *d = sysDir("bus/rpmsg/drivers/" + drv);
		sys_.attr(d, "uevent", 0200, nullptr, [](const std::string &) { return 0; });
		sys_.attr(d, "bind", 0200, nullptr, [this, drv](const std::string &text) {
			std::string name = text.substr(0, text.find('\n'));
			for (auto &r : remotes_) {
				if (!r->vdev)
					continue;
				for (auto &d : r->vdev->devices) {
					if (d->devName != name)
						continue;
					// driver_match_device(): override decides, else the id table.
					bool match = d->override.empty()
							     ? (drv == "rpmsg_chrdev" &&
								((opt_.layout == Layout::V6_1 && d->service == "rpmsg-raw") ||
								 d->service == "rpmsg_chrdev"))
							     : d->override == drv;
					if (!match)
						return ENODEV;
					if (!d->driver.empty())
						return EBUSY;
					return drv == "rpmsg_chrdev" ? bindChrdev(*d) : ENODEV;
				}
			}
			return ENODEV;
		});
		sys_.attr(d, "unbind", 0200, nullptr, [this, drv](const std::string &text) {
			std::string name = text.substr(0, text.find('\n'));
			for (auto &r : remotes_) {
				if (!r->vdev)
					continue;
				for (auto &d : r->vdev->devices)
					if (d->devName == name && d->driver == drv) {
						unbindDriver(*d);
						return 0;
					}
			}
			return ENODEV;
		});
	}
	sysDir("bus/virtio/devices");
	sysDir("bus/virtio/drivers/virtio_rpmsg_bus");
	sysDir("bus/platform/devices");
	sysDir("class/remoteproc");
	sysDir("class/rpmsg");
	Node *params = sysDir("module/firmware_class/parameters");
	sys_.attr(params, "path", 0644, [this] { return fwPathParam_ + "\n"; },
		  [this](const std::string &text) {
			  // param_set_copystring(): kept as written, newline included.
			  if (text.size() >= 256)
				  return ENOSPC;
			  fwPathParam_ = text;
			  return 0;
		  });
	sysDir("kernel/debug");

	std::vector<std::string> names = opt_.remotes;
	if (names.empty())
		names.push_back("ffe00000.r5f");
	for (const auto &[name, app] : opt_.preloaded)
		if (std::find(names.begin(), names.end(), name) == names.end())
			names.push_back(name);
	for (size_t i = 0; i < names.size(); ++i)
		addRemote(names[i], static_cast<int>(i));

	kworker_ = std::thread([this] { kworker(); });
	started_ = true;
	if (opt_.link.enabled)
		fprintf(stderr, "ampsim: link timing: %s\n", describe(opt_.link).c_str());

	// Requests still held at unmount (blocked reads and writes) are
	// answered so that no reader is left hanging on a dead connection.
	auto abortHeld = [this] {
		ModelLock l(mutex_);
		for (auto &r : remotes_) {
			if (!r->vdev)
				continue;
			for (auto &[addr, e] : r->vdev->endpoints) {
				if (!e)
					continue;
				for (auto &p : e->reads)
					fuse_reply_err(p.req, EIO);
				e->reads.clear();
			}
		}
		for (auto &bw : blocked_)
			fuse_reply_err(bw.req, EIO);
		blocked_.clear();
	};
	sys_.setAbortHook(abortHeld);
	dev_.setAbortHook(abortHeld);

	std::string sysDirPath = opt_.root + "/sys", devDirPath = opt_.root + "/dev";
	for (const auto &dir : {sysDirPath, devDirPath, opt_.root + "/lib/firmware"}) {
		std::string partial;
		for (size_t pos = 0; pos != std::string::npos;) {
			pos = dir.find('/', pos + 1);
			partial = dir.substr(0, pos);
			::mkdir(partial.c_str(), 0755);
		}
	}
	lock.unlock();
	if (int err = sys_.mount(sysDirPath, opt_.fuseThreads)) {
		why = "cannot mount FUSE on " + sysDirPath;
		return err;
	}
	if (int err = dev_.mount(devDirPath, opt_.fuseThreads)) {
		why = "cannot mount FUSE on " + devDirPath;
		sys_.unmount();
		return err;
	}
	return 0;
}

void Kernel::stop()
{
	if (!started_)
		return;
	started_ = false;
	{
		// A start held by `ctl hold-start` goes on, so the FUSE threads end.
		ModelLock l(mutex_);
		for (auto &r : remotes_)
			r->startHeld = false;
		holdCv_.notify_all();
	}
	sys_.unmount();
	dev_.unmount();
	{
		ModelLock l(mutex_);
		for (auto &r : remotes_)
			if (r->vdev) {
				if (r->vdev->core) {
					r->vdev->core->kill();
					deadCores_.push_back(r->vdev->core);
				}
				stopRxLink(*r->vdev);
			}
		kstop_ = true;
		kworkCv_.notify_all();
	}
	kworker_.join();
	for (auto &c : deadCores_)
		c->join();
	deadCores_.clear();
	for (auto &link : deadLinks_)
		link->thread.join();
	deadLinks_.clear();
}

// ---------------------------------------------------------------------------
// The workqueue: crash recovery, timers, joining stopped cores.

void Kernel::queueWork(std::function<void()> fn)
{
	kwork_.push_back(std::move(fn));
	kworkCv_.notify_all();
}

void Kernel::kworker()
{
	ModelLock l(mutex_);
	while (!kstop_) {
		auto now = std::chrono::steady_clock::now();
		std::vector<std::shared_ptr<Core>> reap;
		std::vector<std::shared_ptr<RxLink>> reapLinks;
		reap.swap(deadCores_);
		reapLinks.swap(deadLinks_);
		if (!reap.empty() || !reapLinks.empty()) {
			// Join outside the lock: a dying core may be waiting for it.
			l.unlock();
			for (auto &c : reap)
				c->join();
			for (auto &link : reapLinks)
				link->thread.join();
			l.lock();
			continue;
		}
		if (!kwork_.empty()) {
			auto fn = std::move(kwork_.front());
			kwork_.pop_front();
			fn();
			continue;
		}
		// Blocked writers whose 15 s are up.
		auto next = now + std::chrono::hours(1);
		for (auto it = blocked_.begin(); it != blocked_.end();) {
			if (it->deadline <= now) {
				// The kernel returns -ERESTARTSYS (512) here, which FUSE
				// cannot carry; ETIMEDOUT is the closest it can.
				fuse_reply_err(it->req, ETIMEDOUT);
				it = blocked_.erase(it);
			} else {
				next = std::min(next, it->deadline);
				++it;
			}
		}
		if (kstop_)
			break;
		kworkCv_.wait_until(l, next);
	}
}

// ---------------------------------------------------------------------------
// remoteproc (remoteproc_core.c, remoteproc_sysfs.c)

void Kernel::addRemote(const std::string &name, int index)
{
	auto r = std::make_unique<Remote>();
	Remote &rr = *r;
	r->index = index;
	r->name = name;
	r->platformPath = "devices/platform/" + name;
	r->path = r->platformPath + "/remoteproc/remoteproc" + std::to_string(index);
	r->firmware = "rproc-" + name + "-fw"; // rproc_alloc_firmware()
	auto pre = opt_.preloaded.find(name);
	if (pre != opt_.preloaded.end()) {
		r->preloadedApp = pre->second;
		r->state = RprocState::Detached;
	}
	Node *pdev = sysDir(r->platformPath);
	sys_.attr(pdev, "uevent", 0644, [name] { return "OF_NAME=r5f\nMODALIAS=of:Nr5fT(null)Cxlnx,zynqmp-r5f\n"; },
		  [](const std::string &) { return 0; });
	sys_.link(pdev, "subsystem", "bus/platform");
	sys_.link(sys_.find("bus/platform/devices"), name, r->platformPath);
	Node *dir = sysDir(r->path);
	sys_.attr(dir, "name", 0444, [&rr] { return rr.name + "\n"; });
	sys_.attr(dir, "state", 0644, [this, &rr] { return stateWord(rr) + "\n"; },
		  [this, &rr](const std::string &t) {
			  int err = injectedWriteError(rr, "state");
			  return err ? err : storeState(rr, t);
		  });
	sys_.attr(dir, "firmware", 0644,
		  [&rr] { return (rr.state == RprocState::Attached ? std::string("unknown") : rr.firmware) + "\n"; },
		  [this, &rr](const std::string &t) {
			  int err = injectedWriteError(rr, "firmware");
			  return err ? err : storeFirmware(rr, t);
		  });
	sys_.attr(dir, "recovery", 0644, [&rr] { return std::string(rr.recovery ? "enabled\n" : "disabled\n"); },
		  [this, &rr](const std::string &t) {
			  int err = injectedWriteError(rr, "recovery");
			  return err ? err : storeRecovery(rr, t);
		  });
	sys_.attr(dir, "coredump", 0644, [&rr] { return rr.coredump + "\n"; },
		  [this, &rr](const std::string &t) { return storeCoredump(rr, t); });
	sys_.link(dir, "subsystem", "class/remoteproc");
	sys_.link(dir, "device", r->platformPath);
	std::string devName = "remoteproc" + std::to_string(index);
	if (opt_.layout != Layout::V5_10) {
		// CONFIG_REMOTEPROC_CDEV (5.11+): the rproc device carries the node.
		classDeviceFiles(dir, devName, kRemoteprocMajor, index, "");
		dev_.device(dev_.root(), devName, 0600, [this, &rr](int, int &err) -> std::shared_ptr<DeviceFile> {
			return std::make_shared<RprocFile>(*this, rr);
		});
	} else {
		sys_.attr(dir, "uevent", 0644, [] { return std::string(); }, [](const std::string &) { return 0; });
	}
	sys_.link(sys_.find("class/remoteproc"), devName, r->path);
	remotes_.push_back(std::move(r));
	// A core the bootloader started: 5.10 attaches at registration and
	// shows it as running; later kernels wait for `start` (Zynq: detached).
	if (rr.preloadedApp && opt_.layout == Layout::V5_10)
		attach(rr);
}

void Kernel::classDeviceFiles(Node *dir, const std::string &devName, int major, int minor,
			      const std::string &parentPath)
{
	std::string devt = std::to_string(major) + ":" + std::to_string(minor);
	std::string uevent = "MAJOR=" + std::to_string(major) + "\nMINOR=" + std::to_string(minor) +
			     "\nDEVNAME=" + devName + "\n";
	sys_.attr(dir, "dev", 0444, [devt] { return devt + "\n"; });
	sys_.attr(dir, "uevent", 0644, [uevent] { return uevent; }, [](const std::string &) { return 0; });
	if (!parentPath.empty()) {
		sys_.link(dir, "subsystem", "class/rpmsg");
		sys_.link(dir, "device", parentPath);
	}
}

std::string Kernel::stateWord(const Remote &r) const
{
	switch (r.state) {
	case RprocState::Offline:
		return "offline";
	case RprocState::Running:
		return "running";
	case RprocState::Crashed:
		return "crashed";
	case RprocState::Attached:
		// 5.10-5.12 have no "attached" word.
		return opt_.layout == Layout::V5_10 ? "running" : "attached";
	case RprocState::Detached:
		return "detached";
	}
	return "invalid";
}

int Kernel::injectedWriteError(Remote &r, const std::string &attr)
{
	auto it = r.failNextWrite.find(attr);
	if (it == r.failNextWrite.end())
		return 0;
	int err = it->second;
	r.failNextWrite.erase(it);
	fprintf(stderr, "ampsim: remoteproc%d: write of %s failed: injected %s\n", r.index, attr.c_str(), strerror(err));
	return err;
}

int Kernel::storeState(Remote &r, const std::string &word)
{
	for (const char *cmd : {"start", "stop", "detach"})
		if (sysfsStreq(word, cmd))
			return rprocCommand(r, cmd);
	return EINVAL;
}

int Kernel::rprocCommand(Remote &r, const std::string &cmd)
{
	// 5.19+ (state_store(), rproc_cdev_write()) check nothing themselves:
	// rproc_boot() takes another reference on a running core, and
	// rproc_shutdown()/rproc_detach() check the state. Before 5.19 the
	// callers refused a running core and only stopped a running one.
	bool v61 = opt_.layout == Layout::V6_1;
	bool up = r.state == RprocState::Running || r.state == RprocState::Attached;
	if (cmd == "start") {
		if (!v61 && up) // 5.10 shows an attached core as running, same check
			return EBUSY;
		return boot(r);
	}
	if (cmd == "stop") {
		if (!up && !(v61 && r.state == RprocState::Crashed))
			return EINVAL;
		return shutdown(r);
	}
	if (cmd == "detach" && opt_.layout != Layout::V5_10) {
		if (r.state != RprocState::Attached)
			return EINVAL;
		return detach(r);
	}
	return EINVAL;
}

int Kernel::storeFirmware(Remote &r, const std::string &text)
{
	// rproc_set_firmware()
	if (r.state != RprocState::Offline)
		return EBUSY;
	size_t len = text.find('\n');
	if (len == std::string::npos)
		len = text.size();
	if (len == 0)
		return EINVAL;
	r.firmware = text.substr(0, len);
	return 0;
}

int Kernel::storeRecovery(Remote &r, const std::string &word)
{
	if (sysfsStreq(word, "enabled")) {
		r.recovery = true;
		recover(r);
	} else if (sysfsStreq(word, "disabled")) {
		r.recovery = false;
	} else if (sysfsStreq(word, "recover")) {
		recover(r);
	} else {
		return EINVAL;
	}
	return 0;
}

int Kernel::storeCoredump(Remote &r, const std::string &word)
{
	if (r.state == RprocState::Crashed)
		return EBUSY;
	for (const char *w : {"disabled", "enabled", "inline"})
		if (sysfsStreq(word, w)) {
			r.coredump = w;
			return 0;
		}
	return EINVAL;
}

int Kernel::requestFirmware(const std::string &name, std::vector<uint8_t> &image, std::string &why)
{
	// fw_get_filesystem_firmware(): the module parameter, then the
	// compiled-in search path, each under the root prefix.
	std::vector<std::string> dirs;
	if (!fwPathParam_.empty())
		dirs.push_back(fwPathParam_);
	for (const std::string base : {"/lib/firmware/updates", "/lib/firmware"}) {
		if (!release_.empty())
			dirs.push_back(base + "/" + release_);
		dirs.push_back(base);
	}
	for (const auto &dir : dirs) {
		std::string path = opt_.root + dir + "/" + name;
		int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (256 << 20)) {
			::close(fd);
			continue;
		}
		image.resize(static_cast<size_t>(st.st_size));
		size_t got = 0;
		while (got < image.size()) {
			ssize_t n = ::read(fd, image.data() + got, image.size() - got);
			if (n <= 0)
				break;
			got += static_cast<size_t>(n);
		}
		::close(fd);
		image.resize(got);
		return 0;
	}
	why = "Direct firmware load for " + name + " failed with error -2";
	return ENOENT;
}

int Kernel::boot(Remote &r)
{
	// rproc_boot()
	if (r.state == RprocState::Detached)
		return attach(r);
	if (r.holdNextStart) {
		// `ampsim ctl hold-start`: the writer waits here, as it would in a
		// slow power-up, before the firmware is requested by name, so a
		// test can change the file between ampd's check and the load. The
		// model lock (held once, by the VFS) is released meanwhile.
		r.holdNextStart = false;
		r.startHeld = true;
		holdCv_.notify_all();
		fprintf(stderr, "ampsim: remoteproc%d: start held\n", r.index);
		holdCv_.wait_for(mutex_, std::chrono::seconds(60), [&r] { return !r.startHeld; });
		r.startHeld = false;
		fprintf(stderr, "ampsim: remoteproc%d: start released\n", r.index);
		if (r.state != RprocState::Offline)
			return EBUSY; // someone else started it meanwhile
	}
	if (++r.power > 1)
		return 0;
	std::vector<uint8_t> image;
	std::string why;
	int err = requestFirmware(r.firmware, image, why);
	LoadedFirmware fw;
	if (!err)
		err = loadFirmware(image, fw, why);
	if (!err && r.failNextStart) {
		err = r.failNextStart;
		why = "injected start failure";
		r.failNextStart = 0;
	}
	if (err) {
		// err < 0: the kernel's own quirk of a positive return from
		// rproc_handle_resources(), which state_store() hands back as a
		// short write count (firmware_image.h).
		fprintf(stderr, "ampsim: remoteproc remoteproc%d: Boot failed: %d (%s)\n", r.index, err > 0 ? -err : 1,
			why.c_str());
		--r.power;
		return err;
	}
	fprintf(stderr, "ampsim: remoteproc remoteproc%d: powering up %s, firmware %s\n", r.index, r.name.c_str(),
		r.firmware.c_str());
	return startCore(r, fw, false);
}

int Kernel::attach(Remote &r)
{
	// rproc_attach(): the firmware is whatever the bootloader loaded.
	if (++r.power > 1)
		return 0;
	LoadedFirmware fw;
	FirmwareSpec spec;
	spec.app = r.preloadedApp.value_or("echo");
	fw.hasResourceTable = spec.app != "norsc";
	fw.hasRpmsgVdev = fw.hasResourceTable;
	fw.vdevFeatures = 1;
	fw.spec = spec;
	return startCore(r, fw, true);
}

int Kernel::startCore(Remote &r, const LoadedFirmware &fw, bool attached)
{
	if (!attached)
		r.boots++;
	r.fw = fw;
	r.state = attached ? RprocState::Attached : RprocState::Running;
	if (fw.hasRpmsgVdev)
		createVdev(r, fw);
	return 0;
}

void Kernel::stopCore(Remote &r)
{
	// rproc_stop(): subdevices first (the vdev with every rpmsg device).
	if (r.vdev)
		destroyVdev(r);
}

int Kernel::shutdown(Remote &r)
{
	// rproc_shutdown(): only the last reference stops the core.
	if (--r.power > 0)
		return 0;
	r.power = 0;
	stopCore(r);
	r.state = RprocState::Offline;
	return 0;
}

int Kernel::detach(Remote &r)
{
	if (--r.power > 0)
		return 0;
	r.power = 0;
	stopCore(r);
	r.state = RprocState::Detached;
	return 0;
}

void Kernel::crashed(Remote &r)
{
	// rproc_report_crash() + rproc_crash_handler_work()
	if (r.state != RprocState::Running && r.state != RprocState::Attached)
		return;
	fprintf(stderr, "ampsim: remoteproc remoteproc%d: crash detected in %s: type fatal error\n", r.index,
		r.name.c_str());
	r.state = RprocState::Crashed;
	if (r.vdev && r.vdev->core)
		r.vdev->core->kill(); // the firmware stopped executing; its rings stay
	if (r.recovery)
		queueWork([this, &r] { recover(r); });
}

void Kernel::recover(Remote &r)
{
	// rproc_trigger_recovery() -> rproc_boot_recovery()
	if (r.state != RprocState::Crashed)
		return;
	fprintf(stderr, "ampsim: remoteproc remoteproc%d: recovering %s\n", r.index, r.name.c_str());
	stopCore(r);
	r.state = RprocState::Offline;
	std::vector<uint8_t> image;
	std::string why;
	LoadedFirmware fw;
	int err = requestFirmware(r.firmware, image, why);
	if (!err)
		err = loadFirmware(image, fw, why);
	if (err) {
		fprintf(stderr, "ampsim: remoteproc remoteproc%d: recovery failed: %d (%s)\n", r.index, -err, why.c_str());
		return;
	}
	startCore(r, fw, false);
}

// ---------------------------------------------------------------------------
// virtio rpmsg bus (remoteproc_virtio.c, virtio_rpmsg_bus.c, rpmsg_core.c)

void Kernel::createVdev(Remote &r, const LoadedFirmware &fw)
{
	auto v = std::make_unique<Vdev>();
	v->remote = &r;
	v->virtioId = nextId(virtioIds_);
	if (opt_.layout == Layout::V6_1) {
		// 5.19+: the vdev is a platform device "rproc-virtio.K.auto".
		v->rprocVirtioId = nextId(rprocVirtioIds_);
		std::string pname = "rproc-virtio." + std::to_string(v->rprocVirtioId) + ".auto";
		v->holderPath = r.path + "/" + pname;
		Node *h = sysDir(v->holderPath);
		sys_.attr(h, "uevent", 0644, [] { return std::string("DRIVER=rproc-virtio\nMODALIAS=platform:rproc-virtio\n"); },
			  [](const std::string &) { return 0; });
		sys_.attr(h, "modalias", 0444, [] { return std::string("platform:rproc-virtio\n"); });
		sys_.attr(h, "driver_override", 0644, [] { return std::string("(null)\n"); }, [](const std::string &) { return 0; });
		sys_.link(h, "subsystem", "bus/platform");
		sys_.link(sys_.find("bus/platform/devices"), pname, v->holderPath);
		emit("add", v->holderPath, "platform", {{"DRIVER", "rproc-virtio"}, {"MODALIAS", "platform:rproc-virtio"}});
	} else {
		v->holderPath = r.path + "/remoteproc" + std::to_string(r.index) + "#vdev0buffer";
		sysDir(v->holderPath);
	}
	std::string vname = "virtio" + std::to_string(v->virtioId);
	v->path = v->holderPath + "/" + vname;
	Node *vd = sysDir(v->path);
	sys_.attr(vd, "device", 0444, [] { return std::string("0x0007\n"); });
	sys_.attr(vd, "vendor", 0444, [] { return std::string("0x0000\n"); });
	sys_.attr(vd, "status", 0444, [] { return std::string("0x0000000f\n"); });
	uint32_t features = fw.vdevFeatures;
	sys_.attr(vd, "features", 0444, [features] {
		std::string bits(64, '0');
		for (int i = 0; i < 32; ++i)
			if (features & (1u << i))
				bits[i] = '1';
		return bits + "\n";
	});
	sys_.attr(vd, "modalias", 0444, [] { return std::string("virtio:d00000007v00000000\n"); });
	sys_.attr(vd, "uevent", 0644, [] { return std::string("DRIVER=virtio_rpmsg_bus\nMODALIAS=virtio:d00000007v00000000\n"); },
		  [](const std::string &) { return 0; });
	sys_.link(vd, "subsystem", "bus/virtio");
	sys_.link(vd, "driver", "bus/virtio/drivers/virtio_rpmsg_bus");
	sys_.link(sys_.find("bus/virtio/devices"), vname, v->path);
	emit("add", v->path, "virtio", {{"MODALIAS", "virtio:d00000007v00000000"}});

	Vdev &vv = *v;
	r.vdev = std::move(v);
	vv.ns = fw.vdevFeatures & 1; // VIRTIO_RPMSG_F_NS
	if (vv.ns)
		vv.endpoints[kNsAddr] = nullptr;
	// rpmsg_probe(): the control device, then the name service.
	if (opt_.layout == Layout::V6_1)
		addRpmsgDevice(vv, "rpmsg_ctrl", 0, 0, "rpmsg_ctrl");
	else if (opt_.layout == Layout::V5_15)
		addRpmsgDevice(vv, "rpmsg_chrdev", 0, 0, "rpmsg_chrdev");
	if (vv.ns && opt_.layout != Layout::V5_10)
		addRpmsgDevice(vv, "rpmsg_ns", kNsAddr, kNsAddr, "rpmsg_ns");

	if (opt_.link.enabled) {
		vv.rx = std::make_shared<RxLink>();
		vv.rx->vdev = &vv;
		vv.rx->thread = std::thread([this, rx = vv.rx] { rxLinkRun(rx); });
	}
	vv.core = std::make_shared<Core>(*this, &vv, fw.spec, opt_.announceDelay);
	vv.core->launch();
}

void Kernel::destroyVdev(Remote &r)
{
	Vdev &v = *r.vdev;
	if (v.core) {
		v.core->kill();
		deadCores_.push_back(v.core);
		kworkCv_.notify_all();
	}
	stopRxLink(v);
	for (auto it = blocked_.begin(); it != blocked_.end();) {
		if (it->ept->vdev == &v) {
			fuse_reply_err(it->req, EPIPE);
			it = blocked_.erase(it);
		} else {
			++it;
		}
	}
	// virtio_rpmsg_remove(): every rpmsg device, newest first.
	while (!v.devices.empty()) {
		auto d = v.devices.back();
		removeRpmsgDevice(*d);
	}
	emit("remove", v.path, "virtio", {{"MODALIAS", "virtio:d00000007v00000000"}});
	sys_.remove(sys_.find("bus/virtio/devices/virtio" + std::to_string(v.virtioId)));
	sys_.remove(sys_.find(v.path));
	virtioIds_.erase(v.virtioId);
	if (v.rprocVirtioId >= 0) {
		emit("remove", v.holderPath, "platform", {{"MODALIAS", "platform:rproc-virtio"}});
		sys_.remove(sys_.find("bus/platform/devices/rproc-virtio." + std::to_string(v.rprocVirtioId) + ".auto"));
		rprocVirtioIds_.erase(v.rprocVirtioId);
	}
	sys_.remove(sys_.find(v.holderPath));
	r.vdev.reset();
}

std::shared_ptr<RpmsgDevice> Kernel::addRpmsgDevice(Vdev &v, const std::string &service, uint32_t src,
						    uint32_t dst, const std::string &override)
{
	auto d = std::make_shared<RpmsgDevice>();
	RpmsgDevice &dd = *d;
	d->vdev = &v;
	d->service = service;
	d->src = src;
	d->dst = dst;
	d->override = override;
	d->kind = service == "rpmsg_ctrl"     ? RpmsgDevice::Kind::Ctrl
		  : service == "rpmsg_chrdev" ? RpmsgDevice::Kind::Chrdev
		  : service == "rpmsg_ns"     ? RpmsgDevice::Kind::Ns
					      : RpmsgDevice::Kind::Channel;
	// rpmsg_register_device(): "%s.%s.%d.%d", fixed at creation.
	d->devName = "virtio" + std::to_string(v.virtioId) + "." + service + "." + signedDec(src) + "." + signedDec(dst);
	d->path = v.path + "/" + d->devName;
	Node *dir = sysDir(d->path);
	sys_.attr(dir, "name", 0444, [&dd] { return dd.service + "\n"; });
	sys_.attr(dir, "src", 0444, [&dd] { return hex(dd.src); });
	sys_.attr(dir, "dst", 0444, [&dd] { return hex(dd.dst); });
	// __rpmsg_create_channel(): announce = src != RPMSG_ADDR_ANY, which a
	// remote-announced channel never has; registered devices start false.
	sys_.attr(dir, "announce", 0444, [] { return std::string("false\n"); });
	sys_.attr(dir, "modalias", 0444, [&dd] { return "rpmsg:" + dd.service + "\n"; });
	sys_.attr(dir, "driver_override", 0644,
		  [&dd] { return (dd.override.empty() ? std::string("(null)") : dd.override) + "\n"; },
		  [&dd](const std::string &text) {
			  // driver_set_override(): cut at the first newline; empty clears.
			  if (text.size() >= 4095)
				  return EINVAL;
			  dd.override = text.substr(0, text.find('\n'));
			  return 0;
		  });
	sys_.attr(dir, "uevent", 0644,
		  [&dd] {
			  std::string s;
			  if (!dd.driver.empty())
				  s += "DRIVER=" + dd.driver + "\n";
			  return s + "MODALIAS=rpmsg:" + dd.service + "\n";
		  },
		  [this, &dd](const std::string &text) {
			  if (sysfsStreq(text, "add") || sysfsStreq(text, "change"))
				  emit(text.substr(0, text.find('\n')), dd.path, "rpmsg", {{"MODALIAS", "rpmsg:" + dd.service}});
			  else
				  return EINVAL;
			  return 0;
		  });
	sys_.link(dir, "subsystem", "bus/rpmsg");
	sys_.link(sys_.find("bus/rpmsg/devices"), d->devName, d->path);
	v.devices.push_back(d);
	emit("add", d->path, "rpmsg", {{"MODALIAS", "rpmsg:" + service}});

	// Driver matching at device_add().
	auto bindTo = [&](const std::string &drv) {
		dd.driver = drv;
		sys_.link(dir, "driver", "bus/rpmsg/drivers/" + drv);
		sys_.link(sys_.find("bus/rpmsg/drivers/" + drv), dd.devName, dd.path);
		emit("bind", dd.path, "rpmsg", {{"DRIVER", drv}, {"MODALIAS", "rpmsg:" + dd.service}});
	};
	switch (d->kind) {
	case RpmsgDevice::Kind::Ctrl:
	case RpmsgDevice::Kind::Chrdev:
		bindTo(override);
		d->ctrl = addCtrl(dd);
		break;
	case RpmsgDevice::Kind::Ns:
		bindTo(override);
		break;
	case RpmsgDevice::Kind::Channel:
		// 5.18+ binds rpmsg_chrdev to "rpmsg-raw" channels by id table.
		if (opt_.layout == Layout::V6_1 && service == "rpmsg-raw")
			bindChrdev(dd);
		break;
	}
	return d;
}

int Kernel::bindChrdev(RpmsgDevice &d)
{
	Node *dir = sys_.find(d.path);
	d.driver = "rpmsg_chrdev";
	sys_.link(dir, "driver", "bus/rpmsg/drivers/rpmsg_chrdev");
	sys_.link(sys_.find("bus/rpmsg/drivers/rpmsg_chrdev"), d.devName, d.path);
	emit("bind", d.path, "rpmsg", {{"DRIVER", "rpmsg_chrdev"}, {"MODALIAS", "rpmsg:" + d.service}});
	if (opt_.layout == Layout::V6_1) {
		// rpmsg_dev_probe() makes the default endpoint (the driver has a
		// callback), so the channel's src becomes that address; the
		// driver then adds an rpmsgK on it.
		int addr = allocAddress(*d.vdev, kAddrAny, nullptr);
		if (addr < 0)
			return -addr;
		d.src = static_cast<uint32_t>(addr);
		d.chrdev = addEpt(*d.vdev, d, d.path, false, d.service, d.src, d.dst, true);
	} else {
		// 5.10-5.17: the channel gets its own control device.
		d.ctrl = addCtrl(d);
	}
	return 0;
}

void Kernel::unbindDriver(RpmsgDevice &d)
{
	if (d.chrdev) {
		freeAddress(*d.vdev, d.chrdev->addr);
		removeEpt(*d.chrdev);
		d.chrdev.reset();
		d.src = kAddrAny;
	}
	if (d.ctrl) {
		removeCtrl(*d.ctrl);
		d.ctrl.reset();
	}
	if (d.driver.empty())
		return;
	emit("unbind", d.path, "rpmsg", {{"MODALIAS", "rpmsg:" + d.service}});
	sys_.remove(sys_.find("bus/rpmsg/drivers/" + d.driver + "/" + d.devName));
	sys_.remove(sys_.find(d.path + "/driver"));
	d.driver.clear();
}

void Kernel::removeRpmsgDevice(RpmsgDevice &d)
{
	Vdev &v = *d.vdev;
	unbindDriver(d);
	emit("remove", d.path, "rpmsg", {{"MODALIAS", "rpmsg:" + d.service}});
	sys_.remove(sys_.find("bus/rpmsg/devices/" + d.devName));
	sys_.remove(sys_.find(d.path));
	d.gone = true;
	auto it = std::find_if(v.devices.begin(), v.devices.end(), [&d](auto &p) { return p.get() == &d; });
	if (it != v.devices.end())
		v.devices.erase(it);
}

std::shared_ptr<CtrlDevice> Kernel::addCtrl(RpmsgDevice &parent)
{
	auto c = std::make_shared<CtrlDevice>();
	c->vdev = parent.vdev;
	c->rpdev = &parent;
	c->id = nextId(ctrlIds_);
	// Before 5.18 control and endpoint nodes share rpmsg_char's minors.
	bool split = opt_.layout == Layout::V6_1;
	c->minor = split ? c->id : nextId(sharedMinors_);
	c->devName = "rpmsg_ctrl" + std::to_string(c->id);
	c->path = parent.path + "/rpmsg/" + c->devName;
	Node *dir = sysDir(c->path);
	int major = split ? kRpmsgCtrlMajor : kRpmsgMajor;
	classDeviceFiles(dir, c->devName, major, c->minor, parent.path);
	sys_.link(sys_.find("class/rpmsg"), c->devName, c->path);
	std::weak_ptr<CtrlDevice> weak = c;
	dev_.device(dev_.root(), c->devName, 0600, [this, weak](int, int &err) -> std::shared_ptr<DeviceFile> {
		auto c = weak.lock();
		if (!c || c->gone) {
			err = ENODEV;
			return nullptr;
		}
		return std::make_shared<CtrlFile>(*this, c);
	});
	emit("add", c->path, "rpmsg",
	     {{"MAJOR", std::to_string(major)}, {"MINOR", std::to_string(c->minor)}, {"DEVNAME", "/dev/" + c->devName}});
	return c;
}

void Kernel::removeCtrl(CtrlDevice &c)
{
	// rpmsg_ctrldev_remove(): its endpoint devices go first.
	while (!c.epts.empty())
		removeEpt(*c.epts.back());
	bool split = opt_.layout == Layout::V6_1;
	emit("remove", c.path, "rpmsg",
	     {{"MAJOR", std::to_string(split ? kRpmsgCtrlMajor : kRpmsgMajor)},
	      {"MINOR", std::to_string(c.minor)},
	      {"DEVNAME", "/dev/" + c.devName}});
	dev_.remove(dev_.find(c.devName));
	sys_.remove(sys_.find("class/rpmsg/" + c.devName));
	sys_.remove(sys_.find(c.path));
	ctrlIds_.erase(c.id);
	if (!split)
		sharedMinors_.erase(c.minor);
	c.gone = true;
}

std::shared_ptr<EptDevice> Kernel::addEpt(Vdev &v, RpmsgDevice &rpdev, const std::string &parentPath,
					  bool parentIsClassDevice, const std::string &name, uint32_t src, uint32_t dst,
					  bool defaultEpt)
{
	auto e = std::make_shared<EptDevice>();
	e->vdev = &v;
	e->rpdev = &rpdev;
	e->name = name;
	e->src = src;
	e->dst = dst;
	e->defaultEpt = defaultEpt;
	e->id = nextId(eptIds_);
	bool split = opt_.layout == Layout::V6_1;
	e->minor = split ? e->id : nextId(sharedMinors_);
	e->devName = "rpmsg" + std::to_string(e->id);
	// get_device_parent(): a class device under a class device sits
	// directly in it; under a bus device it goes in the "rpmsg" directory.
	e->path = parentPath + (parentIsClassDevice ? "/" : "/rpmsg/") + e->devName;
	if (defaultEpt) {
		e->addr = src;
		e->hasEpt = true;
		v.endpoints[src] = e.get();
	}
	Node *dir = sysDir(e->path);
	EptDevice &ee = *e;
	classDeviceFiles(dir, e->devName, kRpmsgMajor, e->minor, parentPath);
	sys_.attr(dir, "name", 0444, [&ee] { return ee.name + "\n"; });
	sys_.attr(dir, "src", 0444, [&ee] { return signedDec(ee.src) + "\n"; });
	sys_.attr(dir, "dst", 0444, [&ee] { return signedDec(ee.dst) + "\n"; });
	sys_.link(sys_.find("class/rpmsg"), e->devName, e->path);
	std::weak_ptr<EptDevice> weak = e;
	dev_.device(dev_.root(), e->devName, 0600, [this, weak](int, int &err) -> std::shared_ptr<DeviceFile> {
		auto e = weak.lock();
		if (!e || e->gone) {
			err = ENODEV;
			return nullptr;
		}
		err = openEpt(*e);
		if (err)
			return nullptr;
		return std::make_shared<EptFile>(*this, e);
	});
	emit("add", e->path, "rpmsg",
	     {{"MAJOR", std::to_string(kRpmsgMajor)}, {"MINOR", std::to_string(e->minor)}, {"DEVNAME", "/dev/" + e->devName}});
	return e;
}

int Kernel::openEpt(EptDevice &e)
{
	// rpmsg_eptdev_open()
	if (e.opens > 0 && opt_.layout != Layout::V5_10)
		return EBUSY;
	if (!e.defaultEpt) {
		int addr = allocAddress(*e.vdev, e.src, &e);
		if (addr < 0)
			return EINVAL; // rpmsg_create_ept() failed
		e.addr = static_cast<uint32_t>(addr);
		e.hasEpt = true;
	}
	e.opens++;
	return 0;
}

void Kernel::releaseEpt(EptDevice &e)
{
	// rpmsg_eptdev_release(): destroy a non-default endpoint, drop the queue.
	if (e.opens > 0)
		e.opens--;
	if (!e.defaultEpt && e.hasEpt && !e.gone) {
		freeAddress(*e.vdev, e.addr);
		e.hasEpt = false;
	}
	e.queue.clear();
}

void Kernel::removeEpt(EptDevice &e)
{
	if (e.gone)
		return;
	// The endpoint goes; open files see EPIPE and POLLERR from now on.
	if (e.hasEpt && e.vdev)
		freeAddress(*e.vdev, e.addr);
	for (auto it = e.vdev->endpoints.begin(); it != e.vdev->endpoints.end();)
		it = it->second == &e ? e.vdev->endpoints.erase(it) : std::next(it);
	e.hasEpt = false;
	e.gone = true;
	e.queue.clear();
	for (auto &p : e.reads)
		fuse_reply_err(p.req, EPIPE);
	e.reads.clear();
	for (auto *f : e.files)
		f->notify();
	bool split = opt_.layout == Layout::V6_1;
	emit("remove", e.path, "rpmsg",
	     {{"MAJOR", std::to_string(kRpmsgMajor)}, {"MINOR", std::to_string(e.minor)}, {"DEVNAME", "/dev/" + e.devName}});
	dev_.remove(dev_.find(e.devName));
	sys_.remove(sys_.find("class/rpmsg/" + e.devName));
	sys_.remove(sys_.find(e.path));
	eptIds_.erase(e.id);
	if (!split)
		sharedMinors_.erase(e.minor);
	if (e.ctrl) {
		auto &v = e.ctrl->epts;
		v.erase(std::remove_if(v.begin(), v.end(), [&e](auto &p) { return p.get() == &e; }), v.end());
	}
}

void Kernel::createEptFromUser(CtrlDevice &c, const std::string &name, uint32_t src, uint32_t dst)
{
	auto e = addEpt(*c.vdev, *c.rpdev, c.path, true, name, src, dst, false);
	e->ctrl = &c;
	c.epts.push_back(e);
}

void Kernel::destroyEptFromUser(EptDevice &e)
{
	removeEpt(e);
}

int Kernel::allocAddress(Vdev &v, uint32_t want, EptDevice *owner)
{
	// idr_alloc() in rpmsg_create_ept(): the lowest free dynamic address,
	// or exactly the one asked for.
	if (want == kAddrAny) {
		uint32_t a = kFirstDynamicAddr;
		while (v.endpoints.count(a))
			++a;
		v.endpoints[a] = owner;
		return static_cast<int>(a);
	}
	if (v.endpoints.count(want) || want > 0x7fffffffu)
		return -EBUSY;
	v.endpoints[want] = owner;
	return static_cast<int>(want);
}

void Kernel::freeAddress(Vdev &v, uint32_t addr)
{
	v.endpoints.erase(addr);
}

void Kernel::announce(Vdev &v, const std::string &name, uint32_t addr)
{
	// rpmsg_ns_cb(): without the name-service feature nobody listens.
	if (!v.ns)
		return;
	for (auto &d : v.devices)
		if (d->kind == RpmsgDevice::Kind::Channel && d->service == name && d->dst == addr) {
			fprintf(stderr, "ampsim: rpmsg: channel %s:%x:%x already exist\n", name.c_str(), kAddrAny, addr);
			return;
		}
	fprintf(stderr, "ampsim: virtio_rpmsg_bus virtio%d: creating channel %s addr 0x%x\n", v.virtioId, name.c_str(),
		addr);
	addRpmsgDevice(v, name, kAddrAny, addr, "");
}

void Kernel::unannounce(Vdev &v, const std::string &name, uint32_t addr)
{
	if (!v.ns)
		return;
	for (auto &d : v.devices)
		if (d->kind == RpmsgDevice::Kind::Channel && d->service == name && d->dst == addr) {
			auto keep = d;
			removeRpmsgDevice(*keep);
			return;
		}
}

int Kernel::linuxSend(EptDevice &e, const char *buf, size_t size, bool nonblock)
{
	// rpmsg_eptdev_write_iter() -> rpmsg_send_offchannel_raw()
	if (e.gone || !e.hasEpt || !e.vdev)
		return EPIPE;
	Vdev &v = *e.vdev;
	// 5.10-5.12 send to the channel's address, whatever CREATE_EPT said.
	uint32_t dst = opt_.layout == Layout::V5_10 ? e.rpdev->dst : e.dst;
	if (e.addr == kAddrAny || dst == kAddrAny)
		return EINVAL;
	if (size > kMaxPayload)
		return EMSGSIZE;
	if (v.txFree == 0) {
		if (!nonblock)
			return -1;
		return opt_.layout == Layout::V6_1 ? EAGAIN : ENOMEM;
	}
	v.txFree--;
	Message m{e.addr, dst, std::vector<uint8_t>(buf, buf + size)};
	if (opt_.link.enabled) {
		// One message at a time per direction: this one crosses once the
		// link is free, and the remote sees it when it is over.
		v.txBusyUntil = std::max(Clock::now(), v.txBusyUntil) + opt_.link.transfer(size);
		m.readyAt = v.txBusyUntil;
	}
	v.inbox.push_back(std::move(m));
	if (v.core)
		v.core->poke();
	return 0;
}

void Kernel::blockWrite(fuse_req_t req, std::shared_ptr<EptDevice> e, const char *buf, size_t size)
{
	blocked_.push_back({req, std::move(e), std::vector<char>(buf, buf + size),
			    std::chrono::steady_clock::now() + kBlockingSendTimeout});
	kworkCv_.notify_all();
	fuse_req_interrupt_func(req, &Kernel::writeInterrupted, this);
}

void Kernel::writeInterrupted(fuse_req_t req, void *data)
{
	auto *k = static_cast<Kernel *>(data);
	ModelLock l(k->mutex_);
	for (auto it = k->blocked_.begin(); it != k->blocked_.end(); ++it)
		if (it->req == req) {
			k->blocked_.erase(it);
			fuse_reply_err(req, EINTR);
			return;
		}
}

// May run on a libfuse thread that does not hold the model lock, after the
// file is gone: so it searches from the kernel, never through the file.
void Kernel::readInterrupted(fuse_req_t req, void *data)
{
	auto *k = static_cast<Kernel *>(data);
	ModelLock l(k->mutex_);
	for (auto &r : k->remotes_) {
		if (!r->vdev)
			continue;
		for (auto &[addr, e] : r->vdev->endpoints) {
			if (!e)
				continue;
			auto it = std::find_if(e->reads.begin(), e->reads.end(),
					       [req](const PendingRead &p) { return p.req == req; });
			if (it != e->reads.end()) {
				e->reads.erase(it);
				fuse_reply_err(req, EINTR);
				return;
			}
		}
	}
}

void Kernel::txBufferFreed(Vdev &v)
{
	for (auto it = blocked_.begin(); it != blocked_.end() && v.txFree > 0;) {
		if (it->ept->vdev != &v) {
			++it;
			continue;
		}
		int r = linuxSend(*it->ept, it->data.data(), it->data.size(), false);
		if (r == 0)
			fuse_reply_write(it->req, it->data.size());
		else
			fuse_reply_err(it->req, r > 0 ? r : EIO);
		it = blocked_.erase(it);
	}
}

Kernel::Pull Kernel::pullMessage(Core &core, Message &m, Clock::time_point &due)
{
	ModelLock l(mutex_);
	if (core.dead || core.hung || core.vdev->inbox.empty())
		return Pull::None;
	Vdev &v = *core.vdev;
	if (v.inbox.front().readyAt > Clock::now()) {
		due = v.inbox.front().readyAt;
		return Pull::Wait;
	}
	m = std::move(v.inbox.front());
	v.inbox.pop_front();
	// The remote returns the buffer on the used ring once it has the data.
	v.txFree++;
	txBufferFreed(v);
	core.lastPeer = m.src;
	return Pull::Got;
}

void Kernel::remoteSend(Core &core, uint32_t src, uint32_t dst, std::vector<uint8_t> data)
{
	ModelLock l(mutex_);
	if (core.dead)
		return;
	if (data.size() > kMaxPayload) {
		fprintf(stderr, "ampsim: remote tried to send %zu bytes (max %zu); dropped\n", data.size(), kMaxPayload);
		return;
	}
	if (core.corrupt > 0 && !data.empty()) {
		core.corrupt--;
		data[data.size() / 2] ^= 0x5A;
	}
	Message m{src, dst, std::move(data)};
	toLinux(*core.vdev, m);
}

void Kernel::toLinux(Vdev &v, Message &m)
{
	if (!v.rx)
		return deliverToLinux(v, m);
	// Link timing: Linux sees it once its transfer is over.
	RxLink &rx = *v.rx;
	rx.busyUntil = std::max(Clock::now(), rx.busyUntil) + opt_.link.transfer(m.data.size());
	m.readyAt = rx.busyUntil;
	rx.inflight.push_back(std::move(m));
	rx.cv.notify_one();
}

void Kernel::remoteNs(Core &core, const std::string &name, uint32_t addr, bool destroy)
{
	ModelLock l(mutex_);
	if (core.dead)
		return;
	Message m{addr, kNsAddr, std::vector<uint8_t>(kNsMessageSize)};
	m.ns = destroy ? Message::Ns::Destroy : Message::Ns::Create;
	m.nsName = name;
	toLinux(*core.vdev, m);
}

void Kernel::deliverToLinux(Vdev &v, Message &m)
{
	// rpmsg_ns_cb(), for the name service's own messages.
	if (m.ns == Message::Ns::Create)
		return announce(v, m.nsName, m.src);
	if (m.ns == Message::Ns::Destroy)
		return unannounce(v, m.nsName, m.src);
	// rpmsg_recv_single(): dispatch by destination address.
	auto it = v.endpoints.find(m.dst);
	if (it == v.endpoints.end() || !it->second) {
		fprintf(stderr, "ampsim: virtio_rpmsg_bus: msg received with no recipient (dst 0x%x)\n", m.dst);
		return;
	}
	EptDevice &e = *it->second;
	if (!e.reads.empty()) {
		PendingRead p = e.reads.front();
		e.reads.pop_front();
		fuse_reply_buf(p.req, reinterpret_cast<const char *>(m.data.data()), std::min(p.size, m.data.size()));
		return;
	}
	e.queue.push_back(std::move(m.data));
	for (auto *f : e.files)
		f->notify();
}

void Kernel::rxLinkRun(std::shared_ptr<RxLink> link)
{
	setPreciseTimerSlack();
	ModelLock l(mutex_);
	while (!link->stop) {
		if (link->inflight.empty()) {
			link->cv.wait(l);
			continue;
		}
		auto due = link->inflight.front().readyAt;
		if (Clock::now() < due) {
			// Sleep without the model lock: everything else goes on,
			// and later messages only queue behind this one.
			l.unlock();
			sleepUntil(due, link->stop);
			l.lock();
			continue;
		}
		Message m = std::move(link->inflight.front());
		link->inflight.pop_front();
		deliverToLinux(*link->vdev, m);
	}
}

// Model lock held. Messages still crossing are lost with the device.
void Kernel::stopRxLink(Vdev &v)
{
	if (!v.rx)
		return;
	v.rx->stop = true;
	v.rx->vdev = nullptr;
	v.rx->inflight.clear();
	v.rx->cv.notify_all();
	deadLinks_.push_back(std::move(v.rx));
	kworkCv_.notify_all();
}

// ---------------------------------------------------------------------------
// Fault injection: `ampsim ctl`.

Remote *Kernel::findRemote(const std::string &key)
{
	for (auto &r : remotes_)
		if (r->name == key || "remoteproc" + std::to_string(r->index) == key || std::to_string(r->index) == key)
			return r.get();
	return nullptr;
}

std::string Kernel::control(const std::vector<std::string> &w, std::string &out)
{
	ModelLock l(mutex_);
	if (w.empty())
		return "empty command";
	const std::string &cmd = w[0];
	if (cmd == "status") {
		for (auto &r : remotes_) {
			out += "remoteproc" + std::to_string(r->index) + " " + r->name + " " + stateWord(*r);
			if (r->vdev) {
				out += " virtio" + std::to_string(r->vdev->virtioId) + " tx_free=" +
				       std::to_string(r->vdev->txFree);
				for (auto &d : r->vdev->devices)
					if (d->kind == RpmsgDevice::Kind::Channel)
						out += " channel=" + d->devName;
			}
			out += "\n";
		}
		return "";
	}
	auto need = [&](size_t n) { return w.size() >= n; };
	// The remote is the last word, except for announce/flood/fail-start/corrupt arguments.
	auto remoteAt = [&](size_t i) -> Remote * { return i < w.size() ? findRemote(w[i]) : nullptr; };
	auto number = [](const std::string &s, long &v) {
		char *end = nullptr;
		errno = 0;
		v = strtol(s.c_str(), &end, 0);
		return errno == 0 && end && *end == '\0';
	};
	Remote *r = nullptr;
	if (cmd == "announce") {
		// announce NAME REMOTE [ADDR]
		if (!need(3) || !(r = remoteAt(2)))
			return "usage: announce NAME REMOTE [ADDR]";
	} else if (!need(2) || !(r = remoteAt(1))) {
		return "unknown remote or missing argument";
	}
	Core *core = r->vdev && r->vdev->core && !r->vdev->core->dead ? r->vdev->core.get() : nullptr;
	if (cmd == "boots") {
		out = std::to_string(r->boots) + "\n";
		return "";
	}
	if (cmd == "hold-start") {
		r->holdNextStart = true;
		return "";
	}
	if (cmd == "wait-held") {
		long ms = 10000;
		if (w.size() >= 3 && (!number(w[2], ms) || ms < 0 || ms > 600000))
			return "usage: wait-held REMOTE [MS]";
		if (!holdCv_.wait_for(l, std::chrono::milliseconds(ms), [r] { return r->startHeld; }))
			return "no start of " + r->name + " held within " + std::to_string(ms) + " ms";
		return "";
	}
	if (cmd == "release") {
		bool held = r->startHeld;
		r->holdNextStart = false;
		r->startHeld = false;
		holdCv_.notify_all();
		out = held ? "released\n" : "nothing held\n";
		return "";
	}
	if (cmd == "fail-write") {
		long err;
		if (!need(4) || (w[2] != "state" && w[2] != "firmware" && w[2] != "recovery") || !number(w[3], err) ||
		    err <= 0 || err > 4095)
			return "usage: fail-write REMOTE state|firmware|recovery ERRNO";
		r->failNextWrite[w[2]] = static_cast<int>(err);
		return "";
	}
	if (cmd == "fail-start") {
		long err;
		if (!need(3) || !number(w[2], err) || err <= 0 || err > 4095)
			return "usage: fail-start REMOTE ERRNO";
		r->failNextStart = static_cast<int>(err);
		return "";
	}
	if (!core)
		return "remote " + r->name + " is " + stateWord(*r) + ": its firmware is not running";
	if (cmd == "crash") {
		crashed(*r);
	} else if (cmd == "hang") {
		core->hung = true;
	} else if (cmd == "resume") {
		core->hung = false;
		core->poke();
	} else if (cmd == "unannounce") {
		// unannounce REMOTE [NAME]: the remote destroys its channel(s).
		std::vector<std::shared_ptr<RpmsgDevice>> victims;
		for (auto &d : r->vdev->devices)
			if (d->kind == RpmsgDevice::Kind::Channel && (w.size() < 3 || d->service == w[2]))
				victims.push_back(d);
		if (victims.empty())
			return "no such channel";
		for (auto &d : victims)
			removeRpmsgDevice(*d);
	} else if (cmd == "announce") {
		long addr = 0;
		if (w.size() >= 4 && !number(w[3], addr))
			return "bad address " + w[3];
		if (w.size() < 4) {
			addr = 0x401;
			for (auto &d : r->vdev->devices)
				if (d->kind == RpmsgDevice::Kind::Channel && d->dst >= static_cast<uint32_t>(addr))
					addr = d->dst + 1;
		}
		if (w[1].empty() || w[1].size() > 31)
			return "channel name must be 1..31 characters";
		core->extraEcho.insert(static_cast<uint32_t>(addr));
		announce(*r->vdev, w[1], static_cast<uint32_t>(addr));
		out = "announced " + w[1] + " at " + std::to_string(addr) + "\n";
	} else if (cmd == "corrupt") {
		long n = 1;
		if (w.size() >= 3 && (!number(w[2], n) || n < 0))
			return "usage: corrupt REMOTE [COUNT]";
		core->corrupt = static_cast<int>(n);
	} else if (cmd == "flood") {
		long count = 0, size = 64;
		if (!need(3) || !number(w[2], count) || count <= 0 || count > 10000000 ||
		    (w.size() >= 4 && (!number(w[3], size) || size < 0 || size > 496)))
			return "usage: flood REMOTE COUNT [SIZE]";
		if (core->lastPeer == kAddrAny)
			return "the remote has not heard from Linux yet: it has nobody to flood";
		uint32_t from = core->spec ? core->spec->announceAddr : AMPSIM_DEFAULT_ANNOUNCE_ADDR;
		uint32_t to = core->lastPeer;
		std::shared_ptr<Core> keep = r->vdev->core;
		keep->post([keep, count, size, from, to] {
			std::vector<uint8_t> msg(static_cast<size_t>(size));
			for (long i = 0; i < count; ++i) {
				for (size_t b = 0; b < msg.size(); ++b)
					msg[b] = static_cast<uint8_t>(i + b);
				keep->send(from, to, msg);
			}
		});
	} else {
		return "unknown command " + cmd;
	}
	return "";
}

} // namespace ampsim
