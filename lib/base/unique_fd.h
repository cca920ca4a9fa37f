// SPDX-License-Identifier: MIT
// UniqueFd: the one owner of a file descriptor (move-only, closes on destruction).
#pragma once

#include <utility>

namespace amp {

class UniqueFd {
public:
	UniqueFd() = default;
	explicit UniqueFd(int fd) : fd_(fd) {}
	~UniqueFd() { reset(); }
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;
	UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) {}
	UniqueFd &operator=(UniqueFd &&other) noexcept
	{
		if (this != &other)
			reset(other.release());
		return *this;
	}

	int get() const { return fd_; }
	bool valid() const { return fd_ >= 0; }
	explicit operator bool() const { return valid(); }
	// Give up ownership; the caller closes.
	[[nodiscard]] int release() { return std::exchange(fd_, -1); }
	// Close the current fd (errno preserved) and own `fd`.
	void reset(int fd = -1);

private:
	int fd_ = -1;
};

} // namespace amp
