// SPDX-License-Identifier: MIT
// ampd's configuration loader: nlohmann's SAX parser plus byte positions, so every error names its line and column.
#include "config.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <iterator>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "base/unique_fd.h"
#include "protocol/protocol.hpp"
#include "protocol/text.hpp"

namespace amp {

namespace {

using json = nlohmann::json;

// ---- a JSON tree that remembers where each value and key was written ----

struct Member;

struct Node {
	enum class Kind { Null, Bool, Int, Uint, Float, String, Array, Object };
	Kind kind = Kind::Null;
	ConfigPos pos;
	bool boolean = false;
	std::int64_t integer = 0;
	std::uint64_t uinteger = 0;
	double real = 0;
	std::string string;
	std::vector<Node> items;
	std::vector<Member> members;
};

struct Member {
	std::string key;
	ConfigPos keyPos;
	Node value;
};

std::string kindOf(const Node &n)
{
	switch (n.kind) {
	case Node::Kind::Null: return "null";
	case Node::Kind::Bool: return "a boolean";
	case Node::Kind::Int: return "a negative integer";
	case Node::Kind::Uint: return "an integer";
	case Node::Kind::Float: return "a fractional number";
	case Node::Kind::String: return "a string";
	case Node::Kind::Array: return "an array";
	case Node::Kind::Object: return "an object";
	}
	return "a value";
}

// Maps byte offsets to line and column.
class Lines {
public:
	explicit Lines(std::string_view text)
	{
		starts_.push_back(0);
		for (std::size_t i = 0; i < text.size(); ++i)
			if (text[i] == '\n')
				starts_.push_back(i + 1);
	}
	ConfigPos at(std::size_t offset) const
	{
		auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
		std::size_t line = static_cast<std::size_t>(it - starts_.begin());
		return ConfigPos{static_cast<unsigned>(line), static_cast<unsigned>(offset - starts_[line - 1] + 1)};
	}

private:
	std::vector<std::size_t> starts_;
};

// Counts how far nlohmann's lexer has read: the SAX interface gives no
// positions, but a value's token starts at the first byte after the previous
// event's end that is not whitespace, ',' or ':'.
class CountingIterator {
public:
	using iterator_category = std::input_iterator_tag;
	using value_type = char;
	using difference_type = std::ptrdiff_t;
	using pointer = const char *;
	using reference = const char &;

	CountingIterator(const char *p, const char **furthest) : p_(p), furthest_(furthest) {}
	reference operator*() const { return *p_; }
	CountingIterator &operator++()
	{
		++p_;
		if (p_ > *furthest_)
			*furthest_ = p_;
		return *this;
	}
	CountingIterator operator++(int)
	{
		auto old = *this;
		++*this;
		return old;
	}
	bool operator==(const CountingIterator &o) const { return p_ == o.p_; }
	bool operator!=(const CountingIterator &o) const { return p_ != o.p_; }

private:
	const char *p_;
	const char **furthest_;
};

class TreeBuilder : public nlohmann::json_sax<json> {
public:
	TreeBuilder(std::string_view text, const Lines &lines, const char **furthest)
		: text_(text), lines_(lines), furthest_(furthest)
	{
		if (text.substr(0, 3) == "\xEF\xBB\xBF")
			end_ = 3;
	}

