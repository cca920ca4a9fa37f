// SPDX-License-Identifier: MIT
// ampctl: the command line of ampd; argv to a command of ampctl_core, CLI11's exceptions caught here.
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "ampctl.hpp"
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

	std::string remote, firmware, state, channel, file;
	double timeout = 60;
	bool wait = false, force = false;

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
			static constexpr std::string_view commands[] = {"list", "status", "start", "stop", "restart",
									 "wait", "events", "firmware"};
			std::string message = "unknown command \"" + rest.front() + "\"";
			if (auto near = amp::protocol::closestMatch(rest.front(), commands))
				message += " (did you mean " + *near + "?)";
			return usageError(ctx, message);
		}
		return usageError(ctx, e.what());
	}

	auto seconds = parseSeconds(timeout);
	if (!seconds)
		return usageError(ctx, "--timeout: expected seconds, more than 0 and at most 86400");
	auto opt = [](const CLI::Option *o, const std::string &v) { return o->count() ? std::optional<std::string>(v) : std::nullopt; };
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
