// SPDX-License-Identifier: MIT
// Security checks end to end: who may do what over the control socket (every
// request of docs/protocol.md, as each kind of peer), the socket's mode and
// group, and that no request, however hostile its arguments, makes ampd
// write anywhere but the simulated sysfs and /dev, its socket, its state
// directory and the proxy's directory (watched with fanotify on every file
// system of the mount namespace, filtered to ampd's pid).
#include "ampd_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace amp::e2e {
namespace {

using test::Credentials;
using test::layoutTestName;

const std::string kSecond = "r5-1";       // configured, nobody but root may control it
const std::string kUnlisted = "remoteproc2"; // not in the configuration: root only

constexpr gid_t kSocketGroup = 4242;
constexpr gid_t kWildcardGroup = 4303; // allow.channels "*" of r5-1
constexpr uid_t kMember = 4300;        // in the socket's group, in no allow list
constexpr uid_t kController = 4301;    // allow.control of r5-0
constexpr uid_t kChannelUser = 4302;   // allow.channels of r5-0's demo channel only
constexpr uid_t kWildcardUser = 4304;  // in kWildcardGroup
constexpr uid_t kStranger = 65534;     // not even in the socket's group

// ---- requests as another user: raw packets from a forked child ----

// What one request on a fresh connection got back.
struct RawReply {
	int connectErrno = 0; // connect() failed with this
	int ioErrno = 0;      // send() or recvmsg() failed with this
	int fds = 0;          // file descriptors that came with the reply
	std::string packet;

	// "ok", an errno name ("EACCES"), "connect:EACCES" or "io:ETIMEDOUT".
	std::string outcome() const
	{
		if (connectErrno)
			return std::string("connect:") + strerrorname_np(connectErrno);
		if (ioErrno)
			return std::string("io:") + strerrorname_np(ioErrno);
		json j = json::parse(packet, nullptr, false);
		if (!j.is_object())
			return "unparsable:" + packet;
		if (j.value("ok", false))
			return "ok";
		return j["error"].value("code", "?");
	}
};

// Each packet sent on a connection of its own (so a subscription's events or
// a stream never mix with the next reply) by a child process with `who`'s
// credentials (nullopt: root), one reply read for each. The child only makes
// system calls on buffers allocated before fork(): the test binary has
// threads, so nothing that may take a lock runs after fork().
std::vector<RawReply> requestAs(const std::optional<Credentials> &who, const std::string &socketPath,
				const std::vector<std::string> &packets)
{
	std::vector<RawReply> replies(packets.size());
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (socketPath.size() >= sizeof addr.sun_path) {
		ADD_FAILURE() << "socket path too long";
		return replies;
	}
	std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size());
	std::vector<char> buffer(70000);
	std::vector<gid_t> groups = who ? who->groups : std::vector<gid_t>{};
	int pipeFds[2];
	if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
		ADD_FAILURE() << "pipe2: " << strerror(errno);
		return replies;
	}
	pid_t child = ::fork();
	if (child == 0) {
		::close(pipeFds[0]);
		if (who && (::syscall(SYS_setgroups, groups.size(), groups.data()) != 0 ||
			    ::syscall(SYS_setresgid, who->gid, who->gid, who->gid) != 0 ||
			    ::syscall(SYS_setresuid, who->uid, who->uid, who->uid) != 0))
			::_exit(100);
		for (const std::string &packet : packets) {
			int32_t head[4] = {0, 0, 0, 0}; // connect errno, io errno, fds, length
			int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
			timeval tv{30, 0};
			::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
			if (::connect(s, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
				head[0] = errno;
			} else if (::send(s, packet.data(), packet.size(), MSG_NOSIGNAL) < 0) {
				head[1] = errno;
			} else {
				alignas(cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))];
				iovec iov{buffer.data(), buffer.size()};
				msghdr msg{};
				msg.msg_iov = &iov;
				msg.msg_iovlen = 1;
				msg.msg_control = control;
				msg.msg_controllen = sizeof control;
				ssize_t n = ::recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
				if (n < 0) {
					head[1] = errno;
				} else {
					head[3] = static_cast<int32_t>(n);
					for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
						if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
							size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
							int fds[8];
							std::memcpy(fds, CMSG_DATA(c), count * sizeof(int));
							for (size_t i = 0; i < count; ++i)
								::close(fds[i]);
							head[2] += static_cast<int32_t>(count);
						}
				}
			}
			::close(s);
			if (::write(pipeFds[1], head, sizeof head) != sizeof head ||
			    (head[3] > 0 && ::write(pipeFds[1], buffer.data(), size_t(head[3])) != head[3]))
				::_exit(101);
		}
		::_exit(0);
	}
	::close(pipeFds[1]);
	if (child < 0) {
		::close(pipeFds[0]);
		ADD_FAILURE() << "fork: " << strerror(errno);
		return replies;
	}
	std::string all;
	char chunk[65536];
	for (ssize_t n; (n = ::read(pipeFds[0], chunk, sizeof chunk)) != 0;) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		all.append(chunk, size_t(n));
	}
	::close(pipeFds[0]);
	int status = 0;
	::waitpid(child, &status, 0);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the requesting child: status " << status;
	size_t at = 0;
	for (RawReply &r : replies) {
		int32_t head[4];
		if (all.size() < at + sizeof head)
			break;
		std::memcpy(head, all.data() + at, sizeof head);
		at += sizeof head;
		r.connectErrno = head[0];
		r.ioErrno = head[1];
		r.fds = head[2];
		r.packet = all.substr(at, size_t(head[3]));
		at += size_t(head[3]);
	}
	return replies;
}

