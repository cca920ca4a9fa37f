// SPDX-License-Identifier: MIT
// FUSE low-level operations over the simulator's node tree.
#include "vfs.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ampsim {

unsigned DeviceFile::poll(fuse_pollhandle *ph)
{
	if (ph) {
		if (pollHandle_)
			fuse_pollhandle_destroy(pollHandle_);
		pollHandle_ = ph;
	}
	return 0;
}

void DeviceFile::wakePollers()
{
	// The kernel asks again after a notification and hands us a new handle.
	if (pollHandle_) {
		fuse_lowlevel_notify_poll(pollHandle_);
		fuse_pollhandle_destroy(pollHandle_);
		pollHandle_ = nullptr;
	}
}

void DeviceFile::dropPollHandle()
{
	if (pollHandle_) {
		fuse_pollhandle_destroy(pollHandle_);
		pollHandle_ = nullptr;
	}
}

std::string Node::path() const
{
	if (!parent)
		return "";
	std::string p = parent->path();
	return p.empty() ? name : p + "/" + name;
}

namespace {

// What fi->fh points at.
struct OpenHandle {
	std::shared_ptr<Node> node;
	std::string snapshot;                // Attr: the text of the last read at offset 0
	std::shared_ptr<DeviceFile> device;  // Device
};

struct DirHandle {
	std::vector<std::pair<std::string, struct stat>> entries;
};

constexpr double kNoCache = 0.0; // sysfs changes under the reader: never cache

} // namespace

Vfs::Vfs(ModelMutex &mutex, std::string fsname) : mutex_(mutex), fsname_(std::move(fsname))
{
	root_ = std::make_shared<Node>();
	root_->kind = Node::Kind::Dir;
	root_->mode = S_IFDIR | 0755;
	root_->ino = nextIno_++;
	inodes_[root_->ino] = root_;
}

Vfs::~Vfs()
{
	unmount();
}

std::shared_ptr<Node> Vfs::make(Node *parent, const std::string &name, Node::Kind kind, mode_t mode)
{
	auto node = std::make_shared<Node>();
	node->kind = kind;
	node->name = name;
	node->mode = mode;
	node->parent = parent;
	node->ino = nextIno_++;
	auto old = parent->children.find(name);
	if (old != parent->children.end())
		remove(old->second.get());
	parent->children[name] = node;
	inodes_[node->ino] = node;
	return node;
}

Node *Vfs::mkdir(Node *parent, const std::string &name, mode_t mode)
{
	auto it = parent->children.find(name);
	if (it != parent->children.end() && it->second->kind == Node::Kind::Dir)
		return it->second.get();
	return make(parent, name, Node::Kind::Dir, S_IFDIR | mode).get();
}

Node *Vfs::mkdirs(Node *parent, const std::string &path)
{
	size_t pos = 0;
	while (pos < path.size()) {
		size_t slash = path.find('/', pos);
		if (slash == std::string::npos)
			slash = path.size();
		if (slash > pos)
			parent = mkdir(parent, path.substr(pos, slash - pos));
		pos = slash + 1;
	}
	return parent;
}

Node *Vfs::attr(Node *parent, const std::string &name, mode_t mode, std::function<std::string()> show,
		std::function<int(const std::string &)> store)
{
	auto node = make(parent, name, Node::Kind::Attr, S_IFREG | mode);
	node->show = std::move(show);
	node->store = std::move(store);
	node->size = 4096; // what sysfs reports for every attribute
	return node.get();
}

Node *Vfs::link(Node *parent, const std::string &name, const std::string &target)
{
	auto node = make(parent, name, Node::Kind::Link, S_IFLNK | 0777);
	size_t depth = 0;
	for (Node *p = parent; p->parent; p = p->parent)
		++depth;
	std::string text;
	for (size_t i = 0; i < depth; ++i)
		text += "../";
	node->target = text + target;
	node->size = node->target.size();
	return node.get();
}

