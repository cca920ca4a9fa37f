// SPDX-License-Identifier: MIT
// ampctl: the command line of ampd; argv to a command of ampctl_core, CLI11's exceptions caught here.
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "ampctl.hpp"
#include "cmd_proxy.hpp"
#include "protocol/text.hpp"

using namespace amp::cli;

namespace {

// The top-level help is written by hand (systemctl's layout, with the exit
// codes); a command's own -h keeps CLI11's generated text.
class Help : public CLI::Formatter {
public:
	std::string make_help(const CLI::App *app, std::string name, CLI::AppFormatMode mode) const override
	{
		if (!app->get_parent())
			return usageText();
		return CLI::Formatter::make_help(app, std::move(name), mode);
	}
};

int run(int argc, char **argv)
{
	Context ctx;
	ctx.out = &std::cout;
	ctx.err = &std::cerr;

	CLI::App app{"Control the remote cores managed by ampd", "ampctl"};
	app.formatter(std::make_shared<Help>());
	app.require_subcommand(1);
	// Global options after the command too: `ampctl status --json`.
	app.fallthrough();
	app.add_option("--socket", ctx.socket, "ampd's control socket");
	app.add_flag("--json", ctx.json, "print replies as JSON");

	std::string remote, firmware, state, channel, file, data, hex;
	double timeout = 60, interval = 1;
	bool wait = false, force = false, reply = false, direct = false, reattach = false, hexOut = false, textOut = false;
	// Signed, so that "-1" is refused rather than read as 2^64 - 1.
	std::int64_t count = 0, size = 16;

	auto *list = app.add_subcommand("list", "List remotes");
	auto *status = app.add_subcommand("status", "Show the state of one or all remotes");
	status->add_option("REMOTE", remote, "remote name");

	auto *start = app.add_subcommand("start", "Start a remote and wait for the outcome");
	start->add_option("REMOTE", remote, "remote name")->required();
	auto *startFirmware = start->add_option("--firmware", firmware, "firmware name under the search path");
	start->add_flag("--wait", wait, "join a start in progress; already running is success");
	start->add_option("--timeout", timeout, "seconds to wait for the outcome (default 60)");

	auto *stop = app.add_subcommand("stop", "Stop a remote");
	stop->add_option("REMOTE", remote, "remote name")->required();
	stop->add_flag("--force", force, "no shutdown message: stop at once");
	stop->add_option("--timeout", timeout, "seconds to wait for the outcome (default 60)");

	auto *restart = app.add_subcommand("restart", "Stop and start a remote");
	restart->add_option("REMOTE", remote, "remote name")->required();
	auto *restartFirmware = restart->add_option("--firmware", firmware, "firmware name under the search path");
	restart->add_option("--timeout", timeout, "seconds to wait for the outcome (default 60)");

	auto *waitCmd = app.add_subcommand("wait", "Wait until a remote is in a state or offers a channel");
	waitCmd->add_option("REMOTE", remote, "remote name")->required();
	auto *waitState = waitCmd->add_option("STATE", state, "state to wait for");
	auto *waitChannel = waitCmd->add_option("--channel", channel, "channel to wait for");
	waitCmd->add_option("--timeout", timeout, "seconds to wait (default 60)");

	auto *events = app.add_subcommand("events", "Follow state and channel events");
	events->add_option("REMOTE", remote, "remote name (all when absent)");

	auto *channels = app.add_subcommand("channels", "List the channels that are up");
	channels->add_option("REMOTE", remote, "remote name (all when absent)");

	auto *send = app.add_subcommand("send", "Send one message to a channel");
	send->add_option("REMOTE", remote, "remote name")->required();
	send->add_option("CHANNEL", channel, "channel name")->required();
	auto *sendData = send->add_option("DATA", data, "the message: these bytes as typed");
	auto *sendFile = send->add_option("--file", file, "the message: this file's bytes (at most 496; - is stdin)");
	auto *sendHex = send->add_option("--hex", hex, "the message: hex bytes, \"de ad be ef\" or \"deadbeef\"");
	send->add_flag("--reply", reply, "wait for one message back and print it");
	auto *sendTimeout = send->add_option("--timeout", timeout, "seconds for all of it (default 10)");
	send->add_flag("--direct", direct, "hold the kernel endpoint: no relay through ampd");

	auto *listen = app.add_subcommand("listen", "Print the messages a channel sends");
	listen->add_option("REMOTE", remote, "remote name")->required();
	listen->add_option("CHANNEL", channel, "channel name")->required();
	auto *listenCount = listen->add_option("--count", count, "end after N messages");
	auto *listenTimeout = listen->add_option("--timeout", timeout, "seconds to listen (with --count: for N messages)");
	auto *listenHex = listen->add_flag("--hex", hexOut, "every message in hex");
	listen->add_flag("--text", textOut, "every message as text (\\xNN for other bytes)")->excludes(listenHex);
	listen->add_flag("--reattach", reattach, "stay through the remote going away and coming back");
	listen->add_flag("--direct", direct, "hold the kernel endpoint: no relay through ampd");

	auto *ping = app.add_subcommand("ping", "Round trips against an echoing remote");
	ping->add_option("REMOTE", remote, "remote name")->required();
	ping->add_option("CHANNEL", channel, "channel name")->required();
	auto *pingCount = ping->add_option("--count", count, "round trips (default: until interrupted)");
	ping->add_option("--size", size, "bytes a message (default 16, at most 496)");
	ping->add_option("--interval", interval, "seconds from one send to the next (default 1; 0: at once)");
	auto *pingTimeout = ping->add_option("--timeout", timeout, "seconds to wait for each reply (default 1)");
	ping->add_flag("--direct", direct, "hold the kernel endpoint: no relay through ampd");

	ProxyArgs proxyArgs;
	auto *proxyCmd = app.add_subcommand("proxy", "Serve the OpenAMP proxy (RPC) for a remote, console on the terminal");
	proxyCmd->add_option("REMOTE", proxyArgs.remote, "remote name")->required();
	proxyCmd->add_option("--directory", proxyArgs.directory, "the remote's files live beneath it (default: .)");
	proxyCmd->add_option("--channel", proxyArgs.channel, "channel name (default rpmsg-openamp-demo-channel)");
	proxyCmd->add_option("--max-open-files", proxyArgs.maxOpenFiles, "files open at once (default 16)");
	auto *proxyFirmware = proxyCmd->add_option("--firmware", firmware, "start the remote with this firmware first");
	auto *proxyTimeout = proxyCmd->add_option("--timeout", timeout, "seconds for that start (default 60)");

	std::string sizes;
	std::uint64_t seed = 0;
	bool stopAfter = false, noStop = false;
	auto *echoTest = app.add_subcommand("echo-test", "The OpenAMP echo test: every payload size, every byte checked");
	echoTest->add_option("REMOTE", remote, "remote name")->required();
	auto *echoRounds = echoTest->add_option("--rounds", count, "passes over the sizes (default 1)");
	auto *echoSizes = echoTest->add_option("--sizes", sizes, "payload sizes A..B (default 1..472)");
	auto *echoFirmware = echoTest->add_option("--firmware", firmware, "start (or restart) the remote with this firmware first");
	auto *echoStop = echoTest->add_flag("--stop", stopAfter, "then have ampd stop the remote with its shutdown message");
	auto *echoNoStop = echoTest->add_flag("--no-stop", noStop, "leave the remote running (the default without --firmware)");
	echoStop->excludes(echoNoStop);
	auto *echoTimeout = echoTest->add_option("--timeout", timeout, "seconds to wait for each echo (default 2)");
	echoTest->add_flag("--direct", direct, "hold the kernel endpoint: no relay through ampd");

	auto *matmul = app.add_subcommand("matmul", "The OpenAMP matrix multiplication: two 6x6 matrices, the product checked");
	matmul->add_option("REMOTE", remote, "remote name")->required();
	auto *matmulCount = matmul->add_option("--count", count, "multiplications (default 1)");
	auto *matmulSeed = matmul->add_option("--seed", seed, "seed of the matrices (default: from the clock)");
	auto *matmulTimeout = matmul->add_option("--timeout", timeout, "seconds to wait for each product (default 2)");
	matmul->add_flag("--direct", direct, "hold the kernel endpoint: no relay through ampd");

	auto *fw = app.add_subcommand("firmware", "Firmware commands");
	fw->require_subcommand(1);
	auto *inspect = fw->add_subcommand("inspect", "What the kernel would do with an image");
	inspect->add_option("FILE", file, "firmware image")->required();

	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &) {
		std::cout << app.help();
		return kExitOk;
	} catch (const CLI::CallForAllHelp &) {
		std::cout << app.help("", CLI::AppFormatMode::All);
		return kExitOk;
	} catch (const CLI::ParseError &e) {
		// "A subcommand is required" is CLI11's word for a typo in the command.
		auto rest = app.remaining();
		if (app.get_subcommands().empty() && !rest.empty() && !rest.front().empty() && rest.front()[0] != '-') {
			static constexpr std::string_view commands[] = {"list",	  "status", "start", "stop", "restart", "wait",
									 "events", "channels", "send", "listen", "ping", "echo-test", "matmul", "proxy", "firmware"};
			std::string message = "unknown command \"" + rest.front() + "\"";
			if (auto near = amp::protocol::closestMatch(rest.front(), commands))
				message += " (did you mean " + *near + "?)";
			return usageError(ctx, message);
		}
		return usageError(ctx, e.what());
	}

