// SPDX-License-Identifier: MIT
// A sysfs/devtmpfs look-alike served over the FUSE low-level API: a tree of
// directories, attributes (show/store), symlinks and device nodes whose
// semantics (blocking reads, ioctls, poll) are supplied by the kernel model.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fuse_lowlevel.h>

namespace ampsim {

// The model's one lock. Recursive because libfuse may run an interrupt
// callback synchronously from fuse_req_interrupt_func(), which the model
// calls while it holds the lock.
using ModelMutex = std::recursive_mutex;
using ModelLock = std::unique_lock<ModelMutex>;

// One open() of a device node. Every method runs with the model lock held
// and must reply to `req` now or keep it and reply later (a blocking read).
class DeviceFile {
public:
	virtual ~DeviceFile() = default;
	virtual void read(fuse_req_t req, size_t size, int flags) { fuse_reply_err(req, EINVAL); }
	virtual void write(fuse_req_t req, const char *buf, size_t size, int flags)
	{
		fuse_reply_err(req, EINVAL);
	}
	virtual void ioctl(fuse_req_t req, unsigned int cmd, const void *in, size_t inSize,
			   size_t outSize)
	{
		fuse_reply_err(req, ENOTTY);
	}
	// Current revents; `ph` (may be null) is to be notified on change.
	virtual unsigned poll(fuse_pollhandle *ph);
	virtual void release() {}

protected:
	// Tell the kernel to poll again (new data, endpoint gone...).
	void wakePollers();

private:
	fuse_pollhandle *pollHandle_ = nullptr;

public:
	// Forget the poll handle without notifying (release).
	void dropPollHandle();
};

// What a device node does when opened: returns the open file or sets `err`.
using DeviceOpener = std::function<std::shared_ptr<DeviceFile>(int flags, int &err)>;

struct Node {
	enum class Kind { Dir, Attr, Link, Device };
	Kind kind;
	std::string name;
	mode_t mode = 0;
	fuse_ino_t ino = 0;
	Node *parent = nullptr;
	bool removed = false;
	uint64_t lookups = 0;
	std::map<std::string, std::shared_ptr<Node>> children;   // Dir
	std::string target;                                      // Link
	std::function<std::string()> show;                       // Attr (null: write-only)
	std::function<int(const std::string &)> store;           // Attr (null: read-only); 0, errno, or -count written
	DeviceOpener opener;                                     // Device
	size_t size = 0;                                         // st_size reported

	std::string path() const; // relative to the mount root, no leading slash
};

class Vfs {
public:
	Vfs(ModelMutex &mutex, std::string fsname);
	~Vfs();
	Vfs(const Vfs &) = delete;
	Vfs &operator=(const Vfs &) = delete;

	// Tree editing; callers hold the model lock.
	Node *root() { return root_.get(); }
	Node *mkdir(Node *parent, const std::string &name, mode_t mode = 0755);
	// mkdir -p of a '/'-separated path below `parent`.
	Node *mkdirs(Node *parent, const std::string &path);
	Node *attr(Node *parent, const std::string &name, mode_t mode, std::function<std::string()> show,
		   std::function<int(const std::string &)> store = nullptr);
	// A symlink whose target is given relative to the mount root: the link
	// text is made relative to the link's own directory, as sysfs does.
	Node *link(Node *parent, const std::string &name, const std::string &rootRelativeTarget);
	Node *device(Node *parent, const std::string &name, mode_t mode, DeviceOpener opener);
	void remove(Node *node);
	Node *find(const std::string &path); // relative to the root; null if absent

	// Mount on `dir` and serve with `threads` threads. 0 or errno.
	int mount(const std::string &dir, int threads);
	// Stop serving, answer every request still held, lazily unmount and
	// close the connection so that open files get ENOTCONN, not a hang.
	void unmount();

	// For DeviceFile: the FUSE session (poll notifications).
	fuse_session *session() { return session_; }

	// Called by the model on shutdown to answer held requests.
	void setAbortHook(std::function<void()> hook) { abortHook_ = std::move(hook); }

private:
	friend struct VfsOps;
	std::shared_ptr<Node> make(Node *parent, const std::string &name, Node::Kind kind, mode_t mode);
	void forget(Node *node, uint64_t n);
	Node *byIno(fuse_ino_t ino);
	void fillStat(const Node *node, struct stat *st) const;
	void serve();

	ModelMutex &mutex_;
	std::string fsname_;
	std::shared_ptr<Node> root_;
	std::unordered_map<fuse_ino_t, std::shared_ptr<Node>> inodes_;
	fuse_ino_t nextIno_ = FUSE_ROOT_ID;
	fuse_session *session_ = nullptr;
	std::vector<std::thread> threads_;
	int stopFd_ = -1;
	std::atomic<bool> stopping_{false};
	std::function<void()> abortHook_;
	std::string mountpoint_;
	// Open files and directories; those still open at unmount never get a
	// release from the kernel, so unmount() frees them.
	std::unordered_set<void *> openFiles_, openDirs_;
};

} // namespace ampsim
