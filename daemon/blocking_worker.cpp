// SPDX-License-Identifier: MIT
// The blocking-call thread: a job queue in, an eventfd-signalled completion queue out.
#include "blocking_worker.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/unique_fd.h"

namespace amp::daemon {

// Shared with the thread, which may outlive the worker object (detached).
struct BlockingWorker::Shared {
	std::mutex lock;
	std::condition_variable wake;
	std::deque<Job> jobs;
	std::deque<std::function<void()>> done;
	bool quit = false;
	bool busy = false;
	size_t pending = 0; // submitted, not yet completed on the loop
	UniqueFd eventFd;
};

namespace {

void workerMain(std::shared_ptr<BlockingWorker::Shared> shared)
{
	std::unique_lock<std::mutex> guard(shared->lock);
	for (;;) {
		shared->wake.wait(guard, [&] { return shared->quit || !shared->jobs.empty(); });
		if (shared->quit)
			return;
		BlockingWorker::Job job = std::move(shared->jobs.front());
		shared->jobs.pop_front();
		shared->busy = true;
		guard.unlock();
		std::function<void()> completion;
		try {
			completion = job();
		} catch (...) {
			// A job that throws (bad_alloc) still completes, with nothing
			// to run; the owner's deadline timer reports the failure.
		}
		guard.lock();
		shared->busy = false;
		shared->done.push_back(std::move(completion));
		uint64_t one = 1;
		// The counter only needs to be nonzero; EAGAIN at the maximum is fine.
		(void)!write(shared->eventFd.get(), &one, sizeof one);
	}
}

} // namespace

Result<std::unique_ptr<BlockingWorker>> BlockingWorker::create(EventLoop &loop)
{
	std::unique_ptr<BlockingWorker> w(new BlockingWorker());
	w->shared_ = std::make_shared<Shared>();
	w->shared_->eventFd = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!w->shared_->eventFd)
		return unexpected(lastError("eventfd for the blocking worker"));
	BlockingWorker *self = w.get();
	auto source = loop.addIo(w->shared_->eventFd.get(), EPOLLIN, [self](uint32_t) { self->drainCompletions(); });
	if (!source)
		return unexpected(source.error());
	w->completions_ = std::move(*source);
	try {
		std::thread(workerMain, w->shared_).detach();
	} catch (const std::system_error &e) {
		return unexpected(e.code().value(), "start the blocking worker thread");
	}
	return w;
}

BlockingWorker::~BlockingWorker()
{
	completions_.reset();
	if (shared_) {
		std::lock_guard<std::mutex> guard(shared_->lock);
		shared_->quit = true;
		shared_->jobs.clear();
		shared_->done.clear();
		shared_->wake.notify_all();
	}
}

void BlockingWorker::submit(Job job)
{
	std::lock_guard<std::mutex> guard(shared_->lock);
	shared_->jobs.push_back(std::move(job));
	shared_->pending++;
	shared_->wake.notify_one();
}

size_t BlockingWorker::pending() const
{
	std::lock_guard<std::mutex> guard(shared_->lock);
	return shared_->pending;
}

void BlockingWorker::drainCompletions()
{
	uint64_t count;
	(void)!read(shared_->eventFd.get(), &count, sizeof count);
	std::deque<std::function<void()>> done;
	{
		std::lock_guard<std::mutex> guard(shared_->lock);
		done.swap(shared_->done);
		shared_->pending -= done.size();
	}
	for (auto &completion : done)
		if (completion)
			completion();
}

} // namespace amp::daemon