std::string request(json body, uint64_t id)
{
	body["id"] = id;
	return body.dump();
}

// ---- every write ampd makes, seen by fanotify ----

// Every file system of this mount namespace (which ampd shares) is watched
// from before ampd starts until after it exits:
// - where the kernel can report file handles for a whole file system
//   (ext4, tmpfs, devtmpfs, cgroup), a FAN_MARK_FILESYSTEM mark in
//   FAN_REPORT_DFID_NAME mode reports creation, deletion, renames, attribute
//   changes (chmod, chown), modification and close-after-write, each with
//   its directory (resolved with open_by_handle_at()) and name;
// - ampsim's FUSE mounts (sys/ and dev/) have no fsid, which a file system
//   mark needs: every directory in them gets an inode mark of its own
//   instead (same events, for the directory's entries), its handle noted to
//   resolve events; rescan() marks the directories that appeared since
//   (the simulator makes them without the VFS, so no event announces them);
// - where handles are not supported at all (proc, sysfs, devpts: nothing
//   can be created there, only written), a classic mark reports
//   modification and close-after-write with an fd of the file, resolved
//   through /proc/self/fd.
// fanotify reports the writer's pid (the thread group's: ampd's worker
// thread counts as ampd). The file system marks see the whole machine's
// writes to those file systems; only those of this process's children are
// kept (deciding by the parent needs no pid known in advance, so no write
// of a child can be read before its pid is known), and the queues are
// unlimited, so nothing overflows.
class WriteWatch {
public:
	struct Write {
		std::string path; // resolved, or "<mount>/?/<name>" when the directory is unknown
		std::string name; // the last component
		std::string mount;
		uint64_t mask = 0;
		int group = -1;     // FID events: resolved at writesBy() from
		std::string dirKey; // the directory's handle
		std::string objKey; // the object's own handle
	};

	WriteWatch()
	{
		std::ifstream mountinfo("/proc/self/mountinfo");
		std::set<std::string> seen; // major:minor: one mark a super block
		for (std::string line; std::getline(mountinfo, line);) {
			std::istringstream in(line);
			std::string id, parent, dev, root, point;
			in >> id >> parent >> dev >> root >> point;
			std::string fstype;
			if (size_t dash = line.find(" - "); dash != std::string::npos)
				std::istringstream(line.substr(dash + 3)) >> fstype;
			point = unescape(point);
			if (!seen.insert(dev).second)
				continue;
			add(point, fstype);
		}
		if (::pipe2(stop_, O_CLOEXEC) != 0)
			ADD_FAILURE() << "pipe2: " << strerror(errno);
		reader_ = std::thread([this] { run(); });
	}
	~WriteWatch() { finish(); }
	WriteWatch(const WriteWatch &) = delete;
	WriteWatch &operator=(const WriteWatch &) = delete;

	// Mark the directories of the FUSE mounts made since the last time.
	void rescan()
	{
		for (auto &g : groups_)
			if (g.perDirectory)
				markTree(g, g.mount);
	}
	// Read what is queued and stop.
	void finish()
	{
		if (reader_.joinable()) {
			(void)!::write(stop_[1], "x", 1);
			reader_.join();
		}
		for (auto &g : groups_) {
			if (g.fd >= 0)
				::close(g.fd);
			if (g.mountFd >= 0)
				::close(g.mountFd);
			g.fd = g.mountFd = -1;
		}
		for (int &fd : stop_)
			if (fd >= 0)
				::close(fd), fd = -1;
	}
	// Name a directory, so that events in it resolve to its path where the
	// kernel cannot decode handles back (this machine's ext4 answers
	// open_by_handle_at() with ENOENT): an event in a directory neither
	// named nor decodable stays "<mount>/?/name", which no rule allows.
	void know(const std::string &dir)
	{
		struct stat st{};
		if (::stat(dir.c_str(), &st) != 0)
			return;
		std::string key = pathHandleKey(dir);
		if (key.empty())
			return;
		std::lock_guard lock(mutex_);
		for (auto &g : groups_)
			if (g.fid && g.dev == st.st_dev)
				g.dirs[key] = dir;
	}
	std::vector<Write> writesBy(pid_t pid)
	{
		std::vector<Write> out;
		{
			std::lock_guard lock(mutex_);
			auto it = writes_.find(pid);
			if (it != writes_.end())
				out = it->second;
		}
		// An event with no directory (a file's link count dropping as it is
		// unlinked: the attribute change of an inode without a name any
		// more) takes the path another event of the same object had.
		std::map<std::string, std::string> objects;
		for (auto &w : out)
			if (w.group >= 0 && !w.dirKey.empty()) {
				w.path = resolveDir(groups_[size_t(w.group)], w.dirKey) + "/" + w.name;
				if (!w.objKey.empty())
					objects[std::to_string(w.group) + "/" + w.objKey] = w.path;
			}
		for (auto &w : out)
			if (w.group >= 0 && w.dirKey.empty()) {
				auto it = objects.find(std::to_string(w.group) + "/" + w.objKey);
				if (it != objects.end()) {
					w.path = it->second;
					w.name = w.path.substr(w.path.rfind('/') + 1);
				}
			}
		return out;
	}
	const std::vector<std::string> &watched() const { return watched_; }
	const std::vector<std::string> &unwatched() const { return unwatched_; }
	bool overflowed() const { return overflow_; }

