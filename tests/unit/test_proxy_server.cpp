// SPDX-License-Identifier: MIT
// The proxy server against a scripted remote: the OpenAMP demo's exact
// sequence, traversal attempts, the open-file cap, hostile messages, the console.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/sinks/ostream_sink.h>

#include <climits>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/log.h"
#include "proxy/server.hpp"
#include "support/files.h"

namespace amp::proxy {
namespace {

using Bytes = std::vector<uint8_t>;
using namespace wire_flags;

// Everything the proxy area logs while it lives (and the other areas).
class LogCapture {
public:
	LogCapture()
	{
		auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
		sink->set_pattern("%n %l %v");
		log::setup(spdlog::level::debug, {sink});
	}
	~LogCapture() { log::setup(); }
	std::string text() const { return out_.str(); }
	size_t count(const std::string &needle) const
	{
		std::string t = text();
		size_t n = 0;
		for (size_t pos = t.find(needle); pos != std::string::npos; pos = t.find(needle, pos + 1))
			n++;
		return n;
	}

private:
	std::ostringstream out_;
};

// A console that records what the remote printed and serves scripted input.
class RecordingConsole : public Console {
public:
	Result<size_t> write(int fd, std::span<const uint8_t> bytes) override
	{
		(fd == 2 ? err : out).append(bytes.begin(), bytes.end());
		return bytes.size();
	}
	Result<size_t> read(std::span<uint8_t> buffer) override
	{
		size_t n = std::min(buffer.size(), input.size());
		std::copy_n(input.begin(), n, buffer.begin());
		input.erase(0, n);
		return n;
	}
	std::string describe() const override { return "a test console"; }
	std::string out, err, input;
};

Bytes raw(uint32_t id, int32_t f1, int32_t f2, uint32_t dataLen, const std::string &data = {})
{
	Bytes b(16);
	auto put = [&](size_t at, uint32_t v) {
		for (int i = 0; i < 4; i++)
			b[at + i] = uint8_t(v >> (8 * i));
	};
	put(0, id);
	put(4, uint32_t(f1));
	put(8, uint32_t(f2));
	put(12, dataLen);
	b.insert(b.end(), data.begin(), data.end());
	return b;
}

Bytes bytesOf(const Request &r)
{
	auto m = encodeRequest(r);
	EXPECT_TRUE(m);
	return Bytes(m->span().begin(), m->span().end());
}

// The server with a scripted remote on the other side: each call returns
// the replies it produced.
class ProxyServerTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		dirPath_ = tmp_.path() + "/proxy";
		auto d = ConfinedDir::open(dirPath_, true);
		ASSERT_TRUE(d) << d.error().message();
		dir_.emplace(std::move(*d));
		makeServer();
	}
	void makeServer(unsigned maxOpenFiles = 16, RateLimit limit = {20, std::chrono::milliseconds(10000)})
	{
		server_.reset();
		ServerOptions o;
		o.name = "r5-0";
		o.maxOpenFiles = maxOpenFiles;
		o.refusalLog = limit;
		server_ = std::make_unique<ProxyServer>(*dir_, console_, [this](std::span<const uint8_t> m) {
			sent_.emplace_back(m.begin(), m.end());
		}, o);
	}
	std::vector<Bytes> send(const Bytes &message)
	{
		sent_.clear();
		server_->handle(message);
		return std::exchange(sent_, {});
	}
	// One call that must get exactly one reply, for `call`: its result.
	int32_t call(const Bytes &message, std::string *data = nullptr)
	{
		auto replies = send(message);
		EXPECT_EQ(replies.size(), 1u);
		if (replies.size() != 1)
			return INT32_MIN;
		auto r = decodeReply(replies[0]);
		EXPECT_TRUE(r);
		if (!r)
			return INT32_MIN;
		EXPECT_EQ(r->call, uint32_t(message.size() >= 4 ? message[0] : 0));
		if (data)
			data->assign(r->data.begin(), r->data.end());
		return r->result;
	}
	int32_t open(const std::string &path, int32_t flags, int32_t mode = 0600)
	{
		return call(bytesOf(OpenRequest{flags, mode, path}));
	}
	int32_t write(int32_t fd, const std::string &s)
	{
		return call(bytesOf(WriteRequest{fd, {reinterpret_cast<const uint8_t *>(s.data()), s.size()}}));
	}
	int32_t read(int32_t fd, uint32_t len, std::string *data) { return call(bytesOf(ReadRequest{fd, len}), data); }
	int32_t close(int32_t fd) { return call(bytesOf(CloseRequest{fd})); }

