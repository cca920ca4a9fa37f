// SPDX-License-Identifier: MIT
// The control socket with hostile and careless clients: every bad packet gets
// an error reply and the connection stays; a client that never reads is
// dropped alone; authorization by peer credentials.
#include <gtest/gtest.h>

#include <poll.h>
#include <systemd/sd-event.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>

#include "blocking_worker.hpp"
#include "control_server.hpp"
#include "event_loop.hpp"
#include "manager.hpp"
#include "protocol/protocol.hpp"

using namespace amp;
using namespace amp::daemon;
using namespace std::chrono_literals;

namespace {

class ControlServerTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/ampd-server-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir_ = tmpl;
		socket_ = dir_ + "/ampd.sock";
		auto loop = EventLoop::create();
		ASSERT_TRUE(loop);
		loop_ = std::move(*loop);
		auto worker = BlockingWorker::create(*loop_);
		ASSERT_TRUE(worker);
		worker_ = std::move(*worker);
		// An empty root: no remoteproc class, so no remotes.
		manager_ = std::make_unique<Manager>(*loop_, *worker_, SysfsRoot(dir_), config_);
	}
	void TearDown() override
	{
		server_.reset();
		manager_.reset();
		worker_.reset();
		loop_.reset();
		std::filesystem::remove_all(dir_);
	}

	void serve(ServerLimits limits = {})
	{
		server_ = std::make_unique<ControlServer>(*loop_, *manager_, config_, SysfsRoot(dir_), limits);
		auto r = server_->listen(socket_);
		ASSERT_TRUE(r) << r.error().message();
		ASSERT_TRUE(manager_->start());
	}

	int connectClient()
	{
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		sockaddr_un addr{};
		addr.sun_family = AF_UNIX;
		strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
		EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0) << strerror(errno);
		pump([] { return true; }); // accept
		return fd;
	}

	// Run the daemon's loop in this thread until `done` or the deadline.
	bool pump(const std::function<bool()> &done, std::chrono::milliseconds deadline = 5s)
	{
		auto end = std::chrono::steady_clock::now() + deadline;
		do {
			sd_event_run(loop_->get(), 10000);
			if (done())
				return true;
		} while (std::chrono::steady_clock::now() < end);
		return false;
	}

	bool readable(int fd)
	{
		pollfd p{fd, POLLIN, 0};
		return poll(&p, 1, 0) == 1;
	}

	// Send one packet, run the loop until the answer is there, decode it.
	protocol::Response exchange(int fd, const std::string &packet)
	{
		EXPECT_EQ(send(fd, packet.data(), packet.size(), 0), static_cast<ssize_t>(packet.size()));
		return receive(fd);
	}
	protocol::Response receive(int fd)
	{
		EXPECT_TRUE(pump([&] { return readable(fd); }));
		std::string buf(protocol::kMaxPacket, '\0');
		ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
		EXPECT_GT(n, 0);
		buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
		auto msg = protocol::decodeServerMessage(std::span<const char>(buf.data(), buf.size()));
		EXPECT_TRUE(msg) << buf;
		if (!msg || !std::holds_alternative<protocol::Response>(*msg))
			return {};
		return std::get<protocol::Response>(*msg);
	}

	std::string dir_, socket_;
	Config config_;
	std::unique_ptr<EventLoop> loop_;
	std::unique_ptr<BlockingWorker> worker_;
	std::unique_ptr<Manager> manager_;
	std::unique_ptr<ControlServer> server_;
};

std::string errorCode(const protocol::Response &r)
{
	return r.error() ? r.error()->code : "ok";
}

} // namespace

TEST_F(ControlServerTest, HelloAndStatus)
{
	serve();
	int fd = connectClient();
	auto hello = exchange(fd, R"({"type":"hello","id":1,"version":1,"client":"test"})");
	ASSERT_TRUE(hello.ok());
	EXPECT_EQ(hello.id, 1u);
	EXPECT_EQ(std::get<protocol::HelloReply>(hello.body).version, 1u);
	auto status = exchange(fd, R"({"type":"status","id":2})");
	ASSERT_TRUE(status.ok());
	EXPECT_TRUE(std::get<protocol::StatusReply>(status.body).remotes.empty());
	close(fd);
}

TEST_F(ControlServerTest, BadPacketsGetAnErrorAndTheConnectionStays)
{
	serve();
	int fd = connectClient();
	EXPECT_EQ(errorCode(exchange(fd, "not json")), "EBADMSG");
	EXPECT_EQ(errorCode(exchange(fd, "[1,2,3]")), "EBADMSG");
	auto unknown = exchange(fd, R"({"type":"format-disk","id":7})");
	EXPECT_EQ(errorCode(unknown), "EOPNOTSUPP");
	EXPECT_EQ(unknown.id, 7u);
	EXPECT_EQ(errorCode(exchange(fd, R"({"type":"start","id":8})")), "EINVAL");
	EXPECT_EQ(errorCode(exchange(fd, std::string(protocol::kMaxPacket + 100, '{'))), "EMSGSIZE");
	std::string binary("\0\xff\xfe{", 4);
	EXPECT_EQ(errorCode(exchange(fd, binary)), "EBADMSG");
	auto noRemote = exchange(fd, R"({"type":"start","id":9,"remote":"r5-9"})");
	EXPECT_EQ(errorCode(noRemote), "ENODEV");
	EXPECT_NE(noRemote.error()->message.find("r5-9"), std::string::npos);
	// Still served.
	EXPECT_TRUE(exchange(fd, R"({"type":"status","id":10})").ok());
	EXPECT_EQ(server_->sessionCount(), 1u);
	close(fd);
}

