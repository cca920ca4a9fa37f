// SPDX-License-Identifier: MIT
// The journal sink: what one record becomes, priorities, the JOURNAL_STREAM check and the daemon's choice of sink.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-journal.h>

#include "base/log.h"
#include "base/unique_fd.h"
#include "journal_sink.hpp"

namespace amp {
namespace {

using Items = std::vector<std::string>;

spdlog::details::log_msg record(spdlog::level::level_enum level, std::string_view text, spdlog::source_loc where = {})
{
	return spdlog::details::log_msg(where, "remote", level, text);
}

std::string streamOf(int fd)
{
	struct stat st {};
	EXPECT_EQ(::fstat(fd, &st), 0);
	return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

// Sets or clears $JOURNAL_STREAM for one test and puts the old value back.
class JournalStreamEnv {
public:
	explicit JournalStreamEnv(const char *value)
	{
		if (const char *old = std::getenv("JOURNAL_STREAM"))
			old_ = old;
		if (value)
			::setenv("JOURNAL_STREAM", value, 1);
		else
			::unsetenv("JOURNAL_STREAM");
	}
	~JournalStreamEnv()
	{
		if (old_)
			::setenv("JOURNAL_STREAM", old_->c_str(), 1);
		else
			::unsetenv("JOURNAL_STREAM");
	}

private:
	std::optional<std::string> old_;
};

TEST(JournalSink, PriorityMapping)
{
	EXPECT_EQ(log::syslogPriority(spdlog::level::trace), LOG_DEBUG);
	EXPECT_EQ(log::syslogPriority(spdlog::level::debug), LOG_DEBUG);
	EXPECT_EQ(log::syslogPriority(spdlog::level::info), LOG_INFO);
	EXPECT_EQ(log::syslogPriority(spdlog::level::warn), LOG_WARNING);
	EXPECT_EQ(log::syslogPriority(spdlog::level::err), LOG_ERR);
	EXPECT_EQ(log::syslogPriority(spdlog::level::critical), LOG_CRIT);
}

TEST(JournalSink, FieldsOfARecord)
{
	auto msg = record(spdlog::level::warn, "remote r5-0: running -> crashed (watchdog)", {"daemon/remote.cpp", 120, "setState"});
	const std::vector<log::Field> fields = {{"REMOTE", "r5-0"}, {"STATE", "crashed"}};
	const std::string tid = "TID=" + std::to_string(msg.thread_id);
	EXPECT_EQ(log::journalFields(msg, fields),
	          (Items{"MESSAGE=remote r5-0: running -> crashed (watchdog)", "PRIORITY=4", "SYSLOG_IDENTIFIER=ampd",
	                 "AMP_AREA=remote", "CODE_FILE=daemon/remote.cpp", "CODE_LINE=120", "CODE_FUNC=setState", tid,
	                 "REMOTE=r5-0", "STATE=crashed"}));
}

TEST(JournalSink, NoSourceLocationNoCodeFields)
{
	auto msg = spdlog::details::log_msg("", spdlog::level::info, "hello");
	const Items items = log::journalFields(msg, {}, "ampd-test");
	EXPECT_EQ(items, (Items{"MESSAGE=hello", "PRIORITY=6", "SYSLOG_IDENTIFIER=ampd-test", "TID=" + std::to_string(msg.thread_id)}));
}

TEST(JournalSink, ScopedFieldsCannotForgeTheRecordsOwn)
{
	auto msg = record(spdlog::level::err, "boom");
	const std::vector<log::Field> fields = {{"PRIORITY", "7"}, {"MESSAGE", "fine"}, {"SYSLOG_IDENTIFIER", "x"},
	                                        {"AMP_AREA", "x"}, {"_PID", "1"},       {"bad key", "x"},
	                                        {"CHANNEL", "ttyRPMSG0"}};
	const Items items = log::journalFields(msg, fields);
	EXPECT_EQ(items.front(), "MESSAGE=boom");
	EXPECT_EQ(items[1], "PRIORITY=3");
	EXPECT_EQ(items.back(), "CHANNEL=ttyRPMSG0");
	EXPECT_EQ(std::count_if(items.begin(), items.end(), [](const std::string &s) { return s.starts_with("PRIORITY="); }), 1);
	EXPECT_EQ(std::count_if(items.begin(), items.end(), [](const std::string &s) { return s.starts_with("MESSAGE="); }), 1);
	EXPECT_EQ(std::count_if(items.begin(), items.end(), [](const std::string &s) { return s.starts_with("_") || s.starts_with("bad"); }), 0);
}

TEST(JournalSink, MultiLineMessageIsOneField)
{
	// sd_journal_sendv() carries values with newlines in its binary form;
	// nothing of ours may split them.
	auto msg = record(spdlog::level::info, "line one\nline two");
	EXPECT_EQ(log::journalFields(msg, {}).front(), "MESSAGE=line one\nline two");
}

TEST(JournalSink, IovecsPointIntoTheItems)
{
	const Items items = {"MESSAGE=hi", "PRIORITY=6", "REMOTE="};
	const std::vector<iovec> iov = log::journalIovecs(items);
	ASSERT_EQ(iov.size(), items.size());
	for (size_t i = 0; i < items.size(); ++i) {
		EXPECT_EQ(iov[i].iov_base, items[i].data());
		EXPECT_EQ(std::string(static_cast<const char *>(iov[i].iov_base), iov[i].iov_len), items[i]);
	}
}

TEST(JournalSink, SendsTheLoggingThreadsFields)
{
	std::vector<Items> sent;
	auto sink = std::make_shared<log::JournalSink>("ampd", [&](std::span<const iovec> iov) {
		Items entry;
		for (const iovec &v : iov)
			entry.emplace_back(static_cast<const char *>(v.iov_base), v.iov_len);
		sent.push_back(std::move(entry));
		return 0;
	});
	spdlog::logger logger("control", sink);
	int line = 0;
	{
		log::ScopedFields fields{{"CLIENT_PID", "4242"}};
		line = __LINE__ + 1;
		SPDLOG_LOGGER_INFO(&logger, "client {} connected", 4242);
	}
	logger.info("after");
	ASSERT_EQ(sent.size(), 2u);
	const Items &first = sent[0];
	EXPECT_EQ(first[0], "MESSAGE=client 4242 connected");
	EXPECT_EQ(first[1], "PRIORITY=6");
	EXPECT_EQ(first[3], "AMP_AREA=control");
	EXPECT_NE(std::find(first.begin(), first.end(), "CODE_LINE=" + std::to_string(line)), first.end());
	EXPECT_TRUE(std::any_of(first.begin(), first.end(), [](const std::string &s) { return s.starts_with("CODE_FILE=") && s.ends_with("test_journal_sink.cpp"); }));
	EXPECT_EQ(first.back(), "CLIENT_PID=4242");
	EXPECT_TRUE(std::none_of(sent[1].begin(), sent[1].end(), [](const std::string &s) { return s.starts_with("CLIENT_PID="); }));
}

TEST(JournalSink, FallsBackToStderrWhenTheJournalRefuses)
{
	auto sink = std::make_shared<log::JournalSink>("ampd", [](std::span<const iovec>) { return -ECONNREFUSED; });
	sink->set_formatter(log::stderrFormatter(true));
	spdlog::logger logger("proxy", sink);

	const auto path = std::filesystem::temp_directory_path() / ("amp-journal-fallback-" + std::to_string(::getpid()));
	UniqueFd capture(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
	ASSERT_TRUE(capture);
	UniqueFd saved(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3));
	ASSERT_TRUE(saved);
	ASSERT_EQ(::dup2(capture.get(), STDERR_FILENO), STDERR_FILENO);
	logger.error("denied \"{}\"", "/etc/shadow");
	ASSERT_EQ(::dup2(saved.get(), STDERR_FILENO), STDERR_FILENO);

	char buf[256] = {};
	const ssize_t n = ::pread(capture.get(), buf, sizeof buf - 1, 0);
	std::filesystem::remove(path);
	EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "<3>[proxy] error: denied \"/etc/shadow\"\n");
}

TEST(JournalSink, FdIsJournalStreamComparesDeviceAndInode)
{
	const std::string mine = streamOf(STDERR_FILENO);
	EXPECT_TRUE(log::fdIsJournalStream(STDERR_FILENO, mine.c_str()));

	struct stat st {};
	ASSERT_EQ(::fstat(STDERR_FILENO, &st), 0);
	const std::string otherInode = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
	const std::string otherDevice = std::to_string(st.st_dev + 1) + ":" + std::to_string(st.st_ino);
	EXPECT_FALSE(log::fdIsJournalStream(STDERR_FILENO, otherInode.c_str()));
	EXPECT_FALSE(log::fdIsJournalStream(STDERR_FILENO, otherDevice.c_str()));

	for (const char *bad : {"", ":", "1", "1:", ":1", "a:b", "1:2x", " 1:2", "-1:2", "1:2:3", "99999999999999999999999:1"})
		EXPECT_FALSE(log::fdIsJournalStream(STDERR_FILENO, bad)) << '"' << bad << '"';
	EXPECT_FALSE(log::fdIsJournalStream(STDERR_FILENO, nullptr));
	EXPECT_FALSE(log::fdIsJournalStream(-1, mine.c_str()));
}

TEST(JournalSink, StderrIsJournalReadsTheEnvironment)
{
	const std::string mine = streamOf(STDERR_FILENO);
	{
		JournalStreamEnv env(mine.c_str());
		EXPECT_TRUE(log::stderrIsJournal());
	}
	{
		JournalStreamEnv env("1:1");
		EXPECT_FALSE(log::stderrIsJournal());
	}
	{
		JournalStreamEnv env(nullptr);
		EXPECT_FALSE(log::stderrIsJournal());
	}
}

TEST(JournalSink, StderrFormats)
{
	auto msg = record(spdlog::level::warn, "slow");
	spdlog::memory_buf_t out;
	log::stderrFormatter(true)->format(msg, out);
	EXPECT_EQ(std::string(out.data(), out.size()), "<4>[remote] warning: slow\n");

	out.clear();
	log::stderrFormatter(false)->format(msg, out);
	// "YYYY-MM-DD HH:MM:SS.mmm " first, digits where the pattern says so.
	const std::string line(out.data(), out.size());
	const std::string stamp = "dddd-dd-dd dd:dd:dd.ddd ";
	ASSERT_GT(line.size(), stamp.size()) << line;
	for (size_t i = 0; i < stamp.size(); ++i)
		EXPECT_TRUE(stamp[i] == 'd' ? std::isdigit(static_cast<unsigned char>(line[i])) != 0 : line[i] == stamp[i]) << line;
	EXPECT_EQ(line.substr(stamp.size()), "[remote] warning: slow\n");
}

TEST(JournalSink, DaemonPicksTheJournalOnlyWhenStderrIsIt)
{
	const std::string mine = streamOf(STDERR_FILENO);
	auto isJournal = [] { return std::dynamic_pointer_cast<log::JournalSink>(log::remote()->sinks().at(0)) != nullptr; };
	{
		JournalStreamEnv env(mine.c_str());
		EXPECT_EQ(log::setupDaemonLogging(spdlog::level::debug), log::LogTarget::Journal);
		EXPECT_TRUE(isJournal());
		EXPECT_EQ(log::rpmsg()->level(), spdlog::level::debug);
		EXPECT_EQ(log::setupDaemonLogging(spdlog::level::info, true), log::LogTarget::Stderr);
		EXPECT_FALSE(isJournal());
	}
	{
		JournalStreamEnv env(nullptr);
		EXPECT_EQ(log::setupDaemonLogging(spdlog::level::info), log::LogTarget::Stderr);
		EXPECT_FALSE(isJournal());
	}
	log::setup(); // back to the default for the other tests
}

TEST(JournalSink, SendsToARealJournal)
{
	if (!std::filesystem::exists("/run/systemd/journal/socket"))
		GTEST_SKIP() << "no journald here (/run/systemd/journal/socket is absent)";
	int rc = 1;
	auto sink = std::make_shared<log::JournalSink>("ampd-unit-test", [&rc](std::span<const iovec> iov) {
		rc = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
		return rc;
	});
	spdlog::logger logger("remote", sink);
	log::ScopedFields fields{{"REMOTE", "unit-test"}, {"STATE", "offline"}};
	logger.debug("ampd unit test: journal sink reaches journald");
	EXPECT_EQ(rc, 0) << "sd_journal_sendv: " << std::strerror(-rc);
}

} // namespace
} // namespace amp