	test::TempDir tmp_{"amp-proxy"};
	std::string dirPath_;
	std::optional<ConfinedDir> dir_;
	RecordingConsole console_;
	std::vector<Bytes> sent_;
	std::unique_ptr<ProxyServer> server_;
};

TEST_F(ProxyServerTest, LinuxTalksFirstWithInitMsg)
{
	server_->start();
	ASSERT_EQ(sent_.size(), 1u);
	EXPECT_EQ(sent_[0], Bytes({'i', 'n', 'i', 't', '_', 'm', 's', 'g', 0}));
}

// rpc_demo.c's file part, byte for byte as the remote sends it.
TEST_F(ProxyServerTest, TheDemoSequenceMakesItsFileInsideTheDirectoryOnly)
{
	const std::string banner = "\nRemote>Baremetal Remote Procedure Call (RPC) Demonstration\r\n";
	// _write(1, ...): data_len is one more (a NUL) than the length.
	EXPECT_EQ(call(raw(3, 1, int32_t(banner.size()), uint32_t(banner.size() + 1), banner + '\0')),
		  int32_t(banner.size()));
	EXPECT_EQ(console_.out, banner);

	const std::string name("remote.file\0", 12);
	int32_t fd = call(raw(1, 0x441, 0600, 12, name));
	EXPECT_EQ(fd, 3);
	const std::string text = "This is a test string being written to file..";
	EXPECT_EQ(call(raw(3, fd, int32_t(text.size()), uint32_t(text.size()), text)), int32_t(text.size()));
	EXPECT_EQ(call(raw(2, fd, 0, 0)), 0);
	fd = call(raw(1, 0, 0600, 12, name));
	EXPECT_EQ(fd, 3);
	std::string got;
	EXPECT_EQ(call(raw(4, fd, 1024, 0), &got), int32_t(text.size()));
	EXPECT_EQ(got, text);
	EXPECT_EQ(call(raw(2, fd, 0, 0)), 0);
	EXPECT_EQ(server_->openFiles(), 0u);

	EXPECT_EQ(test::readText(dirPath_ + "/remote.file"), text);
	struct stat st {};
	ASSERT_EQ(::stat((dirPath_ + "/remote.file").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600u);
	// Nothing anywhere else: the temp tree holds the directory and that file.
	EXPECT_EQ(test::listDir(tmp_.path()), std::vector<std::string>{"proxy"});
	EXPECT_EQ(test::listDir(dirPath_), std::vector<std::string>{"remote.file"});
}

TEST_F(ProxyServerTest, ReadRepliesCarryAtMost480Bytes)
{
	std::string content;
	for (int i = 0; i < 1100; i++)
		content += char('a' + i % 26);
	test::writeFile(dirPath_ + "/big", content);
	int32_t fd = open("big", kRdonly);
	ASSERT_EQ(fd, 3);
	std::string all, part;
	EXPECT_EQ(read(fd, 1024, &part), 480);
	EXPECT_EQ(part.size(), 480u);
	all += part;
	EXPECT_EQ(read(fd, 1024, &part), 480);
	all += part;
	EXPECT_EQ(read(fd, 1024, &part), 140);
	all += part;
	EXPECT_EQ(read(fd, 1024, &part), 0);
	EXPECT_EQ(all, content);
	EXPECT_EQ(read(fd, 0, &part), 0);
}

TEST_F(ProxyServerTest, TraversalAttemptsAreRefusedAndLogged)
{
	ASSERT_EQ(::mkdir((tmp_.path() + "/outside").c_str(), 0755), 0);
	test::writeFile(tmp_.path() + "/outside/secret", "s");
	ASSERT_EQ(::symlink("/etc/passwd", (dirPath_ + "/abs-link").c_str()), 0);
	ASSERT_EQ(::symlink("../outside/secret", (dirPath_ + "/rel-link").c_str()), 0);
	ASSERT_EQ(::symlink("../outside", (dirPath_ + "/dir-link").c_str()), 0);
	LogCapture logs;
	struct Case {
		std::string path;
		int32_t flags;
		std::string why;
	};
	const Case cases[] = {
		{"../../etc/passwd", kRdonly, "'..' in the path"},
		{"/etc/passwd", kRdonly, "absolute path"},
		{"abs-link", kRdonly, "symlink"},
		{"rel-link", kRdonly, "symlink"},
		{"rel-link", kWronly | kTrunc, "symlink"},
		{"dir-link/secret", kRdonly, "symlink"},
		{"dir-link/new", kWronly | kCreat, "symlink"},
		{"a/../../x", kWronly | kCreat, "'..' in the path"},
		{"../escape", kWronly | kCreat, "'..' in the path"},
	};
	for (const Case &c : cases) {
		std::string line = "refused OPEN " + quote(c.path);
		size_t seen = logs.count(line);
		EXPECT_EQ(open(c.path, c.flags), -1) << c.path;
		// One warning each, naming the path and why.
		EXPECT_EQ(logs.count(line), seen + 1) << line << "\n" << logs.text();
		EXPECT_NE(logs.text().find(line), std::string::npos);
		EXPECT_NE(logs.text().find(c.why), std::string::npos) << c.why;
	}
	EXPECT_EQ(test::readText(tmp_.path() + "/outside/secret"), "s");
	EXPECT_FALSE(test::exists(tmp_.path() + "/outside/new"));
	EXPECT_FALSE(test::exists(tmp_.path() + "/escape"));
	EXPECT_FALSE(test::exists(tmp_.path() + "/x"));
	EXPECT_EQ(server_->openFiles(), 0u);
	EXPECT_EQ(server_->stats().refused, std::size(cases));
}

TEST_F(ProxyServerTest, MalformedPathsAreRefusedAndLogged)
{
	LogCapture logs;
	// NUL in the middle: the classic master would open "ok".
	EXPECT_EQ(call(raw(1, kWronly | kCreat, 0600, 20, std::string("ok\0../../etc/passwd\0", 20))), -1);
	EXPECT_NE(logs.text().find("NUL inside the path"), std::string::npos) << logs.text();
	EXPECT_FALSE(test::exists(dirPath_ + "/ok"));
	// Not NUL-terminated, empty, a control character.
	EXPECT_EQ(call(raw(1, kRdonly, 0, 4, "abcd")), -1);
	EXPECT_EQ(call(raw(1, kRdonly, 0, 1, std::string("\0", 1))), -1);
	EXPECT_EQ(open("a\nb", kWronly | kCreat), -1);
	EXPECT_NE(logs.text().find("control character"), std::string::npos);
	// Over-long: a name the kernel refuses, and a message bigger than one rpmsg message.
	EXPECT_EQ(open(std::string(300, 'n'), kWronly | kCreat), -1);
	EXPECT_NE(logs.text().find("name too long"), std::string::npos);
	EXPECT_EQ(call(raw(1, kRdonly, 0, 1000, std::string(999, 'a') + '\0')), -1);
	EXPECT_NE(logs.text().find("more than the 496"), std::string::npos) << logs.text();
	// A directory is no file.
	ASSERT_EQ(::mkdir((dirPath_ + "/sub").c_str(), 0750), 0);
	EXPECT_EQ(open("sub", kRdonly), -1);
	EXPECT_EQ(open(".", kRdonly), -1);
	EXPECT_NE(logs.text().find("a directory, not a regular file"), std::string::npos);
	EXPECT_EQ(test::listDir(dirPath_), std::vector<std::string>{"sub"});
}

TEST_F(ProxyServerTest, FlagValuesAreValidated)
{
	LogCapture logs;
	EXPECT_EQ(open("f", 03 | kCreat), -1);
	EXPECT_EQ(open("f", kWronly | kCreat | 010000000 /* O_PATH */), -1);
	EXPECT_EQ(open("f", kWronly | 020200000 /* O_TMPFILE */), -1);
	EXPECT_EQ(open("f", kRdonly | 0200000 /* O_DIRECTORY */), -1);
	EXPECT_EQ(open("f", kWronly | kCreat, -1), -1);
	EXPECT_EQ(logs.count("refused OPEN \"f\""), 5u) << logs.text();
	EXPECT_FALSE(test::exists(dirPath_ + "/f"));
	EXPECT_EQ(open("f", kWronly | kCreat, 06777), 3);
	struct stat st {};
	ASSERT_EQ(::stat((dirPath_ + "/f").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 07000, 0u); // no setuid, setgid, sticky
	EXPECT_EQ(st.st_mode & 022, 0u);
}

TEST_F(ProxyServerTest, AThousandOpensHitTheCapAndNothingLeaks)
{
	test::writeFile(dirPath_ + "/f", "x");
	int before = test::openFdCount();
	LogCapture logs;
	std::vector<int32_t> fds;
	int refused = 0;
	for (int i = 0; i < 1000; i++) {
		int32_t fd = open("f", kRdonly);
		if (fd < 0)
			refused++;
		else
			fds.push_back(fd);
	}
	ASSERT_EQ(fds.size(), 16u);
	EXPECT_EQ(refused, 1000 - 16);
	for (size_t i = 0; i < fds.size(); i++)
		EXPECT_EQ(fds[i], int32_t(3 + i)); // our numbers, lowest free first, never the daemon's
	EXPECT_EQ(server_->openFiles(), 16u);
	EXPECT_EQ(test::openFdCount(), before + 16);
	EXPECT_NE(logs.text().find("too many open files (max_open_files 16)"), std::string::npos);
	// The log is rate-limited: 984 refusals, 20 lines.
	EXPECT_LE(logs.count("refused OPEN"), 20u);

	// Closing frees a slot, and the next open gets it.
	EXPECT_EQ(close(7), 0);
	EXPECT_EQ(open("f", kRdonly), 7);
	EXPECT_EQ(open("f", kRdonly), -1);
	EXPECT_EQ(test::openFdCount(), before + 16);
	for (int32_t fd : fds)
		EXPECT_EQ(close(fd), 0);
	EXPECT_EQ(server_->openFiles(), 0u);
	EXPECT_EQ(test::openFdCount(), before);

	// Every refusal is in the log, as a line or counted: the end of the
	// session says how many the rate limit held back since its last word.
	server_->end("test over");
	std::string text = logs.text();
	uint64_t counted = 0;
	for (size_t pos = 0; (pos = text.find(" more refusals not logged", pos)) != std::string::npos; pos++)
		counted += std::stoull(text.substr(text.rfind(' ', pos - 1) + 1));
	size_t over = text.find("refusals not logged (rate limit)\n", text.find("proxy session over (test over)"));
	ASSERT_NE(over, std::string::npos) << text;
	counted += std::stoull(text.substr(text.rfind("; ", over) + 2));
	EXPECT_EQ(logs.count("refused OPEN") + counted, size_t(refused + 1)) << text;
	EXPECT_EQ(server_->stats().refused, uint64_t(refused + 1));
}

TEST_F(ProxyServerTest, TheCapIsTheConfiguredOne)
{
	test::writeFile(dirPath_ + "/f", "x");
	// 1000 files and the test's own fds: more than the usual soft limit of 1024.
	struct rlimit nofile {};
	ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &nofile), 0);
	if (nofile.rlim_max < 1200)
		GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << nofile.rlim_max << " is below 1200";
	nofile.rlim_cur = nofile.rlim_max;
	ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &nofile), 0);
	makeServer(1000);
	int before = test::openFdCount();
	for (int i = 0; i < 1000; i++)
		ASSERT_EQ(open("f", kRdonly), 3 + i);
	EXPECT_EQ(open("f", kRdonly), -1);
	EXPECT_EQ(test::openFdCount(), before + 1000);
	// The remote never closes: the end of the session does.
	server_->end("test over");
	EXPECT_EQ(test::openFdCount(), before);
	EXPECT_EQ(server_->state(), ProxyServer::State::Ended);
}

