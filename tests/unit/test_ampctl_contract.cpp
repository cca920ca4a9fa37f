// SPDX-License-Identifier: MIT
// ampctl's contract with scripts: exit codes per errno and stage, outcomes, error words, help text.
#include <gtest/gtest.h>

#include <cerrno>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ampctl.hpp"

using namespace amp;
using namespace amp::cli;

TEST(AmpctlExit, ErrnoMeansWhatItsStageSays)
{
	struct Case {
		int errnum;
		Stage stage;
		int exit;
	} cases[] = {
		// connect(): every failure but permissions and time is "no daemon".
		{ENOENT, Stage::Connect, kExitUnreachable},
		{ECONNREFUSED, Stage::Connect, kExitUnreachable},
		{ECONNRESET, Stage::Connect, kExitUnreachable},
		{EPROTONOSUPPORT, Stage::Connect, kExitUnreachable},
		{EACCES, Stage::Connect, kExitDenied},
		{EPERM, Stage::Connect, kExitDenied},
		{ETIMEDOUT, Stage::Connect, kExitTimeout},
		// ampd's refusals.
		{ENOENT, Stage::Request, kExitNotFound},
		{ENODEV, Stage::Request, kExitNotFound},
		{EACCES, Stage::Request, kExitDenied},
		{EPERM, Stage::Request, kExitDenied},
		{ETIMEDOUT, Stage::Request, kExitTimeout},
		{EBUSY, Stage::Request, kExitBusy},
		{EALREADY, Stage::Request, kExitBusy},
		{ECONNRESET, Stage::Request, kExitUnreachable},
		{EINVAL, Stage::Request, kExitFailed},
		{EIO, Stage::Request, kExitFailed},
		{ENOEXEC, Stage::Request, kExitFailed},
		// An open stream: the remote gone, a message refused.
		{ENOTCONN, Stage::Stream, kExitFailed},
		{EPIPE, Stage::Stream, kExitFailed},
		{EMSGSIZE, Stage::Stream, kExitFailed},
		{ETIMEDOUT, Stage::Stream, kExitTimeout},
		// Our own files.
		{ENOENT, Stage::Local, kExitNotFound},
		{ENOTDIR, Stage::Local, kExitNotFound},
		{EACCES, Stage::Local, kExitDenied},
		{EISDIR, Stage::Local, kExitFailed},
	};
	for (const auto &c : cases)
		EXPECT_EQ(exitCodeFor(c.errnum, c.stage), c.exit) << errnoName(c.errnum) << " at stage " << static_cast<int>(c.stage);
	// The numbers themselves are the contract (docs/ampctl.md).
	EXPECT_EQ(kExitOk, 0);
	EXPECT_EQ(kExitFailed, 1);
	EXPECT_EQ(kExitUsage, 2);
	EXPECT_EQ(kExitNotFound, 3);
	EXPECT_EQ(kExitDenied, 4);
	EXPECT_EQ(kExitTimeout, 5);
	EXPECT_EQ(kExitUnreachable, 6);
	EXPECT_EQ(kExitBusy, 7);
}

TEST(AmpctlExit, OnlyTheIntendedStateIsSuccess)
{
	for (int i = 0; i <= static_cast<int>(RemoteState::Error); ++i) {
		auto s = static_cast<RemoteState>(i);
		EXPECT_EQ(actionSucceeded(Action::Start, s), s == RemoteState::Running || s == RemoteState::Attached) << toString(s);
		EXPECT_EQ(actionSucceeded(Action::Restart, s), s == RemoteState::Running || s == RemoteState::Attached) << toString(s);
		EXPECT_EQ(actionSucceeded(Action::Stop, s), s == RemoteState::Offline || s == RemoteState::Detached) << toString(s);
	}
}

