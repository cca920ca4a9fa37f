// SPDX-License-Identifier: MIT
// The simulated kernel: remoteproc cores, the virtio rpmsg bus, rpmsg_char
// and rpmsg_ctrl, with the sysfs and /dev files each layout presents.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "firmware_app.h"
#include "firmware_image.h"
#include "link_timing.h"
#include "uevent.h"
#include "vfs.h"

namespace ampsim {

// The three rpmsg_char layouts user space meets in the field
// (kernel-abi.md section 3), named by a kernel that has them.
enum class Layout { V6_1, V5_15, V5_10 };
std::optional<Layout> parseLayout(const std::string &text);
const char *layoutName(Layout layout);

struct SimOptions {
	std::string root;
	Layout layout = Layout::V6_1;
	std::vector<std::string> remotes;                // core names
	std::map<std::string, std::string> preloaded;    // core name -> app it runs
	std::chrono::milliseconds announceDelay{20};     // start -> name-service announcement
	std::string uevents = "auto";                    // auto | udev | none
	int fuseThreads = 4;
	LinkTiming link;                                 // --link / --link-us; off by default
};

struct Remote;
struct Vdev;
struct RpmsgDevice;
struct CtrlDevice;
struct EptDevice;
class Core;
struct BlockedWrite;
struct Message;
struct RxLink;

class Kernel {
public:
	explicit Kernel(SimOptions options);
	~Kernel();

	// Build the trees and mount DIR/sys and DIR/dev. 0 or errno; `why`.
	int start(std::string &why);
	// Unmount (answering every held request) and stop every core.
	void stop();

	// Fault injection (`ampsim ctl`). Returns "" on success or an error text.
	std::string control(const std::vector<std::string> &words, std::string &out);

	ModelMutex &mutex() { return mutex_; }

private:
	friend class Core;
	friend class EptFile;
	friend class CtrlFile;
	friend class RprocFile;

	// remoteproc
	void addRemote(const std::string &name, int index);
	std::string stateWord(const Remote &r) const;
	int injectedWriteError(Remote &r, const std::string &attr); // `ctl fail-write`: errno or 0
	int storeState(Remote &r, const std::string &word);
	int rprocCommand(Remote &r, const std::string &cmd); // start | stop | detach
	int storeFirmware(Remote &r, const std::string &text);
	int storeRecovery(Remote &r, const std::string &word);
	int storeCoredump(Remote &r, const std::string &word);
	int boot(Remote &r);          // rproc_boot()
	int shutdown(Remote &r);      // rproc_shutdown()
	int detach(Remote &r);        // rproc_detach()
	int attach(Remote &r);
	int startCore(Remote &r, const LoadedFirmware &fw, bool attached);
	void stopCore(Remote &r);     // rproc_stop(): subdevices, then the core
	int requestFirmware(const std::string &name, std::vector<uint8_t> &image, std::string &why);
	void crashed(Remote &r);      // rproc_report_crash()
	void recover(Remote &r);      // rproc_trigger_recovery()

	// virtio rpmsg bus
	void createVdev(Remote &r, const LoadedFirmware &fw);
	void destroyVdev(Remote &r);
	std::shared_ptr<RpmsgDevice> addRpmsgDevice(Vdev &v, const std::string &service, uint32_t src,
						    uint32_t dst, const std::string &override);
	void removeRpmsgDevice(RpmsgDevice &d);
	void announce(Vdev &v, const std::string &name, uint32_t addr);
	void unannounce(Vdev &v, const std::string &name, uint32_t addr);
	int bindChrdev(RpmsgDevice &d);
	void unbindDriver(RpmsgDevice &d);
	std::shared_ptr<CtrlDevice> addCtrl(RpmsgDevice &parent);
	void removeCtrl(CtrlDevice &c);
	std::shared_ptr<EptDevice> addEpt(Vdev &v, RpmsgDevice &rpdev, const std::string &parentPath,
					  bool parentIsClassDevice, const std::string &name, uint32_t src,
					  uint32_t dst, bool defaultEpt);
	void removeEpt(EptDevice &e);
	int openEpt(EptDevice &e);
	void releaseEpt(EptDevice &e);
	void createEptFromUser(CtrlDevice &c, const std::string &name, uint32_t src, uint32_t dst);
	void destroyEptFromUser(EptDevice &e);
	void blockWrite(fuse_req_t req, std::shared_ptr<EptDevice> e, const char *buf, size_t size);
	static void writeInterrupted(fuse_req_t req, void *data);
	static void readInterrupted(fuse_req_t req, void *data);
	int allocAddress(Vdev &v, uint32_t want, EptDevice *owner); // <0: -errno
	void freeAddress(Vdev &v, uint32_t addr);
	// Linux -> remote; 0 or errno, or -1 when the caller must wait for a buffer.
	int linuxSend(EptDevice &e, const char *buf, size_t size, bool nonblock);
	void remoteSend(Core &core, uint32_t src, uint32_t dst, std::vector<uint8_t> data);
	// A name-service announcement (or destroy) the remote sends.
	void remoteNs(Core &core, const std::string &name, uint32_t addr, bool destroy);
	// A message from the remote: across the link, then delivered.
	void toLinux(Vdev &v, Message &m);
	// A message reaches Linux (rpmsg_recv_single(), rpmsg_ns_cb()).
	void deliverToLinux(Vdev &v, Message &m);
	// The remote takes the next Linux -> remote message: Got; None when
	// there is none (or the core cannot take it); Wait with `due` when the
	// next one is still crossing the link.
	enum class Pull { None, Got, Wait };
	Pull pullMessage(Core &core, Message &m, std::chrono::steady_clock::time_point &due);
	void txBufferFreed(Vdev &v);
	// Link timing: the remote -> Linux direction of one virtio device.
	void rxLinkRun(std::shared_ptr<RxLink> link);
	void stopRxLink(Vdev &v);

	// uevents and helpers
	void emit(const std::string &action, const std::string &devpath, const std::string &subsystem,
		  std::vector<std::pair<std::string, std::string>> props = {});
	Node *sysDir(const std::string &path) { return sys_.mkdirs(sys_.root(), path); }
	void classDeviceFiles(Node *dir, const std::string &devName, int major, int minor,
			      const std::string &parentPath);
	Remote *findRemote(const std::string &key);
	void kworker();
	void queueWork(std::function<void()> fn);
	int nextId(std::set<int> &used);

	SimOptions opt_;
	ModelMutex mutex_;
	Vfs sys_;
	Vfs dev_;
	UeventBroadcaster uevents_;
	std::vector<std::unique_ptr<Remote>> remotes_;
	std::string fwPathParam_;
	std::string release_; // uname -r, for the firmware search path
	std::set<int> virtioIds_, rprocVirtioIds_, ctrlIds_, eptIds_, sharedMinors_;
	std::list<BlockedWrite> blocked_; // writers waiting for a TX buffer
	std::condition_variable_any holdCv_; // `ctl hold-start` / `wait-held` / `release`

	// The kernel's workqueue: crash recovery, delayed work, reaping cores.
	std::thread kworker_;
	std::condition_variable_any kworkCv_;
	std::deque<std::function<void()>> kwork_;
	std::vector<std::pair<std::chrono::steady_clock::time_point, std::function<void()>>> ktimers_;
	bool kstop_ = false;
	std::vector<std::shared_ptr<Core>> deadCores_;
	std::vector<std::shared_ptr<RxLink>> deadLinks_;
	bool started_ = false;
};

} // namespace ampsim
