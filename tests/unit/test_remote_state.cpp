// SPDX-License-Identifier: MIT
// The remote life cycle's transition table: every legal transition, every
// illegal one refused, and the refusal messages clients see.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "remote_state.hpp"

using namespace amp::daemon;
using S = RemoteState;
using E = RemoteEvent;

namespace {

const S kStates[] = {S::Offline,  S::Loading, S::Starting, S::Running,  S::RunningDegraded,
		     S::Stopping, S::Crashed, S::Attached, S::Detached, S::Error};
const E kEvents[] = {E::Start,       E::FirmwareRefused, E::StartWritten,  E::StartFailed,  E::Up,
		     E::UpAttached,  E::ChannelDeadline, E::ChannelLost,   E::Crash,        E::Stop,
		     E::Stopped,     E::StopFailed,      E::KernelOffline, E::KernelRunning, E::KernelDetached};

} // namespace

TEST(RemoteState, TheLegalTransitions)
{
	struct Case {
		S from;
		E event;
		S to;
	};
	// The life cycle of docs/design.md, written out independently of the table.
	const Case expected[] = {
		{S::Offline, E::Start, S::Loading},
		{S::Error, E::Start, S::Loading},
		{S::Crashed, E::Start, S::Loading},
		{S::Detached, E::Start, S::Starting},
		{S::Loading, E::FirmwareRefused, S::Offline},
		{S::Loading, E::StartFailed, S::Error},
		{S::Loading, E::StartWritten, S::Starting},
		{S::Loading, E::Crash, S::Crashed},
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
		{S::Running, E::Crash, S::Crashed},
		{S::RunningDegraded, E::Crash, S::Crashed},
		{S::Attached, E::Crash, S::Crashed},
		{S::Running, E::Stop, S::Stopping},
		{S::RunningDegraded, E::Stop, S::Stopping},
		{S::Attached, E::Stop, S::Stopping},
		{S::Crashed, E::Stop, S::Stopping},
		{S::Stopping, E::Stopped, S::Offline},
		{S::Stopping, E::StopFailed, S::Error},
		{S::Stopping, E::Crash, S::Crashed},
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
	std::set<std::pair<S, E>> legal;
	for (const Case &c : expected) {
		SCOPED_TRACE(std::string(amp::protocol::toString(c.from)) + " + " + std::string(toString(c.event)));
		auto next = nextState(c.from, c.event);
		ASSERT_TRUE(next.has_value());
		EXPECT_EQ(*next, c.to);
		legal.insert({c.from, c.event});
	}
	EXPECT_EQ(transitionTable().size(), std::size(expected)) << "the table has transitions this test does not know";

	// Everything else is illegal.
	for (S s : kStates)
		for (E e : kEvents)
			if (!legal.count({s, e})) {
				SCOPED_TRACE(std::string(amp::protocol::toString(s)) + " + " + std::string(toString(e)));
				EXPECT_FALSE(nextState(s, e).has_value());
			}
}

TEST(RemoteState, NoTransitionStaysInPlaceAndEveryStateIsReachable)
{
	std::set<S> reached{S::Offline};
	for (const Transition &t : transitionTable()) {
		EXPECT_NE(t.from, t.to) << toString(t.event);
		reached.insert(t.to);
	}
	for (S s : kStates)
		EXPECT_TRUE(reached.count(s)) << amp::protocol::toString(s);
}

TEST(RemoteState, EveryEventHasAName)
{
	std::set<std::string_view> names;
	for (E e : kEvents) {
		EXPECT_NE(toString(e), "?");
		names.insert(toString(e));
	}
	EXPECT_EQ(names.size(), std::size(kEvents));
}

TEST(RemoteState, RequestsNeedTheirStates)
{
	for (S s : kStates) {
		bool startable = s == S::Offline || s == S::Error || s == S::Crashed || s == S::Detached;
		bool stoppable = s == S::Running || s == S::RunningDegraded || s == S::Attached || s == S::Crashed;
		EXPECT_EQ(requestAllowed(Request::Start, s), startable) << amp::protocol::toString(s);
		EXPECT_EQ(requestAllowed(Request::Stop, s), stoppable) << amp::protocol::toString(s);
		// A restart is a stop then a start: never in the middle of either.
		bool restartable = s != S::Loading && s != S::Starting && s != S::Stopping;
		EXPECT_EQ(requestAllowed(Request::Restart, s), restartable) << amp::protocol::toString(s);
		// Whatever a request allows, the table can take it from there.
		if (startable)
			EXPECT_TRUE(nextState(s, E::Start).has_value());
		if (stoppable)
			EXPECT_TRUE(nextState(s, E::Stop).has_value());
	}
}

TEST(RemoteState, RefusalSaysWhatIsAndWhatIsNeeded)
{
	EXPECT_EQ(refusal("r5-0", S::Starting, Request::Stop),
		  "remote r5-0 is starting; stop needs running, running-degraded, attached or crashed");
	EXPECT_EQ(refusal("r5-1", S::Running, Request::Start),
		  "remote r5-1 is running; start needs offline, error, crashed or detached");
}