	static std::string describe(uint64_t mask)
	{
		std::string s;
		for (auto [bit, name] : std::initializer_list<std::pair<uint64_t, const char *>>{
			     {FAN_CREATE, "create"}, {FAN_DELETE, "delete"}, {FAN_MOVED_FROM, "moved-from"},
			     {FAN_MOVED_TO, "moved-to"}, {FAN_ATTRIB, "attrib"}, {FAN_MODIFY, "modify"},
			     {FAN_CLOSE_WRITE, "close-write"}, {FAN_ONDIR, "dir"}})
			if (mask & bit)
				s += (s.empty() ? "" : "|") + std::string(name);
		return s;
	}

private:
	static constexpr uint64_t kFidMask = FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ATTRIB |
					     FAN_MODIFY | FAN_CLOSE_WRITE | FAN_ONDIR;
	struct Group {
		int fd = -1;
		int mountFd = -1; // for open_by_handle_at
		bool fid = false;
		bool perDirectory = false; // FUSE: inode marks, handles looked up in `dirs`
		std::map<std::string, std::string> dirs; // handle -> path (guarded by mutex_)
		std::string mount;
		dev_t dev = 0;
	};

	static std::string unescape(const std::string &s)
	{
		std::string out;
		for (size_t i = 0; i < s.size(); ++i) {
			if (s[i] == '\\' && i + 3 < s.size()) {
				out += char(std::stoi(s.substr(i + 1, 3), nullptr, 8));
				i += 3;
			} else {
				out += s[i];
			}
		}
		return out;
	}
	// A handle as a map key: its type, then its bytes.
	static std::string handleKey(int type, const char *bytes, unsigned size)
	{
		return std::to_string(type) + ":" + std::string(bytes, size);
	}
	// The key of `path`'s handle (name_to_handle_at()); "" when it has none.
	static std::string pathHandleKey(const std::string &path)
	{
		alignas(file_handle) char space[sizeof(file_handle) + MAX_HANDLE_SZ];
		auto *fh = reinterpret_cast<file_handle *>(space);
		fh->handle_bytes = MAX_HANDLE_SZ;
		int mountId;
		if (::name_to_handle_at(AT_FDCWD, path.c_str(), fh, &mountId, 0) != 0)
			return "";
		return handleKey(fh->handle_type, reinterpret_cast<const char *>(fh->f_handle), fh->handle_bytes);
	}
	// The key of the handle in an event's FID record (struct file_handle,
	// then handle_bytes of handle), its size in `bytes`; "" when it claims
	// more than MAX_HANDLE_SZ.
	static std::string recordHandleKey(const char *record, unsigned *bytes)
	{
		file_handle head{};
		std::memcpy(&head, record, sizeof head);
		if (head.handle_bytes > MAX_HANDLE_SZ)
			return "";
		*bytes = head.handle_bytes;
		return handleKey(head.handle_type, record + sizeof(file_handle), head.handle_bytes);
	}
	static int fidGroup()
	{
		return ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE |
					       FAN_REPORT_DFID_NAME | FAN_REPORT_FID,
				       O_RDONLY);
	}

	void markTree(Group &g, const std::string &dir)
	{
		if (::fanotify_mark(g.fd, FAN_MARK_ADD, kFidMask | FAN_EVENT_ON_CHILD, AT_FDCWD, dir.c_str()) != 0) {
			// A directory the simulator removed since it was listed is
			// no place ampd can write to either.
			if (errno != ENOENT)
				ADD_FAILURE() << "fanotify_mark " << dir << ": " << strerror(errno);
			return;
		}
		if (std::string key = pathHandleKey(dir); !key.empty()) {
			std::lock_guard lock(mutex_);
			g.dirs[key] = dir;
		}
		for (const auto &name : test::listDir(dir)) {
			struct stat st{};
			std::string path = dir + "/" + name;
			if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
				markTree(g, path);
		}
	}

	void add(const std::string &mount, const std::string &fstype)
	{
		Group g;
		g.mount = mount;
		struct stat st{};
		if (::stat(mount.c_str(), &st) == 0)
			g.dev = st.st_dev;
		g.fd = fidGroup();
		if (g.fd >= 0 && ::fanotify_mark(g.fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, kFidMask, AT_FDCWD, mount.c_str()) == 0) {
			g.fid = true;
			g.mountFd = ::open(mount.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
			watched_.push_back(mount + " (" + fstype + ", file system)");
			groups_.push_back(std::move(g));
			return;
		}
		if (fstype.rfind("fuse", 0) == 0) {
			// Never a classic mark here: it opens each written file to
			// report it, and that open would reach ampsim (on 5.15 an
			// endpoint opens exclusively).
			g.fid = g.perDirectory = true;
			watched_.push_back(mount + " (" + fstype + ", every directory)");
			groups_.push_back(std::move(g));
			markTree(groups_.back(), mount);
			return;
		}
		if (g.fd >= 0)
			::close(g.fd);
		g.fd = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
				       O_RDONLY | O_NONBLOCK | O_LARGEFILE | O_NOATIME);
		if (g.fd >= 0 && ::fanotify_mark(g.fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_MODIFY | FAN_CLOSE_WRITE,
						 AT_FDCWD, mount.c_str()) == 0) {
			watched_.push_back(mount + " (" + fstype + ", contents)");
			groups_.push_back(std::move(g));
			return;
		}
		unwatched_.push_back(mount + " (" + fstype + "): " + strerror(errno));
		if (g.fd >= 0)
			::close(g.fd);
	}

	bool childOfUs(pid_t pid)
	{
		auto it = parents_.find(pid);
		if (it != parents_.end())
			return it->second;
		std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
		std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
		bool ours;
		size_t close = text.rfind(')');
		if (close == std::string::npos) {
			ours = true; // gone already: keep it, the pid decides later
		} else {
			std::istringstream rest(text.substr(close + 2));
			std::string state;
			pid_t ppid = 0;
			rest >> state >> ppid;
			ours = ppid == ::getpid();
		}
		return parents_[pid] = ours;
	}

	std::string resolveDir(const Group &g, const std::string &key)
	{
		{
			std::lock_guard lock(mutex_);
			if (auto it = g.dirs.find(key); it != g.dirs.end())
				return it->second;
		}
		if (g.perDirectory || g.mountFd < 0 || key.size() < 2)
			return g.mount + "/?";
		// key: "<type>:<bytes>"
		size_t colon = key.find(':');
		std::string bytes = key.substr(colon + 1);
		alignas(file_handle) char space[sizeof(file_handle) + MAX_HANDLE_SZ] = {};
		auto *fh = reinterpret_cast<file_handle *>(space);
		fh->handle_type = std::stoi(key.substr(0, colon));
		fh->handle_bytes = unsigned(std::min<size_t>(bytes.size(), MAX_HANDLE_SZ));
		std::memcpy(fh->f_handle, bytes.data(), fh->handle_bytes);
		int fd = ::open_by_handle_at(g.mountFd, fh, O_PATH | O_CLOEXEC);
		if (fd < 0)
			return g.mount + "/?";
		char target[4096];
		ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof target - 1);
		::close(fd);
		return n > 0 ? std::string(target, size_t(n)) : g.mount + "/?";
	}

	// Events are packed (a name makes one any length), so every header is
	// copied out before it is read.
	void read(Group &g)
	{
		alignas(fanotify_event_metadata) char buf[65536];
		for (;;) {
			ssize_t n = ::read(g.fd, buf, sizeof buf);
			if (n <= 0)
				return;
			for (size_t at = 0; at + sizeof(fanotify_event_metadata) <= size_t(n);) {
				fanotify_event_metadata m;
				std::memcpy(&m, buf + at, sizeof m);
				if (m.event_len < sizeof m || at + m.event_len > size_t(n))
					break;
				const char *event = buf + at;
				at += m.event_len;
				if (m.mask & FAN_Q_OVERFLOW)
					overflow_ = true;
				bool ours = m.pid > 0 && childOfUs(m.pid);
				Write w;
				w.mount = g.mount;
				w.mask = m.mask;
				if (!g.fid) {
					if (m.fd >= 0) {
						if (ours) {
							char target[4096];
							ssize_t k = ::readlink(("/proc/self/fd/" + std::to_string(m.fd)).c_str(),
									       target, sizeof target - 1);
							w.path = k > 0 ? std::string(target, size_t(k)) : g.mount + "/?";
						}
						::close(m.fd);
					}
				} else if (ours) {
					for (size_t info = m.metadata_len; info + sizeof(fanotify_event_info_fid) <= m.event_len;) {
						fanotify_event_info_fid fid;
						std::memcpy(&fid, event + info, sizeof fid);
						if (fid.hdr.len == 0 || info + fid.hdr.len > m.event_len)
							break;
						const bool object = fid.hdr.info_type == FAN_EVENT_INFO_TYPE_FID;
						if (object || fid.hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) {
							const char *handle = event + info + sizeof fid;
							unsigned bytes = 0;
							std::string key = recordHandleKey(handle, &bytes);
							if (!key.empty()) {
								w.group = int(&g - groups_.data());
								if (object) {
									w.objKey = key;
								} else {
									// The directory's handle, then the name, NUL-terminated.
									w.name = handle + sizeof(file_handle) + bytes;
									w.dirKey = key;
									w.path = g.mount + "/?/" + w.name;
								}
							}
						}
						info += fid.hdr.len;
					}
					if (w.path.empty()) // an event on a marked directory itself
						w.path = g.mount + "/?";
				}
				if (!ours)
					continue;
				if (w.name.empty())
					w.name = w.path.substr(w.path.rfind('/') + 1);
				std::lock_guard lock(mutex_);
				writes_[m.pid].push_back(std::move(w));
			}
		}
	}

	void run()
	{
		for (;;) {
			std::vector<pollfd> p;
			p.push_back({stop_[0], POLLIN, 0});
			for (const auto &g : groups_)
				p.push_back({g.fd, POLLIN, 0});
			if (::poll(p.data(), p.size(), -1) < 0 && errno != EINTR)
				return;
			bool stopping = p[0].revents != 0;
			// On the way out, read what is queued first.
			for (auto &g : groups_)
				read(g);
			if (stopping)
				return;
		}
	}

	std::vector<Group> groups_; // fixed once the reader runs
	std::vector<std::string> watched_, unwatched_;
	std::map<pid_t, bool> parents_; // reader thread only
	mutable std::mutex mutex_;
	std::map<pid_t, std::vector<Write>> writes_;
	std::atomic<bool> overflow_{false};
	int stop_[2] = {-1, -1};
	std::thread reader_;
};