TEST_F(ProxyServerTest, FilesLeftOpenAreClosedWithTheServer)
{
	test::writeFile(dirPath_ + "/f", "x");
	int before = test::openFdCount();
	for (int i = 0; i < 5; i++)
		open("f", kRdonly);
	EXPECT_EQ(test::openFdCount(), before + 5);
	server_.reset();
	EXPECT_EQ(test::openFdCount(), before);
}

TEST_F(ProxyServerTest, CloseOfAnythingButAnOpenFileIsMinusOne)
{
	for (int32_t fd : {3, 18, 19, 99, -1, -5, INT_MIN, INT_MAX})
		EXPECT_EQ(close(fd), -1) << fd;
	// The console's fds close as 0 and stay usable.
	EXPECT_EQ(close(0), 0);
	EXPECT_EQ(close(1), 0);
	EXPECT_EQ(close(2), 0);
	EXPECT_EQ(write(1, "still here"), 10);
	EXPECT_EQ(console_.out, "still here");
	test::writeFile(dirPath_ + "/f", "x");
	int32_t fd = open("f", kRdonly);
	EXPECT_EQ(close(fd), 0);
	EXPECT_EQ(close(fd), -1); // twice
}

TEST_F(ProxyServerTest, WriteAndReadCheckTheFd)
{
	EXPECT_EQ(write(0, "x"), -1);
	EXPECT_EQ(write(3, "x"), -1);
	EXPECT_EQ(write(-7, "x"), -1);
	std::string data;
	EXPECT_EQ(read(1, 10, &data), -1);
	EXPECT_EQ(read(2, 10, &data), -1);
	EXPECT_EQ(read(3, 10, &data), -1);
	test::writeFile(dirPath_ + "/ro", "x");
	int32_t fd = open("ro", kRdonly);
	EXPECT_EQ(write(fd, "y"), -1); // EBADF from the kernel: read-only
	EXPECT_EQ(write(2, "err"), 3);
	EXPECT_EQ(console_.err, "err");
	// WRITE's length past the data it carries: malformed, -1.
	EXPECT_EQ(call(raw(3, 1, 100, 4, "abcd")), -1);
	EXPECT_EQ(call(raw(3, 1, -1, 4, "abcd")), -1);
	EXPECT_EQ(console_.out, "");
}

