// SPDX-License-Identifier: MIT
// The blocking worker: jobs on its thread in order, completions on the loop,
// and a job still blocked when the worker goes (ampd exiting while a start
// hangs in the kernel). Run under TSan too (label tsan).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <systemd/sd-event.h>

#include "blocking_worker.hpp"
#include "event_loop.hpp"

using namespace amp::daemon;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<EventLoop> makeLoop()
{
	auto loop = EventLoop::create();
	EXPECT_TRUE(loop);
	return loop ? std::move(*loop) : nullptr;
}

// Run the loop until `done` holds or 10 s pass.
template <typename Pred> bool runUntil(EventLoop &loop, Pred done)
{
	auto end = std::chrono::steady_clock::now() + 10s;
	while (!done()) {
		if (std::chrono::steady_clock::now() > end)
			return false;
		sd_event_run(loop.get(), 10000);
	}
	return true;
}

TEST(BlockingWorker, JobsRunInOrderOnItsThreadAndCompleteOnTheLoop)
{
	auto loop = makeLoop();
	ASSERT_TRUE(loop);
	auto worker = BlockingWorker::create(*loop);
	ASSERT_TRUE(worker);
	constexpr int kJobs = 50;
	const auto loopThread = std::this_thread::get_id();
	// Touched by the jobs only (one thread, one at a time), read after all
	// completions: the worker's queue lock orders them.
	std::vector<int> ran;
	std::vector<std::thread::id> jobThreads;
	std::vector<int> completed;
	for (int i = 0; i < kJobs; ++i)
		(*worker)->submit([i, &ran, &jobThreads, &completed, loopThread]() -> std::function<void()> {
			ran.push_back(i);
			jobThreads.push_back(std::this_thread::get_id());
			return [i, &completed, loopThread] {
				EXPECT_EQ(std::this_thread::get_id(), loopThread);
				completed.push_back(i);
			};
		});
	EXPECT_EQ((*worker)->pending(), size_t(kJobs)) << "nothing completes before the loop runs";
	ASSERT_TRUE(runUntil(*loop, [&] { return completed.size() == size_t(kJobs); })) << completed.size();
	EXPECT_EQ((*worker)->pending(), 0u);
	ASSERT_EQ(ran.size(), size_t(kJobs));
	for (int i = 0; i < kJobs; ++i) {
		EXPECT_EQ(ran[i], i);
		EXPECT_EQ(completed[i], i);
		EXPECT_NE(jobThreads[i], loopThread);
		EXPECT_EQ(jobThreads[i], jobThreads[0]) << "one worker thread";
	}
}

TEST(BlockingWorker, AThrowingJobStillCompletes)
{
	auto loop = makeLoop();
	ASSERT_TRUE(loop);
	auto worker = BlockingWorker::create(*loop);
	ASSERT_TRUE(worker);
	bool after = false;
	(*worker)->submit([]() -> std::function<void()> { throw std::runtime_error("bad_alloc, say"); });
	(*worker)->submit([&after]() -> std::function<void()> { return [&after] { after = true; }; });
	ASSERT_TRUE(runUntil(*loop, [&] { return (*worker)->pending() == 0; }));
	EXPECT_TRUE(after) << "the next job runs and completes";
}

// ampd exits while a start hangs in the kernel: the worker object goes, its
// detached thread finishes the job later and touches only what it shares.
TEST(BlockingWorker, AJobStillBlockedWhenTheWorkerGoesNeverCompletes)
{
	auto loop = makeLoop();
	ASSERT_TRUE(loop);
	auto worker = BlockingWorker::create(*loop);
	ASSERT_TRUE(worker);
	std::atomic<bool> started{false}, release{false}, completionRan{false}, queuedRan{false};
	// Held by the blocked job's completion: it expires once the thread has
	// ended and the state it shared is gone.
	auto token = std::make_shared<int>(0);
	std::weak_ptr<int> watch = token;
	(*worker)->submit([&, token = std::move(token)]() mutable -> std::function<void()> {
		started = true;
		started.notify_all();
		release.wait(false);
		return [&completionRan, token] { completionRan = true; };
	});
	(*worker)->submit([&]() -> std::function<void()> {
		queuedRan = true;
		return {};
	});
	started.wait(false);
	worker->reset();
	release = true;
	release.notify_all();
	auto end = std::chrono::steady_clock::now() + 10s;
	while (!watch.expired() && std::chrono::steady_clock::now() < end) {
		sd_event_run(loop->get(), 1000);
		std::this_thread::yield();
	}
	ASSERT_TRUE(watch.expired()) << "the thread ended and dropped the completion";
	sd_event_run(loop->get(), 0);
	EXPECT_FALSE(completionRan) << "a completion after the worker is gone would touch freed objects";
	EXPECT_FALSE(queuedRan) << "jobs still queued are dropped";
}

} // namespace