class Security : public AmpdTest {
protected:
	void SetUp() override
	{
		// Three cores: r5-0 and r5-1 configured, remoteproc2 not.
		simArgs_ = {"--remote", "ffe00000.r5f", "--remote", "ffe00200.r5f", "--remote", "ffe00400.r5f"};
		AmpdTest::SetUp();
		if (IsSkipped() || HasFatalFailure())
			return;
		installMultiEcho();
	}
	static json accessConfig()
	{
		json allow0, allow1;
		allow0["control"]["users"] = json::array({kController});
		allow0["channels"][kDemoChannel]["users"] = json::array({kChannelUser});
		allow1["channels"]["*"]["groups"] = json::array({kWildcardGroup});
		json c = config({{"allow", allow0}}, {{"socket_group", kSocketGroup}, {"socket_mode", "0660"}});
		c["remotes"][kSecond] = {{"remoteproc", 1}, {"allow", allow1}};
		return c;
	}
	std::string proxyDir() const { return dir_.path() + "/proxy-files"; }
};
// Who may do what is decided above the kernel layouts: one layout does.
class SecurityAccess : public Security {};
// What ampd writes differs by layout (5.10 binds rpmsg_chrdev): all three.
class SecurityWrites : public Security {};

// ---- who may do what ----

TEST_P(SecurityAccess, EachPeerMayDoWhatItIsGrantedAndNothingElse)
{
	writeConfig(accessConfig());
	ASSERT_TRUE(startDaemon());
	// Both configured remotes up, so that a refused open is refused for
	// want of a grant, never for want of the channel.
	for (const std::string &remote : {kRemote, kSecond}) {
		RunResult start = ampctl({"start", remote, "--firmware", kMultiEcho});
		ASSERT_EQ(start.exit, kOk) << start.describe();
	}

	struct Row {
		std::string what;
		json body;
		int fds = 0; // file descriptors a success carries
	};
	json open0 = {{"type", "open"}, {"remote", kRemote}, {"channel", kDemoChannel}};
	json direct0 = open0;
	direct0["direct"] = true;
	json addr0 = open0;
	addr0["addr"] = 0x5000;
	json other0 = {{"type", "open"}, {"remote", kRemote}, {"channel", "rpmsg-other-channel"}};
	json open1 = {{"type", "open"}, {"remote", kSecond}, {"channel", kDemoChannel}};
	json direct1 = open1;
	direct1["direct"] = true;
	// Every request type of docs/protocol.md; a failed start of an offline
	// core would be as good a test as a refused one, so the refused
	// control requests aim at running cores (and ask for no change).
	const std::vector<Row> rows = {
		{"hello", {{"type", "hello"}, {"version", 1}, {"client", "security"}}},
		{"status", {{"type", "status"}}},
		{"status r5-0", {{"type", "status"}, {"remote", kRemote}}},
		{"subscribe", {{"type", "subscribe"}}},
		{"channels", {{"type", "channels"}}},
		{"inspect by name", {{"type", "inspect"}, {"firmware", kEcho}}},
		// A path under the root ampd serves (the simulator's): root may.
		{"inspect by path", {{"type", "inspect"}, {"firmware", "/lib/firmware/" + kEcho}}},
		{"open r5-0 relay", open0, 1},
		{"open r5-0 direct", direct0, 2},
		{"open r5-0 at addr", addr0, 1},
		{"open r5-0 other channel", other0, 1},
		{"open r5-1 relay", open1, 1},
		{"open r5-1 direct", direct1, 2},
		{"stop r5-1", {{"type", "stop"}, {"remote", kSecond}}},
		{"start r5-1", {{"type", "start"}, {"remote", kSecond}, {"firmware", kMultiEcho}, {"wait", true}}},
		{"restart r5-1", {{"type", "restart"}, {"remote", kSecond}, {"firmware", kMultiEcho}}},
		{"start remoteproc2", {{"type", "start"}, {"remote", kUnlisted}, {"firmware", kMultiEcho}}},
		{"stop remoteproc2", {{"type", "stop"}, {"remote", kUnlisted}}},
		{"stop r5-0", {{"type", "stop"}, {"remote", kRemote}}},
		{"start r5-0", {{"type", "start"}, {"remote", kRemote}, {"firmware", kMultiEcho}}},
		{"restart r5-0", {{"type", "restart"}, {"remote", kRemote}, {"firmware", kMultiEcho}}},
	};
	struct Peer {
		std::string name;
		std::optional<Credentials> who;
		// Outcome per row; rows not listed are "ok".
		std::map<std::string, std::string> except;
	};
	const std::string denied = "EACCES";
	auto refuseControl = [&](std::map<std::string, std::string> m) {
		for (const char *r : {"stop r5-1", "start r5-1", "restart r5-1", "start remoteproc2", "stop remoteproc2",
				      "stop r5-0", "start r5-0", "restart r5-0"})
			m.emplace(r, denied);
		m.emplace("inspect by path", "EPERM");
		return m;
	};
	const std::vector<std::string> opens = {"open r5-0 relay", "open r5-0 direct", "open r5-0 at addr",
						"open r5-0 other channel", "open r5-1 relay", "open r5-1 direct"};
	auto refuseOpens = [&](std::map<std::string, std::string> m, const std::set<std::string> &allowed) {
		for (const auto &o : opens)
			if (!allowed.count(o))
				m.emplace(o, denied);
		return m;
	};
	std::map<std::string, std::string> strangerOutcome;
	for (const Row &r : rows)
		strangerOutcome[r.what] = "connect:EACCES";
	const std::vector<Peer> peers = {
		{"stranger (not in the socket's group)", Credentials{kStranger, kStranger, {}}, strangerOutcome},
		{"member of the socket's group", Credentials{kMember, kMember, {kSocketGroup}},
		 refuseOpens(refuseControl({}), {})},
		{"allow.channels of r5-0's demo channel", Credentials{kChannelUser, kChannelUser, {kSocketGroup}},
		 refuseOpens(refuseControl({}), {"open r5-0 relay", "open r5-0 direct", "open r5-0 at addr"})},
		{"allow.channels \"*\" of r5-1 by group", Credentials{kWildcardUser, kWildcardUser, {kSocketGroup, kWildcardGroup}},
		 refuseOpens(refuseControl({}), {"open r5-1 relay", "open r5-1 direct"})},
		// Control of r5-0 is also every channel of r5-0, and nothing of r5-1.
		{"allow.control of r5-0", Credentials{kController, kController, {kSocketGroup}},
		 [&] {
			 std::map<std::string, std::string> m = {{"inspect by path", "EPERM"},
								 {"open r5-0 other channel", "ENOENT"}};
			 for (const char *r : {"stop r5-1", "start r5-1", "restart r5-1", "start remoteproc2",
					       "stop remoteproc2", "open r5-1 relay", "open r5-1 direct"})
				 m.emplace(r, denied);
			 return m;
		 }()},
		{"root", std::nullopt, {{"open r5-0 other channel", "ENOENT"}}},
	};

	std::ostringstream table;
	uint32_t nextAddr = 0x5000;
	for (const Peer &peer : peers) {
		SCOPED_TRACE(peer.name);
		// An address of its own for each peer: the previous peer's
		// endpoint there may still be on its way out.
		std::vector<std::string> packets;
		for (size_t i = 0; i < rows.size(); ++i) {
			json body = rows[i].body;
			if (body.contains("addr"))
				body["addr"] = nextAddr++;
			packets.push_back(request(body, 100 + i));
		}
		std::vector<RawReply> replies = requestAs(peer.who, socketPath_, packets);
		table << "  " << peer.name << ":";
		for (size_t i = 0; i < rows.size(); ++i) {
			auto it = peer.except.find(rows[i].what);
			std::string want = it == peer.except.end() ? "ok" : it->second;
			std::string got = replies[i].outcome();
			table << " " << rows[i].what << "=" << got << (got == "ok" && rows[i].fds ? "+" + std::to_string(replies[i].fds) + "fd" : "") << ";";
			EXPECT_EQ(got, want) << rows[i].what << ": " << replies[i].packet;
			if (got == "ok")
				EXPECT_EQ(replies[i].fds, rows[i].fds) << rows[i].what;
			else
				EXPECT_EQ(replies[i].fds, 0) << rows[i].what << ": a refusal carries no fd";
		}
		table << "\n";
		// A refusal changed nothing: both cores still run (the controller
		// and root restarted r5-0 and r5-1, which also ends running).
		EXPECT_EQ(attr("state"), "running");
		EXPECT_EQ(test::readText(sim_.rproc(1) + "/state").value_or(""), "running\n");
		EXPECT_EQ(test::readText(sim_.rproc(2) + "/state").value_or(""), "offline\n");
	}
	std::cout << "    access matrix (outcome per request):\n" << table.str();
	// Every refusal is in ampd's log with the peer's uid.
	std::string log = daemonLog();
	EXPECT_NE(log.find("refused: not allowed"), std::string::npos) << log;
}

