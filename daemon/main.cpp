// SPDX-License-Identifier: MIT
// ampd: the remote-core daemon. Wires the config, the manager, the control
// server and systemd's readiness, watchdog and signals onto one sd-event loop.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <sys/resource.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "blocking_worker.hpp"
#include "config.hpp"
#include "control_server.hpp"
#include "event_loop.hpp"
#include "journal_sink.hpp"
#include "manager.hpp"
#include "notify.hpp"
#include "proxy_service.hpp"
#include "stream_hub.hpp"

namespace {

// sysexits' EX_CONFIG: the unit's RestartPreventExitStatus= keeps systemd
// from restarting into the same broken configuration.
constexpr int kExitConfig = 78;

struct Options {
	std::string root = "/";
	std::string config = "/etc/ampd/ampd.json";
	bool configGiven = false;
	std::string socket;
	std::string logLevel = "info";
	bool logStderr = false;
};

int run(const Options &opt)
{
	using namespace amp;
	using namespace amp::daemon;

	auto level = spdlog::level::from_str(opt.logLevel);
	// The journal (with REMOTE=, STATE=... fields) when systemd connected
	// stderr to it, else stderr.
	log::setupDaemonLogging(level, opt.logStderr);

	Config config;
	struct stat st {};
	if (opt.configGiven || stat(opt.config.c_str(), &st) == 0) {
		auto loaded = loadConfig(opt.config, ConfigOptions{systemUserLookup(), systemGroupLookup()});
		if (!loaded) {
			// One problem per line, each "file:line:col: what".
			fprintf(stderr, "ampd: configuration \"%s\" is not valid:\n%s\n", opt.config.c_str(),
				loaded.error().context.c_str());
			return kExitConfig;
		}
		config = std::move(*loaded);
	} else {
		log::control()->info("no configuration at \"{}\": every core discovered, root-only control", opt.config);
	}
	std::string socketPath = opt.socket.empty() ? config.socketPath : opt.socket;

	// sd-event's signal sources need the signals blocked in every thread,
	// so block them before the worker thread exists.
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, nullptr);
	signal(SIGPIPE, SIG_IGN);
	// Every stream holds two fds (its socket and its endpoint) and every
	// client one: the soft limit of 1024 would refuse clients long before
	// ampd's own limits do. ampd uses epoll, never select(), so the hard
	// limit is safe to take.
	if (struct rlimit nofile {}; getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}

	auto loop = EventLoop::create();
	if (!loop) {
		log::control()->critical("{}", loop.error().message());
		return 1;
	}
	Notifier notifier(**loop);
	auto worker = BlockingWorker::create(**loop);
	if (!worker) {
		log::control()->critical("{}", worker.error().message());
		return 1;
	}
	auto manager = std::make_unique<Manager>(**loop, **worker, SysfsRoot(opt.root), config);
	auto streams = std::make_unique<StreamHub>(**loop, *manager, SysfsRoot(opt.root));
	auto proxies = std::make_unique<ProxyService>(**loop, *manager, SysfsRoot(opt.root), config);
	auto server = std::make_unique<ControlServer>(**loop, *manager, config, SysfsRoot(opt.root));
	server->setStreams(streams.get());
	// Streams first: a client that hears "stopped" finds its stream down already.
	manager->setEventListener([&](const protocol::Event &e) {
		if (streams)
			streams->onEvent(e);
		if (proxies)
			proxies->onEvent(e);
		server->publish(e);
	});
	manager->setChangeListener([&] { notifier.status(manager->statusLine()); });

	if (auto r = server->listen(socketPath); !r) {
		log::control()->critical("cannot serve the control socket: {}", r.error().message());
		return 1;
	}
	log::control()->info("serving \"{}\"{}", socketPath, server->activated() ? " (socket activation)" : "");
	if (auto r = manager->start(); !r) {
		log::control()->critical("{}", r.error().message());
		return 1;
	}
	// Proxy channels of adopted remotes are up already.
	proxies->start();
	if (auto w = (*loop)->enableWatchdog(); w && *w)
		log::control()->info("watchdog enabled");

	int signals = 0;
	auto onSignal = [&] {
		if (++signals > 1 || config.onSigterm == Config::OnSigterm::Leave) {
			(*loop)->exit(0);
			return;
		}
		log::control()->info("stopping every remote before exit (on_sigterm: stop-all)");
		notifier.stopping();
		notifier.status("stopping the remotes");
		manager->stopAll([&] { (*loop)->exit(0); });
	};
	auto term = (*loop)->addSignal(SIGTERM, onSignal);
	auto intr = (*loop)->addSignal(SIGINT, onSignal);
	// An administrator's `kill -HUP` by habit must not end the daemon that
	// owns the cores (systemd counts death by SIGHUP as a clean exit: no
	// restart). Changes to the configuration take a restart, which adopts
	// the running remotes.
	auto hup = (*loop)->addSignal(SIGHUP, [&] {
		log::control()->warn("SIGHUP: ampd does not reload \"{}\"; restart it to apply changes (running remotes are adopted)",
				     opt.config);
	});
	if (!term || !intr || !hup) {
		log::control()->critical("cannot handle signals");
		return 1;
	}

	notifier.ready(manager->statusLine());
	auto result = (*loop)->run();
	notifier.stopping();
	// Endpoints go while the remotes they belong to are still known; then
	// the manager, whose remotes answer pending requests through the
	// server on the way out.
	server->setStreams(nullptr);
	proxies.reset();
	streams.reset();
	manager.reset();
	server.reset();
	if (!result) {
		log::control()->critical("{}", result.error().message());
		return 1;
	}
	log::control()->info("exiting; remotes left as they are");
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	Options opt;
	CLI::App app{"ampd: the daemon that starts, stops and watches remote processor cores "
		     "(remoteproc) and serves their rpmsg channels"};
	app.set_version_flag("--version", "ampd 0.1");
	app.add_option("--root", opt.root, "root prefix of the sys/ and dev/ trees (a simulator's; default /)");
	auto *cfg = app.add_option("--config", opt.config, "configuration file (default /etc/ampd/ampd.json)");
	app.add_option("--socket", opt.socket, "control socket (default: the configuration's, /run/ampd/ampd.sock)");
	app.add_option("--log-level", opt.logLevel, "trace, debug, info, warn, err, critical or off")
		->check(CLI::IsMember({"trace", "debug", "info", "warn", "warning", "err", "error", "critical", "off"}));
	app.add_flag("--log-stderr", opt.logStderr, "log to stderr even when it is connected to the journal");
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		return app.exit(e);
	}
	opt.configGiven = cfg->count() > 0;
	if (opt.logLevel == "warning")
		opt.logLevel = "warn";
	if (opt.logLevel == "error")
		opt.logLevel = "err";
	try {
		return run(opt);
	} catch (const std::exception &e) {
		fprintf(stderr, "ampd: fatal: %s\n", e.what());
		return 1;
	}
}
