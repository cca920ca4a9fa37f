// SPDX-License-Identifier: MIT
// The remote life cycle as data: which event takes which state where, and
// which states each client request needs. Remote::setState() is the only
// writer of a state; this table is the only place that says what is legal.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/protocol.hpp"

namespace amp::daemon {

using RemoteState = protocol::RemoteState;

enum class RemoteEvent {
	Start,           // a client (or autostart, or the restart policy) asks for a start
	FirmwareRefused, // not found or not bootable: refused before the core was touched
	StartWritten,    // the kernel accepted `start` (or the recovery write)
	StartFailed,     // the kernel refused it
	Up,              // kernel says running and the expected channels are there
	UpAttached,      // the same for a core the kernel attached to
	ChannelDeadline, // running, but the expected channels did not come in time
	ChannelLost,     // an expected channel vanished while running
	Crash,           // the kernel reads `crashed`
	Stop,            // a client asks for a stop
	Stopped,         // `stop` written; the kernel reads offline
	StopFailed,      // the kernel refused `stop`
	KernelOffline,   // the kernel reads offline though we did not stop it
	KernelRunning,   // the kernel reads running/attached though we did not start it
	KernelDetached,  // the kernel reads detached
};
std::string_view toString(RemoteEvent event);

struct Transition {
	RemoteState from;
	RemoteEvent event;
	RemoteState to;
};

// Every legal transition; anything else is refused.
std::span<const Transition> transitionTable();
std::optional<RemoteState> nextState(RemoteState from, RemoteEvent event);

enum class Request { Start, Stop, Restart };
std::string_view toString(Request request);
// The states in which `request` may begin.
bool requestAllowed(Request request, RemoteState state);
// "remote r5-0 is starting; stop needs running, running-degraded, attached or crashed"
std::string refusal(std::string_view remote, RemoteState state, Request request);

// Whether endpoints can be made on the remote's channels in this state (its
// rpmsg bus is up, or coming up).
bool endpointsUsable(RemoteState state);
// The core is gone or going: its endpoints must only be closed, never
// DESTROY_EPT'd (6.1 oopses on a stopped remote's endpoint, kernel-abi.md 5).
bool endpointsGone(RemoteState state);

} // namespace amp::daemon