TEST_P(SecurityAccess, TheSocketHasTheConfiguredModeAndGroupAndAmpdMakesNoOtherFile)
{
	// A socket in a directory ampd has to make (mode 0755, like
	// RuntimeDirectoryMode=), with mode 0640: the group may not even connect.
	const std::string runDir = dir_.path() + "/run";
	socketPath_ = runDir + "/ampd.sock";
	writeConfig(config(json::object(), {{"socket_group", kSocketGroup}, {"socket_mode", "0640"}}));
	ASSERT_TRUE(startDaemon());
	struct stat st{};
	ASSERT_EQ(::lstat(socketPath_.c_str(), &st), 0);
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0640u);
	EXPECT_EQ(st.st_uid, 0u);
	EXPECT_EQ(st.st_gid, kSocketGroup);
	ASSERT_EQ(::stat(runDir.c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 07777, 0755u);
	// Write permission is what connect() needs: the group has none now.
	std::vector<RawReply> member =
		requestAs(Credentials{kMember, kMember, {kSocketGroup}}, socketPath_, {request({{"type", "status"}}, 1)});
	EXPECT_EQ(member[0].outcome(), "connect:EACCES");
	// ampd keeps nothing in its state directory.
	RunResult start = ampctl({"start", kRemote, "--firmware", kEcho});
	EXPECT_EQ(start.exit, kOk) << start.describe();
	EXPECT_EQ(test::listDir(dir_.path() + "/state"), std::vector<std::string>{});
	// The socket goes with ampd.
	EXPECT_EQ(ampd_.terminate(5s), 0);
	EXPECT_FALSE(test::exists(socketPath_));
}