TEST_F(ProxyServerTest, ConsoleInputEndOfFileIsZero)
{
	// The journal and a file have no input: the remote's scanf() sees EOF.
	JournalConsole journal("r5-0");
	ProxyServer s(*dir_, journal, [this](std::span<const uint8_t> m) { sent_.emplace_back(m.begin(), m.end()); });
	s.handle(bytesOf(ReadRequest{0, 1024}));
	ASSERT_EQ(sent_.size(), 1u);
	auto r = decodeReply(sent_[0]);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->call, 4u);
	EXPECT_EQ(r->result, 0);
	EXPECT_TRUE(r->data.empty());
	// Input there is, is served.
	console_.input = "yes\n";
	std::string data;
	EXPECT_EQ(read(0, 1024, &data), 4);
	EXPECT_EQ(data, "yes\n");
}

TEST_F(ProxyServerTest, ConsoleInputNotThereYetIsWaitedForWithoutBlocking)
{
	int p[2];
	ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
	UniqueFd in(p[0]), feed(p[1]);
	FdConsole terminal(in.get(), -1);
	ProxyServer s(*dir_, terminal, [this](std::span<const uint8_t> m) { sent_.emplace_back(m.begin(), m.end()); });
	EXPECT_EQ(s.handle(bytesOf(ReadRequest{0, 1024})), ProxyServer::State::WaitingForInput);
	EXPECT_TRUE(sent_.empty());
	EXPECT_EQ(s.resumeInput(), ProxyServer::State::WaitingForInput);
	EXPECT_TRUE(sent_.empty());
	ASSERT_EQ(::write(feed.get(), "Ada 36 3.14\n", 12), 12);
	EXPECT_EQ(s.resumeInput(), ProxyServer::State::Serving);
	ASSERT_EQ(sent_.size(), 1u);
	auto r = decodeReply(sent_[0]);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->result, 12);
	EXPECT_EQ(std::string(r->data.begin(), r->data.end()), "Ada 36 3.14\n");

	// A remote that sends something else meanwhile gets that READ failed
	// first: replies stay in order, nothing piles up.
	sent_.clear();
	EXPECT_EQ(s.handle(bytesOf(ReadRequest{0, 10})), ProxyServer::State::WaitingForInput);
	EXPECT_EQ(s.handle(bytesOf(CloseRequest{1})), ProxyServer::State::Serving);
	ASSERT_EQ(sent_.size(), 2u);
	EXPECT_EQ(decodeReply(sent_[0])->call, 4u);
	EXPECT_EQ(decodeReply(sent_[0])->result, -1);
	EXPECT_EQ(decodeReply(sent_[1])->call, 2u);

	// End of input: 0.
	sent_.clear();
	feed.reset();
	EXPECT_EQ(s.handle(bytesOf(ReadRequest{0, 10})), ProxyServer::State::Serving);
	ASSERT_EQ(sent_.size(), 1u);
	EXPECT_EQ(decodeReply(sent_[0])->result, 0);
}

