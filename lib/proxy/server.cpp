// SPDX-License-Identifier: MIT
// The proxy server: requests checked, executed beneath the directory, answered.
#include "proxy/server.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include <unistd.h>

#include "base/log.h"

namespace amp::proxy {

namespace {

std::string octal(int32_t v)
{
	char buf[16];
	snprintf(buf, sizeof buf, "0%o", unsigned(v));
	return buf;
}

std::string hex(int32_t v)
{
	char buf[16];
	snprintf(buf, sizeof buf, "0x%x", unsigned(v));
	return buf;
}

} // namespace

ProxyServer::ProxyServer(const ConfinedDir &dir, Console &console, Send send, ServerOptions options)
	: dir_(dir), console_(console), send_(std::move(send)), options_(std::move(options)),
	  refusals_(options_.refusalLog)
{
	options_.maxOpenFiles = std::clamp(options_.maxOpenFiles, 1u, kMaxOpenFilesLimit);
	files_.resize(options_.maxOpenFiles);
}

ProxyServer::~ProxyServer()
{
	closeAll();
}

void ProxyServer::start()
{
	send_({reinterpret_cast<const uint8_t *>(kInitMessage.data()), kInitMessage.size()});
}

size_t ProxyServer::openFiles() const
{
	return size_t(std::count_if(files_.begin(), files_.end(), [](const UniqueFd &f) { return f.valid(); }));
}

std::string ProxyServer::summary() const
{
	return std::to_string(stats_.requests) + " requests, " + std::to_string(stats_.refused) + " refused (" +
	       std::to_string(stats_.malformed) + " malformed), " + std::to_string(stats_.opened) + " files opened, " +
	       std::to_string(stats_.bytesRead) + " bytes read, " + std::to_string(stats_.bytesWritten) + " written";
}

UniqueFd *ProxyServer::file(int32_t fd)
{
	int64_t i = int64_t(fd) - kFirstFileFd;
	if (i < 0 || i >= int64_t(files_.size()) || !files_[size_t(i)])
		return nullptr;
	return &files_[size_t(i)];
}

void ProxyServer::closeAll()
{
	for (auto &f : files_)
		f.reset();
}

void ProxyServer::end(std::string_view why)
{
	if (state_ == State::Ended)
		return;
	size_t open = openFiles();
	closeAll();
	console_.flush();
	state_ = State::Ended;
	log::ScopedFields fields{{"REMOTE", options_.name}};
	// Refusals the rate limit held back since its last line would
	// otherwise never be counted in the log: the next refusal that says so
	// may never come.
	uint64_t unlogged = refusals_.takeSuppressed();
	log::proxy()->info("{}: proxy session over ({}){}; {}{}", options_.name, why,
			   open ? ", " + std::to_string(open) + " files left open closed" : "", summary(),
			   unlogged ? "; " + std::to_string(unlogged) + " refusals not logged (rate limit)" : "");
}

void ProxyServer::reply(Call call, int32_t result, std::span<const uint8_t> data)
{
	Message m = encodeReply(uint32_t(call), result, data);
	send_(m.span());
}

bool ProxyServer::mayLog()
{
	if (!refusals_.allow())
		return false;
	if (uint64_t n = refusals_.takeSuppressed())
		log::proxy()->warn("{}: {} more refusals not logged (rate limit)", options_.name, n);
	return true;
}

void ProxyServer::refuse(uint32_t call, const std::string &what, const std::string &why)
{
	stats_.refused++;
	if (mayLog())
		log::proxy()->warn("{}: refused {}{}{}: {}", options_.name, callName(call), what.empty() ? "" : " ", what,
				   why);
	if (expectsReply(call))
		reply(Call(call), -1);
}

ProxyServer::State ProxyServer::handle(std::span<const uint8_t> message)
{
	log::ScopedFields fields{{"REMOTE", options_.name}};
	if (state_ == State::Ended) {
		log::proxy()->debug("{}: {}-byte message after the session ended: ignored", options_.name, message.size());
		return state_;
	}
	if (state_ == State::WaitingForInput) {
		// The remote waits for its READ's answer and sends nothing else;
		// one that does gets that READ failed first, so replies stay in
		// order and nothing queues up behind the console.
		state_ = State::Serving;
		refuse(uint32_t(Call::Read), "0", "another request came while it waited for console input");
	}
	stats_.requests++;
	std::optional<uint32_t> id;
	auto request = decodeRequest(message, &id);
	if (!request) {
		stats_.malformed++;
		if (id && expectsReply(*id)) {
			refuse(*id, "", "malformed: " + request.error().context);
		} else {
			// No call to answer: an unknown id, or too short to have one.
			if (mayLog())
				log::proxy()->warn("{}: ignored a {}-byte message: {}", options_.name, message.size(),
						   request.error().context);
		}
		return state_;
	}
	std::visit(
		[&](const auto &r) {
			using T = std::decay_t<decltype(r)>;
			if constexpr (std::is_same_v<T, OpenRequest>) {
				doOpen(r);
			} else if constexpr (std::is_same_v<T, CloseRequest>) {
				doClose(r);
			} else if constexpr (std::is_same_v<T, WriteRequest>) {
				doWrite(r);
			} else if constexpr (std::is_same_v<T, ReadRequest>) {
				doRead(r);
			} else if constexpr (std::is_same_v<T, AckRequest>) {
				log::proxy()->debug("{}: ACK {}", options_.name, r.status);
			} else {
				termed_ = true;
				end("the remote sent TERM");
			}
		},
		*request);
	return state_;
}

void ProxyServer::doOpen(const OpenRequest &r)
{
	std::string what = quote(r.path) + " flags " + hex(r.flags) + " mode " + octal(r.mode);
	auto spec = translateOpen(r.flags, r.mode);
	if (!spec) {
		refuse(uint32_t(Call::Open), what, spec.error().context);
		return;
	}
	auto slot = std::find_if(files_.begin(), files_.end(), [](const UniqueFd &f) { return !f.valid(); });
	if (slot == files_.end()) {
		refuse(uint32_t(Call::Open), what,
		       "too many open files (max_open_files " + std::to_string(files_.size()) + ")");
		return;
	}
	auto fd = dir_.openFile(r.path, *spec);
	if (!fd) {
		refuse(uint32_t(Call::Open), what, fd.error().context + " (" + fd.error().name() + ")");
		return;
	}
	*slot = std::move(*fd);
	int32_t remoteFd = kFirstFileFd + int32_t(slot - files_.begin());
	stats_.opened++;
	log::proxy()->debug("{}: OPEN {} -> {}", options_.name, what, remoteFd);
	reply(Call::Open, remoteFd);
}

void ProxyServer::doClose(const CloseRequest &r)
{
	if (r.fd >= 0 && r.fd < kFirstFileFd) {
		reply(Call::Close, 0); // the console stays
		return;
	}
	UniqueFd *f = file(r.fd);
	if (!f) {
		refuse(uint32_t(Call::Close), std::to_string(r.fd), "not an open file");
		return;
	}
	int rc = ::close(f->release());
	log::proxy()->debug("{}: CLOSE {} -> {}", options_.name, r.fd, rc);
	// close() releases the fd even when it fails (EIO from a late write error).
	reply(Call::Close, rc < 0 ? -1 : 0);
}

void ProxyServer::doWrite(const WriteRequest &r)
{
	Result<size_t> n = size_t(0);
	if (r.fd == 1 || r.fd == 2) {
		n = console_.write(r.fd, r.data);
	} else if (UniqueFd *f = file(r.fd)) {
		n = writeAll(f->get(), r.data);
	} else {
		refuse(uint32_t(Call::Write), std::to_string(r.fd),
		       r.fd == 0 ? "fd 0 is the console's input" : "not an open file");
		return;
	}
	if (!n) {
		refuse(uint32_t(Call::Write), std::to_string(r.fd), n.error().message());
		return;
	}
	stats_.bytesWritten += *n;
	reply(Call::Write, int32_t(*n));
}

void ProxyServer::doRead(const ReadRequest &r)
{
	uint32_t want = std::min<uint32_t>(r.length, uint32_t(kMaxReadReply));
	if (r.fd == 0) {
		pendingRead_ = want;
		answerConsoleRead();
		return;
	}
	UniqueFd *f = file(r.fd);
	if (!f) {
		refuse(uint32_t(Call::Read), std::to_string(r.fd),
		       r.fd == 1 || r.fd == 2 ? "fd 1 and 2 are the console's output" : "not an open file");
		return;
	}
	uint8_t buf[kMaxReadReply];
	ssize_t n;
	do
		n = ::read(f->get(), buf, want);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		refuse(uint32_t(Call::Read), std::to_string(r.fd), std::strerror(errno));
		return;
	}
	stats_.bytesRead += size_t(n);
	// f1 = bytes read, data_len the same.
	reply(Call::Read, int32_t(n), {buf, size_t(n)});
}

void ProxyServer::answerConsoleRead()
{
	uint8_t buf[kMaxReadReply];
	auto n = console_.read({buf, pendingRead_});
	if (!n && n.error().code == EAGAIN) {
		state_ = State::WaitingForInput;
		return;
	}
	state_ = State::Serving;
	if (!n) {
		refuse(uint32_t(Call::Read), "0", n.error().message());
		return;
	}
	stats_.bytesRead += *n;
	// 0: end of input, which the remote's scanf() sees as EOF.
	reply(Call::Read, int32_t(*n), {buf, *n});
}

ProxyServer::State ProxyServer::resumeInput()
{
	if (state_ == State::WaitingForInput) {
		log::ScopedFields fields{{"REMOTE", options_.name}};
		answerConsoleRead();
	}
	return state_;
}

} // namespace amp::proxy
