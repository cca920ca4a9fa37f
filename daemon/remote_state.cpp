// SPDX-License-Identifier: MIT
// The transition table of the remote life cycle (docs/design.md).
#include "remote_state.hpp"

#include <array>
#include <vector>

namespace amp::daemon {

using S = RemoteState;
using E = RemoteEvent;

namespace {

constexpr Transition kTable[] = {
	// start: offline or failed cores load firmware; a detached one is attached
	{S::Offline, E::Start, S::Loading},
	{S::Error, E::Start, S::Loading},
	{S::Crashed, E::Start, S::Loading}, // through the kernel's recovery
	{S::Detached, E::Start, S::Starting},
	{S::Loading, E::FirmwareRefused, S::Offline},
	{S::Loading, E::StartFailed, S::Error},
	{S::Loading, E::StartWritten, S::Starting},
	{S::Loading, E::Crash, S::Crashed},
	// waiting for the channels
	{S::Starting, E::Up, S::Running},
	{S::Starting, E::UpAttached, S::Attached},
	{S::Starting, E::ChannelDeadline, S::RunningDegraded},
	{S::Starting, E::Crash, S::Crashed},
	{S::Starting, E::KernelOffline, S::Error},
	{S::Starting, E::KernelDetached, S::Detached},
	{S::RunningDegraded, E::Up, S::Running},
	{S::RunningDegraded, E::UpAttached, S::Attached},
	{S::Running, E::ChannelLost, S::RunningDegraded},
	{S::Attached, E::ChannelLost, S::RunningDegraded},
	// failures while up
	{S::Running, E::Crash, S::Crashed},
	{S::RunningDegraded, E::Crash, S::Crashed},
	{S::Attached, E::Crash, S::Crashed},
	// stop
	{S::Running, E::Stop, S::Stopping},
	{S::RunningDegraded, E::Stop, S::Stopping},
	{S::Attached, E::Stop, S::Stopping},
	{S::Crashed, E::Stop, S::Stopping},
	{S::Stopping, E::Stopped, S::Offline},
	{S::Stopping, E::StopFailed, S::Error},
	{S::Stopping, E::Crash, S::Crashed},
	// the kernel changed under us (a shell script, the kernel's own recovery)
	{S::Running, E::KernelOffline, S::Offline},
	{S::RunningDegraded, E::KernelOffline, S::Offline},
	{S::Attached, E::KernelOffline, S::Offline},
	{S::Crashed, E::KernelOffline, S::Offline},
	{S::Error, E::KernelOffline, S::Offline},
	{S::Detached, E::KernelOffline, S::Offline},
	{S::Offline, E::KernelRunning, S::Starting},
	{S::Error, E::KernelRunning, S::Starting},
	{S::Crashed, E::KernelRunning, S::Starting},
	{S::Detached, E::KernelRunning, S::Starting},
	{S::Offline, E::KernelDetached, S::Detached},
	{S::Running, E::KernelDetached, S::Detached},
	{S::RunningDegraded, E::KernelDetached, S::Detached},
	{S::Attached, E::KernelDetached, S::Detached},
};

struct Allowed {
	Request request;
	std::vector<RemoteState> states;
};

const std::array<Allowed, 3> &allowedTable()
{
	static const std::array<Allowed, 3> table{{
		{Request::Start, {S::Offline, S::Error, S::Crashed, S::Detached}},
		{Request::Stop, {S::Running, S::RunningDegraded, S::Attached, S::Crashed}},
		{Request::Restart,
		 {S::Offline, S::Error, S::Crashed, S::Detached, S::Running, S::RunningDegraded, S::Attached}},
	}};
	return table;
}

} // namespace

std::string_view toString(RemoteEvent event)
{
	switch (event) {
	case E::Start: return "start";
	case E::FirmwareRefused: return "firmware-refused";
	case E::StartWritten: return "start-written";
	case E::StartFailed: return "start-failed";
	case E::Up: return "up";
	case E::UpAttached: return "up-attached";
	case E::ChannelDeadline: return "channel-deadline";
	case E::ChannelLost: return "channel-lost";
	case E::Crash: return "crash";
	case E::Stop: return "stop";
	case E::Stopped: return "stopped";
	case E::StopFailed: return "stop-failed";
	case E::KernelOffline: return "kernel-offline";
	case E::KernelRunning: return "kernel-running";
	case E::KernelDetached: return "kernel-detached";
	}
	return "?";
}

std::string_view toString(Request request)
{
	switch (request) {
	case Request::Start: return "start";
	case Request::Stop: return "stop";
	case Request::Restart: return "restart";
	}
	return "?";
}

std::span<const Transition> transitionTable()
{
	return kTable;
}

std::optional<RemoteState> nextState(RemoteState from, RemoteEvent event)
{
	for (const Transition &t : kTable)
		if (t.from == from && t.event == event)
			return t.to;
	return std::nullopt;
}

bool requestAllowed(Request request, RemoteState state)
{
	for (const Allowed &a : allowedTable())
		if (a.request == request)
			for (RemoteState s : a.states)
				if (s == state)
					return true;
	return false;
}

std::string refusal(std::string_view remote, RemoteState state, Request request)
{
	std::string needs;
	for (const Allowed &a : allowedTable()) {
		if (a.request != request)
			continue;
		for (size_t i = 0; i < a.states.size(); i++) {
			if (i)
				needs += i + 1 == a.states.size() ? " or " : ", ";
			needs += protocol::toString(a.states[i]);
		}
	}
	return "remote " + std::string(remote) + " is " + std::string(protocol::toString(state)) + "; " +
	       std::string(toString(request)) + " needs " + needs;
}

bool endpointsUsable(RemoteState s)
{
	return s == RemoteState::Starting || s == RemoteState::Running || s == RemoteState::RunningDegraded ||
	       s == RemoteState::Attached;
}

bool endpointsGone(RemoteState s)
{
	return s == RemoteState::Offline || s == RemoteState::Crashed || s == RemoteState::Error ||
	       s == RemoteState::Detached || s == RemoteState::Loading;
}

} // namespace amp::daemon