TEST_F(ProxyServerTest, UnknownIdsGetNoReplySoAnEchoingRemoteCannotPingPong)
{
	LogCapture logs;
	// The echo demo sends init_msg straight back.
	Bytes init(kInitMessage.begin(), kInitMessage.end());
	EXPECT_TRUE(send(init).empty());
	EXPECT_TRUE(send(raw(0, 0, 0, 0)).empty());
	EXPECT_TRUE(send(raw(7, 1, 2, 3, "abc")).empty());
	EXPECT_TRUE(send(raw(5, 0, 0, 0)).empty()); // ACK: no reply defined
	EXPECT_TRUE(send({}).empty());
	EXPECT_TRUE(send({1, 0}).empty());
	EXPECT_EQ(server_->stats().malformed, 5u);
	EXPECT_NE(logs.text().find("ignored a 9-byte message"), std::string::npos) << logs.text();
	// Too short for its header but with a call's id: that call gets -1.
	EXPECT_EQ(call({2, 0, 0, 0, 3}), -1);
}

TEST_F(ProxyServerTest, TermEndsTheSessionAndClosesEveryFile)
{
	test::writeFile(dirPath_ + "/f", "x");
	int before = test::openFdCount();
	open("f", kRdonly);
	open("f", kRdonly);
	EXPECT_EQ(test::openFdCount(), before + 2);
	EXPECT_TRUE(send(bytesOf(TermRequest{})).empty()); // no reply
	EXPECT_EQ(server_->state(), ProxyServer::State::Ended);
	EXPECT_TRUE(server_->terminatedByRemote());
	EXPECT_EQ(test::openFdCount(), before);
	// Anything after it is ignored.
	EXPECT_TRUE(send(bytesOf(OpenRequest{0, 0, "f"})).empty());
	EXPECT_EQ(test::openFdCount(), before);
}