TEST_F(ControlServerTest, InspectByNameFindsTheFirmwareUnderTheRoot)
{
	serve();
	int fd = connectClient();
	std::filesystem::create_directories(dir_ + "/lib/firmware");
	FILE *f = fopen((dir_ + "/lib/firmware/junk.elf").c_str(), "w");
	fputs("this is not an ELF file", f);
	fclose(f);
	auto r = exchange(fd, R"({"type":"inspect","id":1,"firmware":"junk.elf"})");
	ASSERT_TRUE(r.ok()) << errorCode(r);
	auto &reply = std::get<protocol::InspectReply>(r.body);
	EXPECT_EQ(reply.path, "/lib/firmware/junk.elf");
	ASSERT_FALSE(reply.report.empty());
	EXPECT_EQ(reply.report.back().level, protocol::InspectItem::Level::Error);
	EXPECT_EQ(errorCode(exchange(fd, R"({"type":"inspect","id":2,"firmware":"missing.elf"})")), "ENOENT");
	EXPECT_EQ(errorCode(exchange(fd, R"({"type":"inspect","id":3,"firmware":"../../etc/passwd"})")), "EINVAL");
	close(fd);
}

// An image is read on the worker: while that is busy (here: a job held until
// the test lets it go, as a start's write stuck in the kernel would be), the
// inspect waits and other clients are answered.
TEST_F(ControlServerTest, InspectIsTheWorkersAndOthersAreServedMeanwhile)
{
	serve();
	std::filesystem::create_directories(dir_ + "/lib/firmware");
	FILE *f = fopen((dir_ + "/lib/firmware/junk.elf").c_str(), "w");
	fputs("this is not an ELF file", f);
	fclose(f);
	std::promise<void> release;
	std::shared_future<void> gate = release.get_future().share();
	worker_->submit([gate]() -> std::function<void()> {
		gate.wait();
		return [] {};
	});
	int inspector = connectClient();
	int other = connectClient();
	const std::string req = R"({"type":"inspect","id":1,"firmware":"junk.elf"})";
	ASSERT_EQ(send(inspector, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
	EXPECT_TRUE(exchange(other, R"({"type":"status","id":2})").ok());
	EXPECT_FALSE(pump([&] { return readable(inspector); }, 50ms)) << "the inspect was answered with the worker busy";
	release.set_value();
	auto r = receive(inspector);
	ASSERT_TRUE(r.ok()) << errorCode(r);
	EXPECT_EQ(r.id, 1u);
	EXPECT_EQ(std::get<protocol::InspectReply>(r.body).path, "/lib/firmware/junk.elf");
	close(inspector);
	close(other);
}

TEST_F(ControlServerTest, AClientThatNeverReadsIsDroppedAlone)
{
	ServerLimits limits;
	limits.maxQueuedPackets = 4;
	serve(limits);
	int reader = connectClient();
	int hog = connectClient();
	// Fill the hog's socket buffer and then its queue in ampd.
	std::string req = R"({"type":"status","id":1})";
	for (int i = 0; i < 2000 && server_->sessionCount() == 2; i++) {
		if (send(hog, req.data(), req.size(), MSG_DONTWAIT) < 0) {
			ASSERT_EQ(errno, EAGAIN);
		}
		sd_event_run(loop_->get(), 0);
	}
	EXPECT_TRUE(pump([&] { return server_->sessionCount() == 1; }));
	EXPECT_TRUE(exchange(reader, R"({"type":"status","id":2})").ok());
	close(hog);
	close(reader);
}

TEST_F(ControlServerTest, SocketModeAndNoStealingALiveSocket)
{
	config_.socketMode = 0660;
	serve();
	struct stat st {};
	ASSERT_EQ(stat(socket_.c_str(), &st), 0);
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(st.st_mode & 0777, 0660u);
	ControlServer second(*loop_, *manager_, config_, SysfsRoot(dir_));
	auto r = second.listen(socket_);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, EADDRINUSE);
	// A dead socket left by a killed ampd is replaced.
	server_.reset();
	ASSERT_EQ(stat(socket_.c_str(), &st), -1);
}

TEST(ControlAuthorization, RootAlwaysOthersByConfig)
{
	PeerCredentials root;
	root.uid = 0;
	PeerCredentials alice;
	alice.uid = 1001;
	alice.gid = 1001;
	alice.groups = {27, 1001};
	EXPECT_TRUE(mayControl(root, nullptr));
	EXPECT_FALSE(mayControl(alice, nullptr));
	RemoteConfig rc;
	EXPECT_FALSE(mayControl(alice, &rc));
	rc.control.groups.push_back(Principal{std::uint32_t{27}, 27u, {}});
	EXPECT_TRUE(mayControl(alice, &rc)); // a supplementary group
	RemoteConfig byUser;
	byUser.control.users.push_back(Principal{std::string("alice"), 1001u, {}});
	EXPECT_TRUE(mayControl(alice, &byUser));
	RemoteConfig unresolved;
	unresolved.control.users.push_back(Principal{std::string("ghost"), std::nullopt, {}});
	EXPECT_FALSE(mayControl(alice, &unresolved));
}