Node *Vfs::device(Node *parent, const std::string &name, mode_t mode, DeviceOpener opener)
{
	auto node = make(parent, name, Node::Kind::Device, S_IFREG | mode);
	node->opener = std::move(opener);
	return node.get();
}

void Vfs::remove(Node *node)
{
	if (!node || !node->parent || node->removed)
		return;
	// Children first, so every inode in the subtree is marked removed.
	while (!node->children.empty())
		remove(node->children.begin()->second.get());
	node->removed = true;
	Node *parent = node->parent;
	std::shared_ptr<Node> keep = parent->children[node->name];
	parent->children.erase(node->name);
	if (node->lookups == 0)
		inodes_.erase(node->ino);
	// Open files hold their own reference through OpenHandle.
}

Node *Vfs::find(const std::string &path)
{
	Node *node = root_.get();
	size_t pos = 0;
	while (node && pos < path.size()) {
		size_t slash = path.find('/', pos);
		if (slash == std::string::npos)
			slash = path.size();
		if (slash > pos) {
			auto it = node->children.find(path.substr(pos, slash - pos));
			node = it == node->children.end() ? nullptr : it->second.get();
		}
		pos = slash + 1;
	}
	return node;
}

Node *Vfs::byIno(fuse_ino_t ino)
{
	auto it = inodes_.find(ino);
	return it == inodes_.end() ? nullptr : it->second.get();
}

void Vfs::forget(Node *node, uint64_t n)
{
	node->lookups = n > node->lookups ? 0 : node->lookups - n;
	if (node->removed && node->lookups == 0)
		inodes_.erase(node->ino);
}

void Vfs::fillStat(const Node *node, struct stat *st) const
{
	std::memset(st, 0, sizeof(*st));
	st->st_ino = node->ino;
	st->st_mode = node->mode;
	st->st_nlink = node->kind == Node::Kind::Dir ? 2 : 1;
	st->st_size = static_cast<off_t>(node->size);
	st->st_blksize = 4096;
}

struct VfsOps {
	static Vfs *self(fuse_req_t req) { return static_cast<Vfs *>(fuse_req_userdata(req)); }

	static void init(void *userdata, fuse_conn_info *conn)
	{
		// Kernel-cached data would hide the model's changes.
		conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	}

	static void lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
	{
		Vfs *v = self(req);
		ModelLock lock(v->mutex_);
		Node *dir = v->byIno(parent);
		if (!dir || dir->kind != Node::Kind::Dir)
			return (void)fuse_reply_err(req, ENOTDIR);
		auto it = dir->children.find(name);
		if (it == dir->children.end())
			return (void)fuse_reply_err(req, ENOENT);
		fuse_entry_param e{};
		e.ino = it->second->ino;
		e.attr_timeout = kNoCache;
		e.entry_timeout = kNoCache;
		v->fillStat(it->second.get(), &e.attr);
		if (fuse_reply_entry(req, &e) == 0)
			it->second->lookups++;
	}

	static void forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
	{
		Vfs *v = self(req);
		{
			ModelLock lock(v->mutex_);
			if (Node *node = v->byIno(ino))
				v->forget(node, n);
		}
		fuse_reply_none(req);
	}

	static void forgetMulti(fuse_req_t req, size_t count, fuse_forget_data *forgets)
	{
		Vfs *v = self(req);
		{
			ModelLock lock(v->mutex_);
			for (size_t i = 0; i < count; ++i)
				if (Node *node = v->byIno(forgets[i].ino))
					v->forget(node, forgets[i].nlookup);
		}
		fuse_reply_none(req);
	}

