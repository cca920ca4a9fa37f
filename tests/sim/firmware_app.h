// SPDX-License-Identifier: MIT
// The simulated remote firmware: what runs on a core once Linux has booted
// it, behaving byte for byte like the OpenAMP demo remotes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "firmware_image.h"

namespace ampsim {

// What firmware can do to the outside world: the remote end of one virtio
// rpmsg device. Implemented by the kernel model. Every call is made from the
// remote's own thread (the one that calls FirmwareApp methods).
class RemoteBus {
public:
	virtual ~RemoteBus() = default;
	// One rpmsg message from remote address `src` to Linux address `dst`.
	virtual void send(uint32_t src, uint32_t dst, std::span<const uint8_t> data) = 0;
	// Name-service announcement to address 53: create / destroy a channel.
	virtual void announce(const std::string &name, uint32_t addr) = 0;
	virtual void unannounce(const std::string &name, uint32_t addr) = 0;
	// The firmware faulted: the driver calls rproc_report_crash().
	virtual void reportCrash() = 0;
	// A line in the remote's trace buffer (debugfs trace0).
	virtual void log(const std::string &line) = 0;
	// Run `fn` on the remote's thread after `delay`; dropped if the core
	// stops first.
	virtual void after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
};

// One firmware instance: created when the core boots, destroyed when it
// stops or crashes. Methods are called serially on the remote's thread.
class FirmwareApp {
public:
	virtual ~FirmwareApp() = default;
	// The core is running and Linux set DRIVER_OK: announce, start timers.
	virtual void start(RemoteBus &bus) = 0;
	// A message Linux sent from `src` to remote address `dst`.
	virtual void receive(RemoteBus &bus, uint32_t src, uint32_t dst,
			     std::span<const uint8_t> data) = 0;
};

// The app a firmware asks for; an image without a marker runs "silent".
std::unique_ptr<FirmwareApp> makeFirmwareApp(const std::optional<FirmwareSpec> &spec);

} // namespace ampsim