	bool null() override { return add(Node{}); }
	bool boolean(bool v) override
	{
		Node n;
		n.kind = Node::Kind::Bool;
		n.boolean = v;
		return add(std::move(n));
	}
	bool number_integer(number_integer_t v) override
	{
		Node n;
		n.kind = v < 0 ? Node::Kind::Int : Node::Kind::Uint;
		n.integer = v;
		n.uinteger = v < 0 ? 0 : static_cast<std::uint64_t>(v);
		return add(std::move(n));
	}
	bool number_unsigned(number_unsigned_t v) override
	{
		Node n;
		n.kind = Node::Kind::Uint;
		n.uinteger = v;
		return add(std::move(n));
	}
	bool number_float(number_float_t v, const string_t &) override
	{
		Node n;
		n.kind = Node::Kind::Float;
		n.real = v;
		return add(std::move(n));
	}
	bool string(string_t &v) override
	{
		Node n;
		n.kind = Node::Kind::String;
		n.string = std::move(v);
		return add(std::move(n));
	}
	bool binary(binary_t &) override { return false; }
	bool start_object(std::size_t) override
	{
		Node n;
		n.kind = Node::Kind::Object;
		return open(std::move(n));
	}
	bool key(string_t &k) override
	{
		keyPos_ = tokenStart();
		key_ = std::move(k);
		return true;
	}
	bool end_object() override { return close(); }
	bool start_array(std::size_t) override
	{
		Node n;
		n.kind = Node::Kind::Array;
		return open(std::move(n));
	}
	bool end_array() override { return close(); }
	bool parse_error(std::size_t position, const std::string &, const nlohmann::detail::exception &ex) override
	{
		errorOffset_ = position == 0 ? 0 : position - 1;
		// "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..." -> "syntax error ..."
		std::string what = ex.what();
		if (auto c = what.find(", column "); c != std::string::npos)
			if (auto colon = what.find(": ", c); colon != std::string::npos)
				what.erase(0, colon + 2);
		if (auto tag = what.find("] "); what.rfind("[json.exception", 0) == 0 && tag != std::string::npos)
			what.erase(0, tag + 2);
		// Drop "last read: '...'" (raw bytes, maybe not UTF-8; we give the position) and
		// say "(expected X)" the way our other messages do.
		if (auto lr = what.find("; last read: '"); lr != std::string::npos) {
			auto end = what.find("'; ", lr + 14);
			what.erase(lr, end == std::string::npos ? std::string::npos : end + 1 - lr);
		}
		if (auto ex = what.find("; expected "); ex != std::string::npos)
			what = what.substr(0, ex) + " (expected " + what.substr(ex + 11) + ")";
		error_ = what;
		errorOffset_ = tokenStartBefore(errorOffset_);
		return false;
	}

	std::optional<Node> root;
	std::optional<std::string> error_;
	std::size_t errorOffset_ = 0;

private:
	// nlohmann reports where it stopped, the end of the offending token;
	// point at its start the way a compiler does.
	std::size_t tokenStartBefore(std::size_t offset) const
	{
		if (offset >= text_.size() || offset == 0)
			return offset;
		auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'; };
		if (text_[offset] == '"') {
			// The opening quote is the previous one not escaped by an odd run of backslashes.
			for (std::size_t i = offset; i-- > 0;) {
				if (text_[i] != '"')
					continue;
				std::size_t slashes = 0;
				while (i > slashes && text_[i - 1 - slashes] == '\\')
					++slashes;
				if (slashes % 2 == 0)
					return i;
			}
			return offset;
		}
		if (word(text_[offset]))
			while (offset > 0 && word(text_[offset - 1]))
				--offset;
		return offset;
	}

	ConfigPos tokenStart()
	{
		std::size_t i = end_;
		while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r' || text_[i] == ',' ||
					    text_[i] == ':'))
			++i;
		end_ = static_cast<std::size_t>(*furthest_ - text_.data());
		return lines_.at(i);
	}
	bool add(Node n)
	{
		n.pos = tokenStart();
		place(std::move(n));
		return true;
	}
	void place(Node n)
	{
		if (stack_.empty()) {
			root = std::move(n);
			return;
		}
		Node *parent = stack_.back();
		if (parent->kind == Node::Kind::Array)
			parent->items.push_back(std::move(n));
		else
			parent->members.push_back(Member{std::move(key_), keyPos_, std::move(n)});
	}
	bool open(Node n)
	{
		n.pos = tokenStart();
		// The tree is freed recursively: bound it (a real config nests 5 deep).
		if (stack_.size() >= kMaxDepth) {
			errorOffset_ = static_cast<std::size_t>(*furthest_ - text_.data()) - 1;
			error_ = "nesting deeper than " + std::to_string(kMaxDepth) + " levels (expected a configuration object)";
			return false;
		}
		place(std::move(n));
		Node *placed;
		if (stack_.empty())
			placed = &*root;
		else if (stack_.back()->kind == Node::Kind::Array)
			placed = &stack_.back()->items.back();
		else
			placed = &stack_.back()->members.back().value;
		stack_.push_back(placed);
		return true;
	}
	bool close()
	{
		tokenStart();
		stack_.pop_back();
		return true;
	}

	static constexpr std::size_t kMaxDepth = 32;
	std::string_view text_;
	const Lines &lines_;
	const char **furthest_;
	std::size_t end_ = 0;
	std::vector<Node *> stack_;
	std::string key_;
	ConfigPos keyPos_;
};

// ---- validation ----

class Checker {
public:
	Checker(std::string_view file, const ConfigOptions &options) : file_(file), options_(options) {}