// A hostile remote: random messages, many with a valid id and random
// fields. The server survives, answers each call at most once and with the
// call's id, keeps to its cap, and leaves no fd behind.
TEST_F(ProxyServerTest, GarbageIsSurvivedWithAtMostOneReplyEach)
{
	test::writeFile(dirPath_ + "/f", "0123456789");
	ASSERT_EQ(::symlink("/etc/passwd", (dirPath_ + "/l").c_str()), 0);
	makeServer(8, {5, std::chrono::milliseconds(60000)});
	int before = test::openFdCount();
	LogCapture logs;
	std::mt19937 rng(7);
	const char *paths[] = {"f", "l", "../f", "/etc/passwd", "new", "d/x", ".", ""};
	for (int i = 0; i < 20000; i++) {
		Bytes m;
		switch (rng() % 4) {
		case 0: {
			m.resize(rng() % 520);
			for (auto &b : m)
				b = uint8_t(rng());
			break;
		}
		case 1: {
			std::string p = paths[rng() % std::size(paths)];
			m = raw(1, int32_t(rng() % 2 ? rng() : rng() % 04000), int32_t(rng()), uint32_t(p.size() + 1 + rng() % 3 - 1),
				p + '\0');
			break;
		}
		default: {
			uint32_t id = 1 + rng() % 5; // TERM would end the session: below
			int32_t fd = int32_t(rng() % 3 ? rng() % 14 : rng());
			m = raw(id, fd, int32_t(rng() % 2 ? rng() % 600 : rng()), rng() % 500, std::string(rng() % 40, 'z'));
			break;
		}
		}
		auto replies = send(m);
		ASSERT_LE(replies.size(), 1u);
		if (!replies.empty()) {
			auto r = decodeReply(replies[0]);
			ASSERT_TRUE(r);
			ASSERT_TRUE(expectsReply(r->call));
			ASSERT_EQ(r->call, uint32_t(m[0])); // only known ids get a reply
			ASSERT_LE(r->data.size(), kMaxReadReply);
		}
		ASSERT_LE(server_->openFiles(), 8u);
	}
	EXPECT_EQ(server_->state(), ProxyServer::State::Serving);
	EXPECT_TRUE(send(bytesOf(TermRequest{})).empty());
	EXPECT_EQ(server_->openFiles(), 0u);
	server_.reset();
	EXPECT_EQ(test::openFdCount(), before);
	EXPECT_EQ(test::readText("/etc/passwd").has_value(), true);
	// The journal got a handful of lines, not 20000.
	EXPECT_LT(logs.count("warning"), 50u);
}

