// SPDX-License-Identifier: MIT
// Result<T> lives with the public headers (the client returns it); this name stays for internal code.
#pragma once

#include "amp/result.hpp"