	static void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info *)
	{
		Vfs *v = self(req);
		ModelLock lock(v->mutex_);
		Node *node = v->byIno(ino);
		if (!node)
			return (void)fuse_reply_err(req, ENOENT);
		struct stat st;
		v->fillStat(node, &st);
		fuse_reply_attr(req, &st, kNoCache);
	}

	// `echo start > state` truncates first; sysfs ignores that, so do we.
	static void setattr(fuse_req_t req, fuse_ino_t ino, struct stat *, int toSet, fuse_file_info *)
	{
		Vfs *v = self(req);
		ModelLock lock(v->mutex_);
		Node *node = v->byIno(ino);
		if (!node)
			return (void)fuse_reply_err(req, ENOENT);
		if (toSet & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
			return (void)fuse_reply_err(req, EPERM);
		struct stat st;
		v->fillStat(node, &st);
		fuse_reply_attr(req, &st, kNoCache);
	}

	static void readlink(fuse_req_t req, fuse_ino_t ino)
	{
		Vfs *v = self(req);
		ModelLock lock(v->mutex_);
		Node *node = v->byIno(ino);
		if (!node || node->kind != Node::Kind::Link)
			return (void)fuse_reply_err(req, EINVAL);
		fuse_reply_readlink(req, node->target.c_str());
	}

	static void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi)
	{
		Vfs *v = self(req);
		ModelLock lock(v->mutex_);
		Node *node = v->byIno(ino);
		if (!node)
			return (void)fuse_reply_err(req, ENOENT);
		if (node->kind != Node::Kind::Dir)
			return (void)fuse_reply_err(req, ENOTDIR);
		auto *dh = new DirHandle;
		struct stat st;
		v->fillStat(node, &st);
		dh->entries.emplace_back(".", st);
		if (node->parent)
			v->fillStat(node->parent, &st);
		dh->entries.emplace_back("..", st);
		for (auto &[name, child] : node->children) {
			v->fillStat(child.get(), &st);
			dh->entries.emplace_back(name, st);
		}
		fi->fh = reinterpret_cast<uint64_t>(dh);
		v->openDirs_.insert(dh);
		if (fuse_reply_open(req, fi) != 0) {
			v->openDirs_.erase(dh);
			delete dh;
		}
	}

	static void readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info *fi)
	{
		auto *dh = reinterpret_cast<DirHandle *>(fi->fh);
		std::string buf(size, '\0');
		size_t used = 0;
		for (size_t i = static_cast<size_t>(off); i < dh->entries.size(); ++i) {
			auto &[name, st] = dh->entries[i];
			size_t need = fuse_add_direntry(req, nullptr, 0, name.c_str(), nullptr, 0);
			if (used + need > size)
				break;
			fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st,
					  static_cast<off_t>(i + 1));
			used += need;
		}
		fuse_reply_buf(req, buf.data(), used);
	}

	static void releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info *fi)
	{
		Vfs *v = self(req);
		{
			ModelLock lock(v->mutex_);
			v->openDirs_.erase(reinterpret_cast<void *>(fi->fh));
		}
		delete reinterpret_cast<DirHandle *>(fi->fh);
		fuse_reply_err(req, 0);
	}

	static void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi)
	{
		Vfs *v = self(req);
		ModelLock lock(v->mutex_);
		auto it = v->inodes_.find(ino);
		if (it == v->inodes_.end() || it->second->removed)
			return (void)fuse_reply_err(req, ENOENT);
		std::shared_ptr<Node> node = it->second;
		int acc = fi->flags & O_ACCMODE;
		bool wantRead = acc == O_RDONLY || acc == O_RDWR;
		bool wantWrite = acc == O_WRONLY || acc == O_RDWR;
		auto handle = std::make_unique<OpenHandle>();
		handle->node = node;
		if (node->kind == Node::Kind::Attr) {
			// kernfs refuses an open the attribute cannot serve, even to root.
			if ((wantRead && (!node->show || !(node->mode & 0444))) ||
			    (wantWrite && (!node->store || !(node->mode & 0222))))
				return (void)fuse_reply_err(req, EACCES);
		} else if (node->kind == Node::Kind::Device) {
			int err = 0;
			handle->device = node->opener(fi->flags, err);
			if (!handle->device)
				return (void)fuse_reply_err(req, err ? err : ENXIO);
			fi->nonseekable = 1;
		} else {
			return (void)fuse_reply_err(req, EINVAL);
		}
		// Every read and write must reach the model: one syscall, one request.
		fi->direct_io = 1;
		fi->keep_cache = 0;
		OpenHandle *raw = handle.release();
		fi->fh = reinterpret_cast<uint64_t>(raw);
		v->openFiles_.insert(raw);
		if (fuse_reply_open(req, fi) != 0) {
			v->openFiles_.erase(raw);
			if (raw->device)
				raw->device->release();
			delete raw;
		}
	}

	static void read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info *fi)
	{
		Vfs *v = self(req);
		ModelLock lock(v->mutex_);
		auto *h = reinterpret_cast<OpenHandle *>(fi->fh);
		if (h->device)
			return h->device->read(req, size, fi->flags);
		// kernfs: an attribute opened before its device went away reads
		// ENODEV (kernfs_get_active() fails); its show() may point at what
		// went with the device (an rpmsg channel's name, read by ampd's
		// bus scan as the channel is removed, was a use after free).
		if (h->node->removed)
			return (void)fuse_reply_err(req, ENODEV);
		// sysfs (seq_file) regenerates the text when a read starts at 0.
		if (off == 0)
			h->snapshot = h->node->show();
		if (static_cast<size_t>(off) >= h->snapshot.size())
			return (void)fuse_reply_buf(req, nullptr, 0);
		size_t n = std::min(size, h->snapshot.size() - static_cast<size_t>(off));
		fuse_reply_buf(req, h->snapshot.data() + off, n);
	}

	static void write(fuse_req_t req, fuse_ino_t, const char *buf, size_t size, off_t off,
			  fuse_file_info *fi)
	{
		Vfs *v = self(req);
		ModelLock lock(v->mutex_);
		auto *h = reinterpret_cast<OpenHandle *>(fi->fh);
		if (h->device)
			return h->device->write(req, buf, size, fi->flags);
		if (h->node->removed) // as read(): ENODEV, never a store() on what is gone
			return (void)fuse_reply_err(req, ENODEV);
		// sysfs hands at most a page to store(); the rest is cut.
		std::string text(buf, std::min<size_t>(size, 4095));
		int err = h->node->store(text);
		if (err > 0)
			return (void)fuse_reply_err(req, err);
		// A negative result is a short count the kernel's store returned.
		fuse_reply_write(req, err < 0 ? std::min(size, static_cast<size_t>(-err)) : size);
	}

	static void flush(fuse_req_t req, fuse_ino_t, fuse_file_info *)
	{
		fuse_reply_err(req, 0);
	}

	static void release(fuse_req_t req, fuse_ino_t, fuse_file_info *fi)
	{
		Vfs *v = self(req);
		{
			ModelLock lock(v->mutex_);
			auto *h = reinterpret_cast<OpenHandle *>(fi->fh);
			v->openFiles_.erase(h);
			if (h->device) {
				h->device->dropPollHandle();
				h->device->release();
			}
			delete h;
		}
		fuse_reply_err(req, 0);
	}

	static void ioctl(fuse_req_t req, fuse_ino_t, unsigned int cmd, void *, fuse_file_info *fi,
			  unsigned flags, const void *in, size_t inSize, size_t outSize)
	{
		Vfs *v = self(req);
		ModelLock lock(v->mutex_);
		auto *h = reinterpret_cast<OpenHandle *>(fi->fh);
		if (flags & FUSE_IOCTL_COMPAT)
			return (void)fuse_reply_err(req, ENOSYS);
		if (!h->device)
			return (void)fuse_reply_err(req, ENOTTY);
		h->device->ioctl(req, cmd, in, inSize, outSize);
	}

	static void poll(fuse_req_t req, fuse_ino_t, fuse_file_info *fi, fuse_pollhandle *ph)
	{
		Vfs *v = self(req);
		ModelLock lock(v->mutex_);
		auto *h = reinterpret_cast<OpenHandle *>(fi->fh);
		if (!h->device) {
			if (ph)
				fuse_pollhandle_destroy(ph);
			// sysfs attributes without sysfs_notify: always ready
			return (void)fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
		}
		fuse_reply_poll(req, h->device->poll(ph));
	}
};