	void error(ConfigPos pos, const std::string &what)
	{
		if (errors_.size() < kMaxErrors)
			errors_.push_back(file_ + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + what);
		else if (errors_.size() == kMaxErrors)
			errors_.push_back(file_ + ": more errors follow; fix the ones above first");
	}
	bool failed() const { return !errors_.empty(); }
	std::string report() const
	{
		std::string out;
		for (const auto &e : errors_) {
			if (!out.empty())
				out += '\n';
			out += e;
		}
		return out;
	}
	const ConfigOptions &options() const { return options_; }

private:
	static constexpr std::size_t kMaxErrors = 50;
	std::string file_;
	const ConfigOptions &options_;
	std::vector<std::string> errors_;
};

std::string quote(std::string_view s)
{
	return "\"" + protocol::printable(s, 60) + "\"";
}

// Reads the members of one object: unknown and duplicate keys are reported
// at the key, and "//" keys are comments (a string or an array of strings).
class ObjectReader {
public:
	ObjectReader(Checker &c, const Node &node, std::string what, std::vector<std::string_view> keys)
		: c_(c), node_(node), what_(std::move(what)), keys_(std::move(keys))
	{
		if (node.kind != Node::Kind::Object) {
			c.error(node.pos, what_ + " must be an object, got " + kindOf(node));
			valid_ = false;
			return;
		}
		std::map<std::string_view, ConfigPos> seen;
		for (const auto &m : node.members) {
			if (auto [it, fresh] = seen.emplace(m.key, m.keyPos); !fresh) {
				c.error(m.keyPos, "duplicate key " + quote(m.key) + " in " + what_ + " (first at line " + std::to_string(it->second.line) + ")");
				continue;
			}
			if (m.key == "//") {
				checkComment(m.value);
				continue;
			}
			if (std::find(keys_.begin(), keys_.end(), m.key) != keys_.end())
				continue;
			std::string msg = "unknown key " + quote(m.key) + " in " + what_;
			if (auto near = protocol::closestMatch(m.key, keys_))
				msg += " (did you mean \"" + *near + "\"?)";
			else
				msg += " (expected one of: " + list() + ")";
			c.error(m.keyPos, msg);
		}
	}

	bool valid() const { return valid_; }
	ConfigPos pos() const { return node_.pos; }
	const std::string &what() const { return what_; }

	const Node *get(std::string_view key) const
	{
		if (!valid_)
			return nullptr;
		for (const auto &m : node_.members)
			if (m.key == key)
				return &m.value;
		return nullptr;
	}
	const Node *require(std::string_view key, std::string_view expected) const
	{
		const Node *n = get(key);
		if (!n && valid_)
			c_.error(node_.pos, what_ + " has no \"" + std::string(key) + "\" (expected " + std::string(expected) + ")");
		return n;
	}

private:
	void checkComment(const Node &v)
	{
		if (v.kind == Node::Kind::String)
			return;
		if (v.kind == Node::Kind::Array &&
		    std::all_of(v.items.begin(), v.items.end(), [](const Node &i) { return i.kind == Node::Kind::String; }))
			return;
		c_.error(v.pos, "comment \"//\" must be a string or an array of strings, got " + kindOf(v));
	}
	std::string list() const
	{
		std::string out;
		for (auto k : keys_) {
			if (k == "//")
				continue;
			if (!out.empty())
				out += ", ";
			out += k;
		}
		return out;
	}

	Checker &c_;
	const Node &node_;
	std::string what_;
	std::vector<std::string_view> keys_;
	bool valid_ = true;
};

// Each reader reports a problem and leaves `out` alone, so that checking goes on.

void readBool(Checker &c, const Node *n, std::string_view key, bool &out)
{
	if (!n)
		return;
	if (n->kind != Node::Kind::Bool)
		return c.error(n->pos, "\"" + std::string(key) + "\" must be true or false, got " + kindOf(*n));
	out = n->boolean;
}

bool readUint(Checker &c, const Node *n, std::string_view key, std::uint64_t min, std::uint64_t max, std::string_view unit,
	      std::uint64_t &out)
{
	if (!n)
		return false;
	std::string range = std::to_string(min) + ".." + std::to_string(max) + (unit.empty() ? "" : " " + std::string(unit));
	if (n->kind != Node::Kind::Uint) {
		c.error(n->pos, "\"" + std::string(key) + "\" must be an integer, got " + kindOf(*n) + " (expected " + range + ")");
		return false;
	}
	if (n->uinteger < min || n->uinteger > max) {
		c.error(n->pos, "\"" + std::string(key) + "\" is " + std::to_string(n->uinteger) + ", out of range (expected " + range + ")");
		return false;
	}
	out = n->uinteger;
	return true;
}

void readMs(Checker &c, const Node *n, std::string_view key, std::uint64_t min, std::uint64_t max, std::chrono::milliseconds &out)
{
	std::uint64_t v;
	if (readUint(c, n, key, min, max, "ms", v))
		out = std::chrono::milliseconds(v);
}