TEST(AmpctlErrors, WordedOnceForTheUser)
{
	EXPECT_EQ(errorText(Error{ENOENT, "connect to /run/ampd/ampd.sock"}, Stage::Connect, "status", "/run/ampd/ampd.sock"),
		  "cannot connect to ampd at /run/ampd/ampd.sock: No such file or directory (is ampd running?)");
	EXPECT_EQ(errorText(Error{EACCES, "connect to /s"}, Stage::Connect, "start r5-0", "/s"),
		  "cannot connect to ampd at /s: Permission denied (the socket's group may talk to ampd; ask for membership or use sudo)");
	EXPECT_EQ(errorText(Error{EBUSY, "remote r5-0 is running; start needs offline"}, Stage::Request, "start r5-0", "/s"),
		  "start r5-0: remote r5-0 is running; start needs offline");
	EXPECT_EQ(errorText(Error{EIO, ""}, Stage::Request, "stop r5-0", "/s"), "stop r5-0: Input/output error");
}

TEST(AmpctlErrors, ReportGoesToStderrAndWithJsonToStdoutToo)
{
	std::ostringstream out, err;
	Context ctx{"/s", false, &out, &err};
	EXPECT_EQ(reportError(ctx, Error{ENODEV, "no remote \"r5-9\""}, Stage::Request, "status r5-9"), kExitNotFound);
	EXPECT_EQ(err.str(), "ampctl: status r5-9: no remote \"r5-9\"\n");
	EXPECT_EQ(out.str(), "");

	ctx.json = true;
	err.str("");
	EXPECT_EQ(reportError(ctx, Error{ECONNREFUSED, "connect to /s"}, Stage::Connect, "list"), kExitUnreachable);
	auto j = nlohmann::json::parse(out.str());
	EXPECT_EQ(j["ok"], false);
	EXPECT_EQ(j["error"]["code"], "ECONNREFUSED");
	EXPECT_EQ(j["error"]["errno"], ECONNREFUSED);
	EXPECT_EQ(j["error"]["message"], "connect to /s");

	// ampd's own error reply is printed as it came.
	out.str("");
	std::string reply = R"({"error":{"code":"EBUSY","errno":16,"message":"busy"},"id":2,"ok":false,"type":"start"})";
	EXPECT_EQ(reportError(ctx, Error{EBUSY, "busy"}, Stage::Request, "start r5-0", reply), kExitBusy);
	EXPECT_EQ(out.str(), reply + "\n");
}

TEST(AmpctlUsage, HelpNamesEveryCommandAndExitCode)
{
	std::string help = usageText();
	for (const char *word : {"list", "status [REMOTE]", "start REMOTE", "stop REMOTE", "--force", "restart REMOTE",
				 "wait REMOTE STATE", "--channel NAME", "events [REMOTE]", "firmware inspect FILE", "--socket PATH",
				 "--json", "$AMPD_SOCKET", "/run/ampd/ampd.sock", "--timeout S", "--wait", "channels [REMOTE]",
				 "send REMOTE CHANNEL DATA", "--file F", "--hex H", "--reply", "--direct", "listen REMOTE CHANNEL",
				 "--count N", "--hex | --text", "--reattach", "ping REMOTE CHANNEL", "--size B", "--interval S"})
		EXPECT_NE(help.find(word), std::string::npos) << word;
	for (int code = 0; code <= 7; ++code)
		EXPECT_NE(help.find("\n  " + std::to_string(code) + "  "), std::string::npos) << "exit code " << code;

	std::ostringstream out, err;
	Context ctx{"/s", false, &out, &err};
	EXPECT_EQ(usageError(ctx, "wait needs a STATE or --channel NAME"), kExitUsage);
	EXPECT_EQ(err.str(), "ampctl: wait needs a STATE or --channel NAME\nTry 'ampctl --help' for more information.\n");
}

TEST(AmpctlUsage, TimeoutSeconds)
{
	EXPECT_EQ(parseSeconds(1), std::chrono::milliseconds(1000));
	EXPECT_EQ(parseSeconds(2.5), std::chrono::milliseconds(2500));
	EXPECT_EQ(parseSeconds(0.0001), std::chrono::milliseconds(1)) << "a tiny wait is still a wait";
	EXPECT_FALSE(parseSeconds(0));
	EXPECT_FALSE(parseSeconds(-1));
	EXPECT_FALSE(parseSeconds(1e12));
	EXPECT_FALSE(parseSeconds(std::numeric_limits<double>::quiet_NaN()));
}