TEST_P(SecurityAccess, AWorldAccessibleSocketModeIsAConfigurationError)
{
	for (const char *mode : {"0666", "0662", "0604"}) {
		writeConfig(config(json::object(), {{"socket_mode", mode}}));
		SpawnOptions so;
		Process p = Process::spawn({AMPD_BINARY, "--root", sim_.root(), "--config", configPath_, "--socket", socketPath_},
					   so);
		RunResult r = p.wait(10s);
		EXPECT_EQ(r.exit, 78) << mode << "\n" << r.describe();
		EXPECT_FALSE(test::exists(socketPath_)) << mode;
	}
}

// ---- no write outside ----

TEST_P(SecurityWrites, NoRequestMakesAmpdWriteOutsideSysfsDevItsSocketStateAndProxyDirectories)
{
	const std::string console = dir_.path() + "/console.log";
	json c = accessConfig();
	c["remotes"][kRemote]["proxy"] = {{"enabled", true}, {"channel", kDemoChannel}, {"directory", proxyDir()},
					  {"console", "file:" + console}};
	c["remotes"][kRemote]["restart"] = {{"policy", "never"}};
	writeConfig(c);
	std::optional<WriteWatch> watch;
	watch.emplace();
	ASSERT_FALSE(watch->watched().empty());
	std::cout << "    watched: " << testing::PrintToString(watch->watched())
		  << "\n    not watchable: " << testing::PrintToString(watch->unwatched()) << "\n";
	ASSERT_TRUE(startDaemon());
	const pid_t ampd = ampd_.pid();

	// The proxy demo, so that the proxy's writes are among those seen.
	RunResult rpc = ampctl({"start", kRemote, "--firmware", kRpc});
	ASSERT_EQ(rpc.exit, kOk) << rpc.describe();
	ASSERT_TRUE(test::waitUntil([&] { return daemonLog().find("proxy session over (") != std::string::npos; }, 30s))
		<< daemonLog();
	ASSERT_EQ(ampctl({"stop", kRemote}).exit, kOk);
	ASSERT_EQ(ampctl({"start", kRemote, "--firmware", kMultiEcho}).exit, kOk);
	// The directories the simulator made meanwhile (the channel's device).
	watch->rescan();

	// Hostile arguments to every request, as root (who passes every
	// authorization, so each gets as far into ampd as it can), and as a
	// member of the socket's group.
	const std::vector<std::string> names = {
		"../../../../../tmp/x", "/etc/passwd", "..", "a/../../b", "remoteproc0/../remoteproc1", "/", "./",
		std::string(31, '/'), std::string(31, '.'), "rpmsg-openamp-demo-channel/..", "\\..\\..\\x", "%2e%2e%2fx"};
	const std::vector<std::string> firmwares = {
		"../../../etc/passwd", "/etc/passwd", "..", "x/../../../../etc/shadow", "./../image_echo_test",
		std::string(4096, 'a'), std::string(200, '/') + "etc/passwd", "image_echo_test/..", "a\nb", "a b",
		std::string("a\0b", 3), "image_echo_test\n", "....//....//etc/passwd", "lib/firmware/../../../../tmp/x",
		"\xff\xfe", "no-such-dir/no-such-fw"};
	std::vector<std::string> packets;
	uint64_t id = 1;
	auto add = [&](json body) { packets.push_back(request(std::move(body), id++)); };
	for (const auto &n : names) {
		for (const char *type : {"status", "subscribe", "channels", "stop", "start", "restart"})
			add({{"type", type}, {"remote", n}});
		add({{"type", "open"}, {"remote", n}, {"channel", kDemoChannel}});
		add({{"type", "open"}, {"remote", kRemote}, {"channel", n}});
		add({{"type", "open"}, {"remote", kRemote}, {"channel", n}, {"direct", true}});
		add({{"type", "open"}, {"remote", kRemote}, {"channel", n}, {"reattach", true}});
		add({{"type", "inspect"}, {"firmware", n}});
	}
	for (const auto &f : firmwares) {
		json fw = json::parse(json(f).dump(-1, ' ', false, json::error_handler_t::replace));
		add({{"type", "start"}, {"remote", kSecond}, {"firmware", fw}});
		add({{"type", "restart"}, {"remote", kSecond}, {"firmware", fw}});
		add({{"type", "inspect"}, {"firmware", fw}});
	}
	for (uint64_t a : {uint64_t(0), uint64_t(0x400), uint64_t(0xFFFFFFFF), uint64_t(0x100000000)})
		add({{"type", "open"}, {"remote", kRemote}, {"channel", kDemoChannel}, {"addr", a}});
	// Not requests at all, or of types ampd does not have.
	for (const char *type : {"reload", "config", "write", "exec", "shutdown", "set", "proxy", "firmware"})
		add({{"type", type}, {"remote", kRemote}, {"path", "/tmp/x"}, {"firmware", "/etc/passwd"}});
	packets.push_back(std::string(70000, '{'));
	std::string nul = "{\"type\":\"start\",\"id\":9,\"remote\":\"r5-0\",\"firmware\":\"a";
	nul += '\0';
	packets.push_back(nul + "b\"}");
	packets.push_back("{\"type\":\"status\",\"id\":9,\"remote\":\"\xc3\x28\"}");
	packets.push_back(std::string(200, '[') + std::string(200, ']'));
	packets.push_back("not json");

	std::vector<RawReply> asRoot = requestAs(std::nullopt, socketPath_, packets);
	std::vector<RawReply> asMember = requestAs(Credentials{kMember, kMember, {kSocketGroup}}, socketPath_, packets);
	std::map<std::string, int> outcomes;
	for (const auto &r : asRoot)
		outcomes[r.outcome()]++;
	std::cout << "    " << packets.size() << " hostile requests, twice; root's outcomes: " << testing::PrintToString(outcomes)
		  << "\n";
	for (const auto &replies : {asRoot, asMember})
		for (const auto &r : replies)
			EXPECT_TRUE(r.connectErrno == 0 && r.ioErrno == 0) << "every request is answered: " << r.outcome();
	// ampd is fine, and its remotes as they were.
	RunResult status = ampctl({"status"});
	EXPECT_EQ(status.exit, kOk) << status.describe();
	EXPECT_EQ(attr("state"), "running");

	// Its exit writes too (the kernel's recovery back on, the socket gone).
	EXPECT_EQ(ampd_.terminate(10s), 0) << daemonLog();
	watch->finish();
	ASSERT_FALSE(watch->overflowed());
	for (const std::string &d : {dir_.path(), dir_.path() + "/state", proxyDir()})
		watch->know(d);

	// What ampd may write: on the simulated kernel (ampsim's FUSE mounts),
	// a remoteproc's firmware, state and recovery, rpmsg's driver_override
	// and rpmsg_chrdev's bind and unbind (5.10), and the endpoint and control
	// nodes; the socket; its state directory; the proxy's directory and
	// console; and its stdout/stderr, which the test points at ampd.log.
	const std::string sys = sim_.root() + "/sys", dev = sim_.root() + "/dev";
	const std::regex sysNames("firmware|state|recovery|driver_override|bind|unbind");
	const std::regex devNames("rpmsg[0-9]+|rpmsg_ctrl[0-9]+");
	auto under = [](const std::string &path, const std::string &dir) {
		return path == dir || path.rfind(dir + "/", 0) == 0;
	};
	std::set<std::string> seen, outside;
	for (const auto &w : watch->writesBy(ampd)) {
		std::string what = w.path + " (" + WriteWatch::describe(w.mask) + ")";
		seen.insert(what);
		bool allowed = (w.mount == sys && std::regex_match(w.name, sysNames) && !(w.mask & (FAN_CREATE | FAN_DELETE))) ||
			       (w.mount == dev && std::regex_match(w.name, devNames) && !(w.mask & (FAN_CREATE | FAN_DELETE))) ||
			       w.path == socketPath_ || w.path == logPath_ || under(w.path, dir_.path() + "/state") ||
			       under(w.path, proxyDir()) || w.path == console;
		if (!allowed)
			outside.insert(what);
	}
	std::cout << "    ampd's writes (" << seen.size() << " distinct):\n";
	for (const auto &s : seen)
		std::cout << "      " << s << "\n";
	EXPECT_TRUE(outside.empty()) << "ampd wrote outside what it may:\n" << testing::PrintToString(outside);
	// The watch saw ampd's writes where they belong, on every kind of file
	// system involved: else an empty `outside` would prove nothing.
	auto sawName = [&](const std::string &mount, const std::string &name) {
		for (const auto &w : watch->writesBy(ampd))
			if (w.mount == mount && w.name == name)
				return true;
		return false;
	};
	EXPECT_TRUE(sawName(sys, "state")) << "remoteproc's state write was not seen";
	EXPECT_TRUE(sawName(sys, "firmware")) << "remoteproc's firmware write was not seen";
	auto sawPath = [&](const std::string &path, uint64_t mask) {
		for (const auto &w : watch->writesBy(ampd))
			if (w.path == path && (w.mask & mask))
				return true;
		return false;
	};
	EXPECT_TRUE(sawPath(socketPath_, FAN_CREATE)) << "the socket's creation was not seen";
	EXPECT_TRUE(sawPath(socketPath_, FAN_ATTRIB)) << "the socket's chown and chmod were not seen";
	EXPECT_TRUE(sawPath(socketPath_, FAN_DELETE)) << "the socket's removal was not seen";
	EXPECT_TRUE(sawPath(proxyDir() + "/remote.file", FAN_CREATE)) << "the proxy's file was not seen";
	// Nothing outside the simulated kernel was written where the remote
	// asked with a name (the demo's remote.file) but in the directory.
	EXPECT_FALSE(test::exists(dir_.path() + "/remote.file"));
}

INSTANTIATE_TEST_SUITE_P(Layout, SecurityAccess, ::testing::Values("6.1"), layoutTestName);
INSTANTIATE_TEST_SUITE_P(Layouts, SecurityWrites, AMP_ALL_LAYOUTS);

} // namespace
} // namespace amp::e2e