const std::string *readString(Checker &c, const Node *n, std::string_view key, std::string_view expected)
{
	if (!n)
		return nullptr;
	if (n->kind != Node::Kind::String) {
		c.error(n->pos, "\"" + std::string(key) + "\" must be a string, got " + kindOf(*n) + " (expected " + std::string(expected) + ")");
		return nullptr;
	}
	return &n->string;
}

template <typename E> void readEnum(Checker &c, const Node *n, std::string_view key, std::vector<std::pair<std::string_view, E>> values, E &out)
{
	std::string expected;
	std::vector<std::string_view> names;
	for (const auto &[name, v] : values) {
		expected += (expected.empty() ? "" : " or ") + ("\"" + std::string(name) + "\"");
		names.push_back(name);
	}
	const std::string *s = readString(c, n, key, expected);
	if (!s)
		return;
	for (const auto &[name, v] : values)
		if (*s == name) {
			out = v;
			return;
		}
	std::string msg = "\"" + std::string(key) + "\" is " + quote(*s) + ", not a known value";
	if (auto near = protocol::closestMatch(*s, names))
		msg += " (did you mean \"" + *near + "\"?)";
	else
		msg += " (expected " + expected + ")";
	c.error(n->pos, msg);
}

bool readName(Checker &c, const Node *n, std::string_view key, std::string &out)
{
	const std::string *s = readString(c, n, key, "a name of 1..31 printable ASCII characters");
	if (!s)
		return false;
	if (auto problem = protocol::nameProblem(*s)) {
		c.error(n->pos, "\"" + std::string(key) + "\" " + *problem);
		return false;
	}
	out = *s;
	return true;
}

void readAbsolutePath(Checker &c, const Node *n, std::string_view key, std::size_t max, std::string &out)
{
	const std::string *s = readString(c, n, key, "an absolute path");
	if (!s)
		return;
	if (s->empty() || (*s)[0] != '/')
		return c.error(n->pos, "\"" + std::string(key) + "\" is " + quote(*s) + ", not an absolute path (expected a path starting with /)");
	if (s->size() > max)
		return c.error(n->pos, "\"" + std::string(key) + "\" is " + std::to_string(s->size()) + " bytes long (at most " + std::to_string(max) + ")");
	for (std::size_t i = 0; i < s->size(); ++i)
		if (static_cast<unsigned char>((*s)[i]) < 0x20)
			return c.error(n->pos, "\"" + std::string(key) + "\" has control character " + protocol::hexByte((*s)[i]) + " at offset " +
						       std::to_string(i) + " (expected a plain path)");
	out = *s;
}

// "0xEF56A55A": one 32-bit word, sent little-endian as the R5 reads it;
// "ef 56 a5 5a" (or "ef:56:a5:5a", "ef56a5 5a"): the bytes as written.
std::optional<std::vector<std::uint8_t>> parseMessageBytes(const std::string &s, std::string &problem)
{
	auto hex = [](char ch) -> int {
		if (ch >= '0' && ch <= '9')
			return ch - '0';
		if (ch >= 'a' && ch <= 'f')
			return ch - 'a' + 10;
		if (ch >= 'A' && ch <= 'F')
			return ch - 'A' + 10;
		return -1;
	};
	std::vector<std::uint8_t> out;
	if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		std::string digits = s.substr(2);
		if (digits.size() > 8) {
			problem = "has " + std::to_string(digits.size()) + " hex digits after 0x (a word has at most 8)";
			return std::nullopt;
		}
		std::uint32_t word = 0;
		for (char ch : digits) {
			if (hex(ch) < 0) {
				problem = "has " + quote(std::string(1, ch)) + ", not a hex digit";
				return std::nullopt;
			}
			word = word << 4 | static_cast<std::uint32_t>(hex(ch));
		}
		for (int i = 0; i < 4; ++i)
			out.push_back(static_cast<std::uint8_t>(word >> (8 * i)));
		return out;
	}
	int high = -1;
	for (char ch : s) {
		if (ch == ' ' || ch == ':') {
			if (high >= 0) {
				problem = "has an odd hex digit before a separator (expected two digits per byte)";
				return std::nullopt;
			}
			continue;
		}
		int v = hex(ch);
		if (v < 0) {
			problem = "has " + quote(std::string(1, ch)) + ", not a hex digit";
			return std::nullopt;
		}
		if (high < 0) {
			high = v;
		} else {
			out.push_back(static_cast<std::uint8_t>(high << 4 | v));
			high = -1;
		}
	}
	if (high >= 0) {
		problem = "has an odd number of hex digits (expected two digits per byte)";
		return std::nullopt;
	}
	if (out.empty()) {
		problem = "is empty";
		return std::nullopt;
	}
	if (out.size() > protocol::kMaxRpmsgPayload) {
		problem = "is " + std::to_string(out.size()) + " bytes (an rpmsg message holds at most " + std::to_string(protocol::kMaxRpmsgPayload) + ")";
		return std::nullopt;
	}
	return out;
}

