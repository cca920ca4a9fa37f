// SPDX-License-Identifier: MIT
// Discovery of remotes and of their channels; uevents decide when to look.
#include "manager.hpp"

#include <algorithm>

#include <sys/epoll.h>

#include "base/log.h"
#include "kernel/remoteproc.h"
#include "kernel/rpmsg.h"

namespace amp::daemon {

Manager::Manager(EventLoop &loop, BlockingWorker &worker, SysfsRoot root, const Config &config, RemoteTimings timings)
	: loop_(loop), worker_(worker), root_(std::move(root)), config_(config), timings_(timings),
	  context_{loop, worker, root_,
		   [this](const protocol::Event &e) {
			   if (listener_)
				   listener_(e);
		   },
		   [this] { rescanChannels(); },
		   [this] {
			   if (changed_)
				   changed_();
		   }}
{
}

Manager::~Manager()
{
	// Remotes first: their completions may still call into the listener.
	remotes_.clear();
}

Result<void> Manager::start()
{
	auto monitor = kernel::UeventMonitor::open();
	if (monitor) {
		monitor_.emplace(std::move(*monitor));
		auto source = loop_.addIo(monitor_->fd(), EPOLLIN, [this](uint32_t) { onUevent(); });
		if (!source)
			return unexpected(source.error());
		monitorSource_ = std::move(*source);
	} else {
		log::remote()->warn("no uevents ({}): channel changes are seen only while a remote changes state",
				    monitor.error().message());
	}
	rescanRemotes();
	for (const RemoteConfig &rc : config_.remotes) {
		bool found = false;
		for (auto &[index, r] : remotes_)
			found |= r->config() == &rc;
		if (!found)
			log::remote()->warn("{}: configured, but no remoteproc matches it (yet)", rc.alias);
	}
	return {};
}

const RemoteConfig *Manager::configFor(int index, const std::string &kernelName) const
{
	for (const RemoteConfig &rc : config_.remotes) {
		if (auto *n = std::get_if<std::string>(&rc.remoteproc); n && *n == kernelName)
			return &rc;
		if (auto *i = std::get_if<uint32_t>(&rc.remoteproc); i && static_cast<int>(*i) == index)
			return &rc;
	}
	return nullptr;
}

void Manager::rescanRemotes()
{
	auto found = kernel::Remoteproc::enumerate(root_);
	if (!found) {
		log::remote()->error("cannot list the remote cores: {}", found.error().message());
		return;
	}
	std::map<int, bool> present;
	std::vector<Remote *> added;
	for (const kernel::Remoteproc &rp : *found) {
		present[rp.index()] = true;
		if (remotes_.count(rp.index()))
			continue;
		std::string kernelName = rp.name().value_or("");
		const RemoteConfig *rc = configFor(rp.index(), kernelName);
		std::string alias = rc ? rc->alias : rp.devName();
		auto remote = std::make_unique<Remote>(context_, rp.index(), alias, kernelName, rc, timings_);
		added.push_back(remote.get());
		remotes_.emplace(rp.index(), std::move(remote));
	}
	for (auto it = remotes_.begin(); it != remotes_.end();) {
		if (!present.count(it->first)) {
			log::remote()->warn("{}: remoteproc{} is gone", it->second->alias(), it->first);
			it = remotes_.erase(it);
			if (changed_)
				changed_();
		} else {
			++it;
		}
	}
	rescanChannels();
	for (Remote *r : added)
		r->discover();
	if (!added.empty() && changed_)
		changed_();
}

void Manager::rescanChannels()
{
	// setChannels() may rescan again (a transition's poll); one pass suffices.
	if (rescanning_)
		return;
	rescanning_ = true;
	auto all = kernel::listChannels(root_);
	if (!all) {
		log::rpmsg()->warn("cannot list the rpmsg bus: {}", all.error().message());
		rescanning_ = false;
		return;
	}
	std::map<int, std::vector<kernel::RpmsgChannel>> byRemote;
	for (auto &c : *all)
		if (!kernel::isControlDevice(c) && c.remoteproc)
			byRemote[*c.remoteproc].push_back(std::move(c));
	// Collect first: a remote's reaction may change the map (never today).
	std::vector<std::pair<Remote *, std::vector<kernel::RpmsgChannel>>> work;
	for (auto &[index, r] : remotes_)
		work.emplace_back(r.get(), std::move(byRemote[index]));
	for (auto &[r, channels] : work)
		r->setChannels(std::move(channels));
	rescanning_ = false;
}

void Manager::onUevent()
{
	bool channels = false, cores = false;
	std::map<int, bool> poke;
	// Drain: one wake-up may carry many events; sysfs is read once after.
	for (int i = 0; i < 256; i++) {
		auto e = monitor_->receive();
		if (!e) {
			if (e.error().code == ENOBUFS) {
				log::remote()->warn("uevents were lost (ENOBUFS): rescanning everything");
				channels = cores = true;
				continue;
			}
			break; // EAGAIN
		}
		if (!*e)
			continue;
		const kernel::Uevent &ev = **e;
		if (ev.subsystem == "remoteproc") {
			if (ev.action == "add" || ev.action == "remove")
				cores = true;
			if (auto idx = kernel::Remoteproc::parseIndex(ev.deviceName()))
				poke[*idx] = true;
		} else {
			channels = true;
			if (auto idx = kernel::remoteprocOfPath(ev.devpath))
				poke[*idx] = true;
		}
	}
	if (cores)
		rescanRemotes();
	if (channels)
		rescanChannels();
	for (auto &[idx, _] : poke)
		if (auto it = remotes_.find(idx); it != remotes_.end())
			it->second->poke();
}

Remote *Manager::find(std::string_view name)
{
	for (auto &[index, r] : remotes_)
		if (r->alias() == name)
			return r.get();
	std::optional<int> idx = kernel::Remoteproc::parseIndex(name);
	if (!idx && !name.empty() && name.size() < 10 && name.find_first_not_of("0123456789") == std::string_view::npos)
		idx = std::stoi(std::string(name));
	if (idx)
		if (auto it = remotes_.find(*idx); it != remotes_.end())
			return it->second.get();
	for (auto &[index, r] : remotes_)
		if (!r->kernelName().empty() && r->kernelName() == name)
			return r.get();
	return nullptr;
}

std::vector<Remote *> Manager::remotes()
{
	std::vector<Remote *> out;
	for (auto &[index, r] : remotes_)
		out.push_back(r.get());
	return out;
}

std::vector<protocol::ChannelInfo> Manager::channels(const Remote *only)
{
	std::vector<protocol::ChannelInfo> out;
	for (auto &[index, r] : remotes_) {
		if (only && r.get() != only)
			continue;
		auto c = r->channels();
		out.insert(out.end(), c.begin(), c.end());
	}
	return out;
}

std::string Manager::statusLine() const
{
	if (remotes_.empty())
		return "no remote cores";
	std::string s;
	for (const auto &[index, r] : remotes_) {
		if (!s.empty())
			s += ", ";
		s += r->alias() + " " + std::string(protocol::toString(r->state()));
	}
	return s;
}

void Manager::stopAll(std::function<void()> done)
{
	auto remaining = std::make_shared<size_t>(1);
	auto finish = std::make_shared<std::function<void()>>(std::move(done));
	auto one = [remaining, finish](const std::string &alias, Result<protocol::ActionReply> r) {
		if (!r)
			log::remote()->error("{}: stop failed: {}", alias, r.error().context);
		else
			log::remote()->info("{}: {}", alias, r->detail);
		if (--*remaining == 0 && *finish)
			(*finish)();
	};
	for (auto &[index, r] : remotes_) {
		RemoteState s = r->state();
		if (s == RemoteState::Running || s == RemoteState::RunningDegraded || s == RemoteState::Attached ||
		    s == RemoteState::Stopping) {
			++*remaining;
			r->stop(true, "ampd's shutdown (on_sigterm: stop-all)",
				[one, alias = r->alias()](Result<protocol::ActionReply> res) { one(alias, std::move(res)); });
		}
	}
	if (--*remaining == 0 && *finish)
		(*finish)();
}

void Manager::pokeSoon(const std::string &alias)
{
	if (std::find(pokes_.begin(), pokes_.end(), alias) == pokes_.end())
		pokes_.push_back(alias);
	if (pokeSource_.active())
		return;
	auto src = loop_.addDefer([this] {
		pokeSource_.reset();
		for (const std::string &name : std::exchange(pokes_, {}))
			if (Remote *r = find(name))
				r->poke();
	});
	if (src)
		pokeSource_ = std::move(*src);
}

} // namespace amp::daemon