int Vfs::mount(const std::string &dir, int threads)
{
	static const fuse_lowlevel_ops ops = [] {
		fuse_lowlevel_ops o{};
		o.init = VfsOps::init;
		o.lookup = VfsOps::lookup;
		o.forget = VfsOps::forget;
		o.forget_multi = VfsOps::forgetMulti;
		o.getattr = VfsOps::getattr;
		o.setattr = VfsOps::setattr;
		o.readlink = VfsOps::readlink;
		o.opendir = VfsOps::opendir;
		o.readdir = VfsOps::readdir;
		o.releasedir = VfsOps::releasedir;
		o.open = VfsOps::open;
		o.read = VfsOps::read;
		o.write = VfsOps::write;
		o.flush = VfsOps::flush;
		o.release = VfsOps::release;
		o.ioctl = VfsOps::ioctl;
		o.poll = VfsOps::poll;
		return o;
	}();
	// auto_unmount: fusermount3 removes the mount if we are killed.
	std::string opts = "allow_other,default_permissions,auto_unmount,subtype=ampsim,fsname=" + fsname_;
	const char *argv[] = {"ampsim", "-o", opts.c_str()};
	fuse_args args = FUSE_ARGS_INIT(3, const_cast<char **>(argv));
	session_ = fuse_session_new(&args, &ops, sizeof(ops), this);
	fuse_opt_free_args(&args);
	if (!session_)
		return EINVAL;
	if (fuse_session_mount(session_, dir.c_str()) != 0) {
		fuse_session_destroy(session_);
		session_ = nullptr;
		return EIO;
	}
	mountpoint_ = dir;
	int fd = fuse_session_fd(session_);
	// Non-blocking so that a worker that lost the race for a request goes
	// back to poll(), where it also sees the stop event.
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	stopFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (int i = 0; i < threads; ++i)
		threads_.emplace_back([this] { serve(); });
	return 0;
}

