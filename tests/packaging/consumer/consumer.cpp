// SPDX-License-Identifier: MIT
// A program outside the tree that uses libamp's C++ client, built with find_package(amp).
#include <cerrno>
#include <cstdio>

#include <amp/client.hpp>

int main()
{
	// Nobody listens there: an error value, never an exception.
	auto client = amp::Client::connect("/nonexistent/ampd.sock", "consumer");
	if (client)
		return 1;
	std::printf("connect: %s\n", client.error().message().c_str());
	return client.error().code == ENOENT ? 0 : 1;
}