TEST(ProxyRateLimiter, BurstThenCountsThenSays)
{
	using namespace std::chrono_literals;
	RateLimiter l({3, 1000ms});
	auto t0 = RateLimiter::Clock::time_point{} + 1h;
	EXPECT_TRUE(l.allow(t0));
	EXPECT_TRUE(l.allow(t0 + 1ms));
	EXPECT_TRUE(l.allow(t0 + 2ms));
	EXPECT_FALSE(l.allow(t0 + 3ms));
	EXPECT_FALSE(l.allow(t0 + 999ms));
	EXPECT_TRUE(l.allow(t0 + 1000ms));
	EXPECT_EQ(l.takeSuppressed(), 2u);
	EXPECT_EQ(l.takeSuppressed(), 0u);
	EXPECT_EQ(l.totalSuppressed(), 2u);
}

TEST(ProxyConsole, JournalGetsLinesNotFragments)
{
	LogCapture logs;
	{
		JournalConsole c("r5-0");
		auto w = [&](const std::string &s) {
			EXPECT_EQ(*c.write(1, {reinterpret_cast<const uint8_t *>(s.data()), s.size()}), s.size());
		};
		w("\nRemote>Hello ");
		w("world\r\n");
		w("\x01tail");
		EXPECT_EQ(logs.count("console:"), 1u);
	}
	// The partial line comes out when the console goes.
	EXPECT_NE(logs.text().find("proxy info r5-0 console: Remote>Hello world\n"), std::string::npos) << logs.text();
	EXPECT_NE(logs.text().find("r5-0 console: \\x01tail"), std::string::npos) << logs.text();
}