void readPrincipal(Checker &c, const Node &n, bool user, std::vector<Principal> &out)
{
	const char *what = user ? "user" : "group";
	Principal p;
	p.pos = n.pos;
	if (n.kind == Node::Kind::Uint) {
		if (n.uinteger >= 0xFFFFFFFFu)
			return c.error(n.pos, std::string(what) + " id " + std::to_string(n.uinteger) + " is out of range (expected 0..4294967294)");
		p.who = static_cast<std::uint32_t>(n.uinteger);
		p.id = static_cast<std::uint32_t>(n.uinteger);
	} else if (n.kind == Node::Kind::String) {
		const std::string &s = n.string;
		bool ok = !s.empty() && s.size() <= 32 && s[0] != '-' &&
			  std::all_of(s.begin(), s.end(), [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.' || ch == '$'; });
		if (!ok)
			return c.error(n.pos, std::string(what) + " name " + quote(s) + " is not a valid name (expected letters, digits, _ - . at most 32)");
		p.who = s;
		const NameLookup &lookup = user ? c.options().lookupUser : c.options().lookupGroup;
		if (lookup) {
			p.id = lookup(s);
			if (!p.id)
				return c.error(n.pos, "no " + std::string(what) + " named " + quote(s) + " on this system");
		}
	} else {
		return c.error(n.pos, std::string(what) + " must be a name or a numeric id, got " + kindOf(n));
	}
	out.push_back(std::move(p));
}

Principals readPrincipals(Checker &c, const Node &n, const std::string &what)
{
	Principals out;
	ObjectReader r(c, n, what, {"//", "users", "groups"});
	for (auto [key, user] : {std::pair{"users", true}, std::pair{"groups", false}}) {
		const Node *list = r.get(key);
		if (!list)
			continue;
		if (list->kind != Node::Kind::Array) {
			c.error(list->pos, "\"" + std::string(key) + "\" must be an array of names or ids, got " + kindOf(*list));
			continue;
		}
		for (const auto &item : list->items)
			readPrincipal(c, item, user, user ? out.users : out.groups);
	}
	return out;
}

void readRestart(Checker &c, const Node &n, const std::string &where, RestartPolicy &out)
{
	ObjectReader r(c, n, "\"restart\" of " + where, {"//", "policy", "max_restarts", "window_ms", "backoff_ms", "backoff_max_ms"});
	if (!r.valid())
		return;
	readEnum<RestartPolicy::Mode>(c, r.require("policy", "\"never\" or \"on-failure\""), "policy",
				      {{"never", RestartPolicy::Mode::Never}, {"on-failure", RestartPolicy::Mode::OnFailure}}, out.mode);
	std::uint64_t v;
	if (readUint(c, r.get("max_restarts"), "max_restarts", 1, 1000, "", v))
		out.maxRestarts = static_cast<unsigned>(v);
	readMs(c, r.get("window_ms"), "window_ms", 1000, 86400000, out.window);
	readMs(c, r.get("backoff_ms"), "backoff_ms", 0, 3600000, out.backoff);
	out.backoffMax = out.backoff;
	if (const Node *m = r.get("backoff_max_ms")) {
		readMs(c, m, "backoff_max_ms", 0, 3600000, out.backoffMax);
		if (out.backoffMax < out.backoff)
			c.error(m->pos, "\"backoff_max_ms\" is below \"backoff_ms\" (" + std::to_string(out.backoff.count()) +
						" ms; expected at least that)");
	}
}

void readProxy(Checker &c, const Node &n, const std::string &where, ProxyConfig &out)
{
	ObjectReader r(c, n, "\"proxy\" of " + where, {"//", "enabled", "channel", "directory", "max_open_files", "console", "console_max_bytes"});
	if (!r.valid())
		return;
	readBool(c, r.get("enabled"), "enabled", out.enabled);
	if (out.enabled) {
		readName(c, r.require("channel", "the channel the proxy serves"), "channel", out.channel);
		readAbsolutePath(c, r.require("directory", "the absolute directory the remote's files are confined to"), "directory", 4095,
				 out.directory);
	} else {
		if (const Node *ch = r.get("channel"))
			readName(c, ch, "channel", out.channel);
		if (const Node *d = r.get("directory"))
			readAbsolutePath(c, d, "directory", 4095, out.directory);
	}
	if (out.directory == "/")
		c.error(r.get("directory")->pos, "\"directory\" is \"/\": the proxy would reach the whole file system (expected a directory of its own)");
	std::uint64_t v;
	if (readUint(c, r.get("max_open_files"), "max_open_files", 1, 1024, "", v))
		out.maxOpenFiles = static_cast<unsigned>(v);
	// 1 KiB (the demo's banner fits) to 1 TiB.
	if (readUint(c, r.get("console_max_bytes"), "console_max_bytes", 1024, std::uint64_t(1) << 40, "bytes", v))
		out.consoleMaxBytes = v;
	const Node *console = r.get("console");
	if (const std::string *s = readString(c, console, "console", "\"journal\", \"terminal\" or \"file:/absolute/path\"")) {
		if (*s == "journal") {
			out.console = ProxyConfig::Console::Journal;
		} else if (*s == "terminal") {
			out.console = ProxyConfig::Console::Terminal;
		} else if (s->rfind("file:", 0) == 0 && s->size() > 6 && (*s)[5] == '/') {
			out.console = ProxyConfig::Console::File;
			out.consoleFile = s->substr(5);
		} else {
			std::string msg = "\"console\" is " + quote(*s) + ", not a known console";
			constexpr std::string_view names[] = {"journal", "terminal"};
			if (auto near = protocol::closestMatch(*s, names))
				msg += " (did you mean \"" + *near + "\"?)";
			else
				msg += " (expected \"journal\", \"terminal\" or \"file:/absolute/path\")";
			c.error(console->pos, msg);
		}
	}
}

void readRemote(Checker &c, const Member &m, RemoteConfig &out)
{
	out.alias = m.key;
	out.pos = m.keyPos;
	if (auto problem = protocol::nameProblem(m.key))
		c.error(m.keyPos, "remote alias " + quote(m.key) + " " + *problem);
	const std::string where = "remote " + quote(m.key);
	ObjectReader r(c, m.value, where,
		       {"//", "remoteproc", "firmware", "autostart", "channels", "shutdown", "deadlines", "restart", "allow",
			"max_in_flight", "proxy"});
	if (!r.valid())
		return;

	if (const Node *rp = r.require("remoteproc", "the remoteproc's name attribute (a string) or its index N of remoteprocN")) {
		if (rp->kind == Node::Kind::String) {
			if (rp->string.empty() || rp->string.size() > 255 ||
			    !std::all_of(rp->string.begin(), rp->string.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; }))
				c.error(rp->pos, "\"remoteproc\" is " + quote(rp->string) + " (expected the name attribute: 1..255 printable characters)");
			else
				out.remoteproc = rp->string;
		} else if (rp->kind == Node::Kind::Uint) {
			if (rp->uinteger > 65535)
				c.error(rp->pos, "\"remoteproc\" is " + std::to_string(rp->uinteger) + ", out of range (expected an index 0..65535)");
			else
				out.remoteproc = static_cast<std::uint32_t>(rp->uinteger);
		} else {
			c.error(rp->pos, "\"remoteproc\" must be a name (string) or an index (integer), got " + kindOf(*rp));
		}
	}

	if (const std::string *fw = readString(c, r.get("firmware"), "firmware", "a file name under the firmware search path")) {
		// Same rule as the protocol's start request: a name the kernel resolves, never a path out of its search path.
		if (auto problem = protocol::firmwareNameProblem(*fw))
			c.error(r.get("firmware")->pos, "\"firmware\" " + *problem);
		else
			out.firmware = *fw;
	}
	readBool(c, r.get("autostart"), "autostart", out.autostart);
	if (std::uint64_t v; readUint(c, r.get("max_in_flight"), "max_in_flight", 0, 256, "", v))
		out.maxInFlight = static_cast<unsigned>(v);

	if (const Node *ch = r.get("channels")) {
		if (ch->kind != Node::Kind::Array) {
			c.error(ch->pos, "\"channels\" must be an array of channel names, got " + kindOf(*ch));
		} else {
			for (const auto &item : ch->items) {
				std::string name;
				if (!readName(c, &item, "channels", name))
					continue;
				if (std::find(out.channels.begin(), out.channels.end(), name) != out.channels.end())
					c.error(item.pos, "channel " + quote(name) + " is listed twice");
				else
					out.channels.push_back(name);
			}
		}
	}

	if (const Node *sd = r.get("shutdown")) {
		ObjectReader s(c, *sd, "\"shutdown\" of " + where, {"//", "message", "channel"});
		if (s.valid()) {
			ShutdownMessage msg;
			bool ok = true;
			const Node *text = s.require("message", "\"0xEF56A55A\" (a 32-bit word) or hex bytes like \"ef 56 a5 5a\"");
			if (const std::string *t = readString(c, text, "message", "\"0xEF56A55A\" or hex bytes like \"ef 56 a5 5a\"")) {
				std::string problem;
				if (auto bytes = parseMessageBytes(*t, problem))
					msg.bytes = std::move(*bytes);
				else {
					c.error(text->pos, "\"message\" " + problem + " (expected \"0xEF56A55A\" or hex bytes like \"ef 56 a5 5a\")");
					ok = false;
				}
			} else {
				ok = false;
			}
			ok = readName(c, s.require("channel", "the channel the message is sent on"), "channel", msg.channel) && ok;
			if (ok)
				out.shutdown = std::move(msg);
		}
	}

	if (const Node *d = r.get("deadlines")) {
		ObjectReader dr(c, *d, "\"deadlines\" of " + where, {"//", "start_to_channel_ms", "shutdown_ms"});
		readMs(c, dr.get("start_to_channel_ms"), "start_to_channel_ms", 10, 600000, out.startToChannel);
		readMs(c, dr.get("shutdown_ms"), "shutdown_ms", 10, 600000, out.shutdownDeadline);
	}

	if (const Node *rs = r.get("restart"))
		readRestart(c, *rs, where, out.restart);

	if (const Node *a = r.get("allow")) {
		ObjectReader ar(c, *a, "\"allow\" of " + where, {"//", "control", "channels"});
		if (const Node *ctl = ar.get("control"))
			out.control = readPrincipals(c, *ctl, "\"control\" of " + where);
		if (const Node *chs = ar.get("channels")) {
			if (chs->kind != Node::Kind::Object) {
				c.error(chs->pos, "\"channels\" must be an object of channel name -> {users, groups}, got " + kindOf(*chs));
			} else {
				std::set<std::string> seen;
				for (const auto &cm : chs->members) {
					if (cm.key == "//")
						continue;
					if (!seen.insert(cm.key).second) {
						c.error(cm.keyPos, "duplicate key " + quote(cm.key) + " in \"channels\" of " + where);
						continue;
					}
					if (cm.key != "*")
						if (auto problem = protocol::nameProblem(cm.key)) {
							c.error(cm.keyPos, "channel " + quote(cm.key) + " " + *problem + " (or \"*\" for any channel)");
							continue;
						}
					out.channelAccess[cm.key] = readPrincipals(c, cm.value, "channel " + quote(cm.key) + " of " + where);
				}
			}
		}
	}

	if (const Node *p = r.get("proxy"))
		readProxy(c, *p, where, out.proxy);
}

Config readConfig(Checker &c, const Node &root)
{
	Config cfg;
	ObjectReader r(c, root, "the configuration", {"//", "$schema", "socket", "socket_mode", "socket_group", "state_directory", "on_sigterm", "remotes"});
	if (!r.valid())
		return cfg;
	readString(c, r.get("$schema"), "$schema", "the schema's URI or path");
	// sun_path holds 108 bytes with the NUL.
	readAbsolutePath(c, r.get("socket"), "socket", 107, cfg.socketPath);
	if (const Node *mode = r.get("socket_mode")) {
		if (const std::string *s = readString(c, mode, "socket_mode", "an octal mode like \"0660\"")) {
			bool octal = s->size() >= 3 && s->size() <= 4 && std::all_of(s->begin(), s->end(), [](char ch) { return ch >= '0' && ch <= '7'; });
			unsigned v = octal ? static_cast<unsigned>(std::stoul(*s, nullptr, 8)) : 0;
			if (!octal || v > 0777)
				c.error(mode->pos, "\"socket_mode\" is " + quote(*s) + " (expected an octal mode like \"0660\")");
			else if (v & 0007)
				c.error(mode->pos, "\"socket_mode\" " + quote(*s) + " lets every local user connect (expected no bits for others, like \"0660\")");
			else
				cfg.socketMode = v;
		}
	}
	if (const Node *g = r.get("socket_group")) {
		std::vector<Principal> one;
		readPrincipal(c, *g, false, one);
		if (!one.empty())
			cfg.socketGroup = std::move(one.front());
	}
	readAbsolutePath(c, r.get("state_directory"), "state_directory", 4095, cfg.stateDirectory);
	readEnum<Config::OnSigterm>(c, r.get("on_sigterm"), "on_sigterm",
				    {{"leave", Config::OnSigterm::Leave}, {"stop-all", Config::OnSigterm::StopAll}}, cfg.onSigterm);

	const Node *remotes = r.get("remotes");
	if (!remotes)
		return cfg;
	if (remotes->kind != Node::Kind::Object) {
		c.error(remotes->pos, "\"remotes\" must be an object of alias -> remote, got " + kindOf(*remotes));
		return cfg;
	}
	std::map<std::string, ConfigPos> aliases;
	for (const auto &m : remotes->members) {
		if (m.key == "//")
			continue;
		if (auto [it, fresh] = aliases.emplace(m.key, m.keyPos); !fresh) {
			c.error(m.keyPos, "duplicate remote " + quote(m.key) + " (first at line " + std::to_string(it->second.line) + ")");
			continue;
		}
		RemoteConfig remote;
		readRemote(c, m, remote);
		cfg.remotes.push_back(std::move(remote));
	}
	// Two aliases for one core would fight over it.
	for (std::size_t i = 0; i < cfg.remotes.size(); ++i)
		for (std::size_t j = 0; j < i; ++j)
			if (cfg.remotes[i].remoteproc == cfg.remotes[j].remoteproc) {
				const auto &rp = cfg.remotes[i].remoteproc;
				std::string which = rp.index() == 0 ? quote(std::get<0>(rp)) : std::to_string(std::get<1>(rp));
				c.error(cfg.remotes[i].pos, "remote " + quote(cfg.remotes[i].alias) + " matches remoteproc " + which + " like remote " +
								    quote(cfg.remotes[j].alias) + " (line " + std::to_string(cfg.remotes[j].pos.line) +
								    "); expected one alias per core");
			}
	return cfg;
}

} // namespace