void Vfs::serve()
{
	fuse_buf buf{};
	pollfd fds[2] = {{fuse_session_fd(session_), POLLIN, 0}, {stopFd_, POLLIN, 0}};
	while (!stopping_ && !fuse_session_exited(session_)) {
		if (::poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			break;
		int res = fuse_session_receive_buf(session_, &buf);
		if (res == -EAGAIN || res == -EINTR)
			continue;
		if (res <= 0)
			break;
		fuse_session_process_buf(session_, &buf);
	}
	free(buf.mem);
}

void Vfs::unmount()
{
	if (!session_)
		return;
	stopping_ = true;
	uint64_t one = 1;
	(void)!::write(stopFd_, &one, sizeof(one));
	for (auto &t : threads_)
		t.join();
	threads_.clear();
	if (abortHook_)
		abortHook_();
	{
		ModelLock lock(mutex_);
		for (void *p : openFiles_) {
			auto *h = static_cast<OpenHandle *>(p);
			if (h->device)
				h->device->dropPollHandle();
			delete h;
		}
		openFiles_.clear();
		for (void *p : openDirs_)
			delete static_cast<DirHandle *>(p);
		openDirs_.clear();
	}
	fuse_session_unmount(session_);
	// Closing the device aborts the connection: processes that still hold
	// files get ENOTCONN instead of waiting forever.
	fuse_session_destroy(session_);
	session_ = nullptr;
	close(stopFd_);
	stopFd_ = -1;
}

} // namespace ampsim