TEST(ProxyConsole, FileAppends)
{
	test::TempDir tmp("amp-proxy");
	std::string path = tmp.path() + "/console.log";
	test::writeFile(path, "before\n");
	auto c = FileConsole::open(path);
	ASSERT_TRUE(c) << c.error().message();
	const std::string s = "Remote>hi\r\n";
	EXPECT_EQ(*(*c)->write(1, {reinterpret_cast<const uint8_t *>(s.data()), s.size()}), s.size());
	uint8_t buf[4];
	EXPECT_EQ(*(*c)->read(buf), 0u);
	EXPECT_EQ(test::readText(path), "before\n" + s);
}

// The demo at end-of-input prompts forever: the file stops at the cap, the
// remote is told every byte was taken, the first drop is logged once and
// each flush() says how much went.
TEST(ProxyConsole, FileStopsGrowingAtItsCapAndTheRemoteKeepsGoing)
{
	LogCapture logs;
	test::TempDir tmp("amp-proxy");
	std::string path = tmp.path() + "/console.log";
	test::writeFile(path, std::string(1000, 'o'));
	auto c = FileConsole::open(path, 1024);
	ASSERT_TRUE(c) << c.error().message();
	const std::string line = "\nRemote>Enter name\r\n"; // 20 bytes
	ASSERT_EQ(line.size(), 20u);
	auto w = [&](const std::string &s) { return *(*c)->write(1, {reinterpret_cast<const uint8_t *>(s.data()), s.size()}); };
	EXPECT_EQ(w(line), line.size()); // 1020
	EXPECT_EQ(w(line), line.size()); // 4 of it fit
	for (int i = 0; i < 1000; i++)
		ASSERT_EQ(w(line), line.size());
	EXPECT_EQ(test::readText(path), std::string(1000, 'o') + line + line.substr(0, 4));
	const size_t dropped = 16 + 1000 * line.size();
	EXPECT_EQ((*c)->dropped(), dropped);
	EXPECT_EQ(logs.count("reached console_max_bytes (1024 bytes)"), 1u) << logs.text();
	(*c)->flush();
	EXPECT_EQ(logs.count(std::to_string(dropped) + " bytes of the remote's output dropped"), 1u) << logs.text();
	(*c)->flush(); // nothing new: no line
	EXPECT_EQ(logs.count("bytes of the remote's output dropped"), 1u);

	// Truncated (logrotate's copytruncate): it grows again, and a new drop
	// is logged again.
	ASSERT_EQ(::truncate(path.c_str(), 0), 0);
	EXPECT_EQ(w(line), line.size());
	EXPECT_EQ(test::readText(path), line);
	for (int i = 0; i < 60; i++)
		ASSERT_EQ(w(line), line.size());
	EXPECT_EQ(test::readText(path)->size(), 1024u);
	EXPECT_EQ(logs.count("reached console_max_bytes"), 2u) << logs.text();
}

// Already past the cap when opened (an earlier run filled it): nothing more.
TEST(ProxyConsole, AFileAlreadyFullTakesNothing)
{
	LogCapture logs;
	test::TempDir tmp("amp-proxy");
	std::string path = tmp.path() + "/console.log";
	test::writeFile(path, std::string(5000, 'x'));
	auto c = FileConsole::open(path, 4096);
	ASSERT_TRUE(c);
	const std::string s = "more";
	EXPECT_EQ(*(*c)->write(2, {reinterpret_cast<const uint8_t *>(s.data()), s.size()}), s.size());
	EXPECT_EQ(test::readText(path)->size(), 5000u);
	EXPECT_EQ(logs.count("reached console_max_bytes (4096 bytes)"), 1u);
}

} // namespace
} // namespace amp::proxy