const RemoteConfig *Config::findRemote(std::string_view alias) const
{
	for (const auto &r : remotes)
		if (r.alias == alias)
			return &r;
	return nullptr;
}

NameLookup systemUserLookup()
{
	return [](const std::string &name) -> std::optional<std::uint32_t> {
		std::vector<char> buf(16384);
		passwd pw{};
		passwd *found = nullptr;
		if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
			return std::nullopt;
		return found->pw_uid;
	};
}

NameLookup systemGroupLookup()
{
	return [](const std::string &name) -> std::optional<std::uint32_t> {
		std::vector<char> buf(65536);
		group gr{};
		group *found = nullptr;
		if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || !found)
			return std::nullopt;
		return found->gr_gid;
	};
}

Result<Config> parseConfig(std::string_view text, std::string_view fileName, const ConfigOptions &options)
{
	Checker checker(fileName, options);
	Lines lines(text);
	const char *furthest = text.data();
	TreeBuilder builder(text, lines, &furthest);
	try {
		// A NUL would end nlohmann's input early and hide what follows.
		if (auto nul = text.find('\0'); nul != std::string_view::npos) {
			checker.error(lines.at(nul), "NUL byte (expected JSON text)");
			return unexpected(EINVAL, checker.report());
		}
		CountingIterator first(text.data(), &furthest), last(text.data() + text.size(), &furthest);
		bool ok = json::sax_parse(first, last, &builder);
		if (!ok || !builder.root) {
			checker.error(lines.at(std::min(builder.errorOffset_, text.size())),
				      builder.error_ ? *builder.error_ : std::string("syntax error (expected a JSON object)"));
			return unexpected(EINVAL, checker.report());
		}
		Config cfg = readConfig(checker, *builder.root);
		if (checker.failed())
			return unexpected(EINVAL, checker.report());
		return cfg;
	} catch (const std::bad_alloc &) {
		return unexpected(ENOMEM, std::string(fileName) + ": out of memory");
	} catch (const std::exception &e) {
		return unexpected(EINVAL, std::string(fileName) + ": " + e.what());
	}
}

Result<Config> loadConfig(const std::string &path, const ConfigOptions &options)
{
	constexpr std::size_t kMaxSize = 1 << 20;
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd)
		return unexpected(lastError("open config " + path));
	std::string text;
	char buf[16384];
	for (;;) {
		ssize_t n = ::read(fd.get(), buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return unexpected(lastError("read config " + path));
		}
		if (n == 0)
			break;
		text.append(buf, static_cast<std::size_t>(n));
		if (text.size() > kMaxSize)
			return unexpected(EFBIG, path + ": larger than 1 MiB; not a configuration file");
	}
	return parseConfig(text, path, options);
}

} // namespace amp