	// What the commands cannot see once it is unsigned; 0 they refuse themselves.
	if (count < 0)
		return usageError(ctx, "--count: expected at least 1");
	if (size < 0)
		return usageError(ctx, "--size: expected 0 to 496 bytes");
	auto seconds = parseSeconds(timeout);
	if (!seconds)
		return usageError(ctx, "--timeout: expected seconds, more than 0 and at most 86400");
	auto opt = [](const CLI::Option *o, const std::string &v) { return o->count() ? std::optional<std::string>(v) : std::nullopt; };
	// A timeout the command has its own default for.
	auto timeoutOr = [&](const CLI::Option *o, std::chrono::milliseconds fallback) { return o->count() ? *seconds : fallback; };
	std::optional<std::string> remoteOpt = remote.empty() ? std::nullopt : std::optional<std::string>(remote);

	if (*list)
		return cmdList(ctx);
	if (*status)
		return cmdStatus(ctx, remoteOpt);
	if (*start)
		return cmdStart(ctx, StartArgs{remote, opt(startFirmware, firmware), wait, *seconds});
	if (*stop)
		return cmdStop(ctx, remote, force, *seconds);
	if (*restart)
		return cmdRestart(ctx, remote, opt(restartFirmware, firmware), *seconds);
	if (*waitCmd)
		return cmdWait(ctx, remote, opt(waitState, state), opt(waitChannel, channel), *seconds);
	if (*events)
		return cmdEvents(ctx, remoteOpt);
	if (*inspect)
		return cmdFirmwareInspect(ctx, file);
	if (*channels)
		return cmdChannels(ctx, remoteOpt);
	if (*send)
		return cmdSend(ctx, SendArgs{remote, channel, opt(sendData, data), opt(sendFile, file), opt(sendHex, hex), reply,
					     timeoutOr(sendTimeout, SendArgs::kSendTimeout), direct});
	if (*listen) {
		auto format = hexOut ? MessageFormat::Hex : textOut ? MessageFormat::Text : MessageFormat::Auto;
		return cmdListen(ctx, ListenArgs{remote, channel, listenCount->count() ? std::optional<std::uint64_t>(count) : std::nullopt,
						 listenTimeout->count() ? std::optional(*seconds) : std::nullopt, format, reattach, direct});
	}
	if (*ping) {
		// 0 is allowed here: back to back, for throughput.
		auto every = interval == 0 ? std::optional(std::chrono::milliseconds(0)) : parseSeconds(interval);
		if (!every)
			return usageError(ctx, "--interval: expected seconds, at least 0 and at most 86400");
		return cmdPing(ctx, PingArgs{remote, channel, pingCount->count() ? std::optional<std::uint64_t>(count) : std::nullopt,
					     static_cast<std::size_t>(size), *every,
					     timeoutOr(pingTimeout, std::chrono::milliseconds(1000)), direct});
	}
	if (*proxyCmd) {
		proxyArgs.firmware = opt(proxyFirmware, firmware);
		proxyArgs.timeout = timeoutOr(proxyTimeout, amp::Client::kActionTimeout);
		return cmdProxy(ctx, proxyArgs);
	}
	if (*echoTest) {
		EchoTestArgs a;
		a.remote = remote;
		if (echoRounds->count())
			a.rounds = static_cast<std::uint64_t>(count);
		if (echoSizes->count()) {
			auto range = parseSizeRange(sizes);
			if (!range)
				return usageError(ctx, "--sizes: expected A..B or N, with 1 <= A <= B <= 472");
			a.minSize = range->first;
			a.maxSize = range->second;
		}
		a.firmware = opt(echoFirmware, firmware);
		if (echoStop->count())
			a.stop = true;
		else if (echoNoStop->count())
			a.stop = false;
		a.timeout = timeoutOr(echoTimeout, std::chrono::milliseconds(2000));
		a.direct = direct;
		return cmdEchoTest(ctx, a);
	}
	if (*matmul)
		return cmdMatmul(ctx, MatmulArgs{remote, matmulCount->count() ? static_cast<std::uint64_t>(count) : 1,
						 matmulSeed->count() ? std::optional<std::uint64_t>(seed) : std::nullopt,
						 timeoutOr(matmulTimeout, std::chrono::milliseconds(2000)), direct});
	return usageError(ctx, "no command given");
}

} // namespace

int main(int argc, char **argv)
{
	try {
		return run(argc, argv);
	} catch (const std::exception &e) {
		// Nothing in ampctl_core throws on purpose; this is std::bad_alloc and the like.
		std::cerr << "ampctl: " << e.what() << "\n";
		return kExitFailed;
	}
}
