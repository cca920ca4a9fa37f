// SPDX-License-Identifier: MIT
// UniqueFd's close, kept out of line so <unistd.h> stays out of the header.
#include "base/unique_fd.h"

#include <cerrno>
#include <unistd.h>

namespace amp {

void UniqueFd::reset(int fd)
{
	int old = std::exchange(fd_, fd);
	if (old >= 0 && old != fd) {
		// A destructor on an error path must not clobber the errno the
		// caller is about to report. close() is never retried on EINTR
		// (Linux has released the fd either way).
		int saved = errno;
		::close(old);
		errno = saved;
	}
}

} // namespace amp
