// SPDX-License-Identifier: MIT
// ampctl proxy: the OpenAMP proxy (RPC) for one remote in the foreground (cmd_proxy.cpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "ampctl.hpp"

namespace amp::cli {

struct ProxyArgs {
	std::string remote;
	std::string channel = "rpmsg-openamp-demo-channel";
	std::string directory = ".";         // the remote's files: beneath it only
	unsigned maxOpenFiles = 16;          // 1..proxy::kMaxOpenFilesLimit
	std::optional<std::string> firmware; // start the remote with it first
	std::chrono::milliseconds timeout = Client::kActionTimeout; // for that start
};
// 0 on TERM from the remote or Ctrl-C; 1 when the stream goes down.
int cmdProxy(const Context &ctx, const ProxyArgs &args);

} // namespace amp::cli
