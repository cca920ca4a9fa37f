// SPDX-License-Identifier: MIT
// Result<T>: a value or an Error{errno, context}, shaped like std::expected
// (GCC 12 has no <expected> in C++20), so fallible calls never throw.
// Public: libamp's client API returns it, so it may include nothing internal.
#pragma once

#include <cerrno>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace amp {

struct Error {
	int code = 0;        // a positive errno, as the kernel returned it
	std::string context; // what we were doing: "write 'start' to .../state"

	// "ENOENT (No such file or directory): <context>"
	std::string message() const;
	// "ENOENT"; "E123" for a number without a name.
	std::string name() const;
};

// The errno's symbolic name ("EBUSY"); "E<n>" when unknown.
std::string errnoName(int code);

// Error from the current errno.
inline Error lastError(std::string context)
{
	return Error{errno, std::move(context)};
}

template <typename E> class Unexpected {
public:
	explicit Unexpected(E e) : error_(std::move(e)) {}
	E &error() & { return error_; }
	E &&error() && { return std::move(error_); }
	const E &error() const & { return error_; }

private:
	E error_;
};

inline Unexpected<Error> unexpected(Error e)
{
	return Unexpected<Error>(std::move(e));
}
inline Unexpected<Error> unexpected(int code, std::string context)
{
	return Unexpected<Error>(Error{code, std::move(context)});
}

template <typename T> class [[nodiscard]] Result {
public:
	using value_type = T;
	Result() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
	Result(const T &v) : v_(std::in_place_index<0>, v) {}
	Result(T &&v) : v_(std::in_place_index<0>, std::move(v)) {}
	template <typename U>
	requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::remove_cvref_t<U>, Result> &&
		 !std::is_same_v<std::remove_cvref_t<U>, Unexpected<Error>> &&
		 !std::is_same_v<std::remove_cvref_t<U>, Error>)
	Result(U &&v) : v_(std::in_place_index<0>, T(std::forward<U>(v))) {}
	Result(Unexpected<Error> e) : v_(std::in_place_index<1>, std::move(e).error()) {}

	bool has_value() const { return v_.index() == 0; }
	explicit operator bool() const { return has_value(); }

	T &value() & { return std::get<0>(v_); }
	const T &value() const & { return std::get<0>(v_); }
	T &&value() && { return std::get<0>(std::move(v_)); }
	T &operator*() & { return value(); }
	const T &operator*() const & { return value(); }
	T &&operator*() && { return std::move(*this).value(); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }
	template <typename U> T value_or(U &&other) const &
	{
		return has_value() ? value() : static_cast<T>(std::forward<U>(other));
	}

	const Error &error() const & { return std::get<1>(v_); }
	Error &error() & { return std::get<1>(v_); }
	Error &&error() && { return std::get<1>(std::move(v_)); }

private:
	std::variant<T, Error> v_;
};

template <> class [[nodiscard]] Result<void> {
public:
	using value_type = void;
	Result() = default;
	Result(Unexpected<Error> e) : err_(std::move(e).error()), ok_(false) {}

	bool has_value() const { return ok_; }
	explicit operator bool() const { return ok_; }
	void value() const {}
	const Error &error() const & { return err_; }
	Error &error() & { return err_; }
	Error &&error() && { return std::move(err_); }

private:
	Error err_;
	bool ok_ = true;
};

} // namespace amp
