// SPDX-License-Identifier: MIT
// The shipped JSON Schema, the example and the loader agree: a small draft 2020-12 validator checks them against each other.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "config.hpp"

using json = nlohmann::json;

namespace {

json readJson(const std::string &relative)
{
	std::ifstream in(std::string(AMP_SOURCE_DIR) + "/" + relative);
	return json::parse(in);
}

// The subset of JSON Schema 2020-12 that config/ampd.schema.json uses. A
// keyword outside it is reported, so the schema cannot outgrow the check.
class SchemaValidator {
public:
	explicit SchemaValidator(json root) : root_(std::move(root)) {}

	std::vector<std::string> validate(const json &instance)
	{
		errors_.clear();
		check(root_, instance, "");
		return errors_;
	}

private:
	bool matches(const json &schema, const json &instance)
	{
		auto saved = std::move(errors_);
		errors_.clear();
		check(schema, instance, "");
		bool ok = errors_.empty();
		errors_ = std::move(saved);
		return ok;
	}

	static bool hasType(const json &v, const std::string &type)
	{
		if (type == "object")
			return v.is_object();
		if (type == "array")
			return v.is_array();
		if (type == "string")
			return v.is_string();
		if (type == "boolean")
			return v.is_boolean();
		if (type == "integer")
			return v.is_number_integer() || (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<long long>(v.get<double>())));
		if (type == "number")
			return v.is_number();
		if (type == "null")
			return v.is_null();
		return false;
	}

	void fail(const std::string &where, const std::string &what) { errors_.push_back((where.empty() ? "/" : where) + ": " + what); }

	void check(const json &schema, const json &v, const std::string &where)
	{
		static const std::set<std::string> annotations = {"$schema", "$id", "title", "description", "default", "$comment", "$defs"};
		for (const auto &[keyword, arg] : schema.items()) {
			if (annotations.count(keyword))
				continue;
			if (keyword == "$ref") {
				std::string ref = arg.get<std::string>();
				ASSERT_EQ(ref.rfind("#/", 0), 0u) << ref;
				check(root_.at(json::json_pointer(ref.substr(1))), v, where);
			} else if (keyword == "type") {
				if (!hasType(v, arg.get<std::string>()))
					fail(where, "not of type " + arg.get<std::string>());
			} else if (keyword == "enum") {
				if (std::find(arg.begin(), arg.end(), v) == arg.end())
					fail(where, v.dump() + " not in enum");
			} else if (keyword == "const") {
				if (v != arg)
					fail(where, "not the constant " + arg.dump());
			} else if (keyword == "minimum") {
				if (v.is_number() && v.get<double>() < arg.get<double>())
					fail(where, "below minimum");
			} else if (keyword == "maximum") {
				if (v.is_number() && v.get<double>() > arg.get<double>())
					fail(where, "above maximum");
			} else if (keyword == "minLength" || keyword == "maxLength") {
				if (!v.is_string())
					continue;
				// Lengths count code points.
				std::size_t n = 0;
				for (unsigned char c : v.get<std::string>())
					n += (c & 0xC0) != 0x80;
				if (keyword == "minLength" ? n < arg.get<std::size_t>() : n > arg.get<std::size_t>())
					fail(where, keyword + " violated");
			} else if (keyword == "pattern") {
				if (v.is_string() && !std::regex_search(v.get<std::string>(), std::regex(arg.get<std::string>(), std::regex::ECMAScript)))
					fail(where, v.dump() + " does not match " + arg.get<std::string>());
			} else if (keyword == "required") {
				if (v.is_object())
					for (const auto &k : arg)
						if (!v.contains(k.get<std::string>()))
							fail(where, "missing " + k.get<std::string>());
			} else if (keyword == "properties") {
				if (v.is_object())
					for (const auto &[k, sub] : arg.items())
						if (v.contains(k))
							check(sub, v.at(k), where + "/" + k);
			} else if (keyword == "additionalProperties") {
				if (!v.is_object())
					continue;
				for (const auto &[k, value] : v.items()) {
					if (schema.contains("properties") && schema["properties"].contains(k))
						continue;
					if (arg.is_boolean()) {
						if (!arg.get<bool>())
							fail(where, "additional property " + k);
					} else {
						check(arg, value, where + "/" + k);
					}
				}
			} else if (keyword == "propertyNames") {
				if (v.is_object())
					for (const auto &[k, value] : v.items())
						check(arg, json(k), where + "/" + k + " (name)");
			} else if (keyword == "items") {
				if (v.is_array())
					for (std::size_t i = 0; i < v.size(); ++i)
						check(arg, v[i], where + "/" + std::to_string(i));
			} else if (keyword == "uniqueItems") {
				if (v.is_array() && arg.get<bool>())
					for (std::size_t i = 0; i < v.size(); ++i)
						for (std::size_t j = 0; j < i; ++j)
							if (v[i] == v[j])
								fail(where, "duplicate items");
			} else if (keyword == "oneOf") {
				int n = 0;
				for (const auto &sub : arg)
					n += matches(sub, v);
				if (n != 1)
					fail(where, std::to_string(n) + " of oneOf match");
			} else if (keyword == "if") {
				const json &branch = matches(arg, v) ? schema.value("then", json::object()) : schema.value("else", json::object());
				check(branch, v, where);
			} else if (keyword == "then" || keyword == "else") {
				continue;
			} else {
				ADD_FAILURE() << "schema keyword \"" << keyword << "\" is not supported by this test's validator";
			}
		}
	}

	json root_;
	std::vector<std::string> errors_;
};

json example()
{
	return readJson("config/ampd.example.json");
}

bool loaderAccepts(const json &doc, std::string *why = nullptr)
{
	auto r = amp::parseConfig(doc.dump(2), "ampd.json");
	if (!r && why)
		*why = r.error().context;
	return r.has_value();
}

} // namespace

TEST(ConfigSchema, SchemaIsDraft202012)
{
	json schema = readJson("config/ampd.schema.json");
	EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
	EXPECT_EQ(schema["additionalProperties"], false);
}

TEST(ConfigSchema, ExampleMatchesTheSchema)
{
	SchemaValidator v(readJson("config/ampd.schema.json"));
	auto errors = v.validate(example());
	for (const auto &e : errors)
		ADD_FAILURE() << e;
	EXPECT_TRUE(errors.empty());
}

TEST(ConfigSchema, ExampleUsesEveryKeyTheLoaderKnows)
{
	// "Complete": every property the schema defines appears in the example.
	json schema = readJson("config/ampd.schema.json");
	json doc = example();
	std::function<void(const json &, const json &, const std::string &)> walk = [&](const json &s, const json &d, const std::string &where) {
		const json *sch = &s;
		while (sch->contains("$ref"))
			sch = &schema.at(json::json_pointer((*sch)["$ref"].get<std::string>().substr(1)));
		if (!sch->contains("properties") || !d.is_object())
			return;
		for (const auto &[k, sub] : (*sch)["properties"].items()) {
			if (k == "//" || k == "$schema")
				continue;
			bool found = d.contains(k);
			// A remote shows a key if any remote does.
			EXPECT_TRUE(found || where.find("/remotes/") != std::string::npos) << where << "/" << k << " is not in the example";
			if (found)
				walk(sub, d[k], where + "/" + k);
		}
	};
	walk(schema, doc, "");
	std::set<std::string> remoteKeys;
	for (const auto &[alias, remote] : doc["remotes"].items())
		if (remote.is_object())
			for (const auto &[k, _] : remote.items())
				remoteKeys.insert(k);
	for (const auto &[k, _] : schema["$defs"]["remote"]["properties"].items())
		EXPECT_TRUE(remoteKeys.count(k)) << "no remote in the example shows \"" << k << "\"";
}

TEST(ConfigSchema, SchemaAndLoaderAgreeOnMistakes)
{
	SchemaValidator v(readJson("config/ampd.schema.json"));
	using Edit = std::function<void(json &)>;
	const std::pair<const char *, Edit> mistakes[] = {
		{"unknown top-level key", [](json &d) { d["sockte"] = "/run/a.sock"; }},
		{"unknown remote key", [](json &d) { d["remotes"]["r5-0"]["autostrat"] = true; }},
		{"relative socket", [](json &d) { d["socket"] = "run/a.sock"; }},
		{"socket too long", [](json &d) { d["socket"] = "/" + std::string(107, 'a'); }},
		{"socket mode for others", [](json &d) { d["socket_mode"] = "0666"; }},
		{"bad on_sigterm", [](json &d) { d["on_sigterm"] = "stop"; }},
		{"remotes as array", [](json &d) { d["remotes"] = json::array(); }},
		{"alias with a space", [](json &d) { d["remotes"]["r5 2"] = {{"remoteproc", 2}}; }},
		{"alias too long", [](json &d) { d["remotes"][std::string(32, 'a')] = {{"remoteproc", 2}}; }},
		{"no remoteproc", [](json &d) { d["remotes"]["r5-0"].erase("remoteproc"); }},
		{"remoteproc bool", [](json &d) { d["remotes"]["r5-0"]["remoteproc"] = true; }},
		{"remoteproc index too big", [](json &d) { d["remotes"]["r5-0"]["remoteproc"] = 70000; }},
		{"negative remoteproc", [](json &d) { d["remotes"]["r5-0"]["remoteproc"] = -1; }},
		{"firmware with ..", [](json &d) { d["remotes"]["r5-0"]["firmware"] = "a/../../b"; }},
		{"absolute firmware", [](json &d) { d["remotes"]["r5-0"]["firmware"] = "/etc/shadow"; }},
		{"empty firmware", [](json &d) { d["remotes"]["r5-0"]["firmware"] = ""; }},
		{"autostart string", [](json &d) { d["remotes"]["r5-0"]["autostart"] = "yes"; }},
		{"channel name too long", [](json &d) { d["remotes"]["r5-0"]["channels"] = {std::string(32, 'c')}; }},
		{"channel twice", [](json &d) { d["remotes"]["r5-0"]["channels"] = {"a", "a"}; }},
		{"shutdown without channel", [](json &d) { d["remotes"]["r5-0"]["shutdown"].erase("channel"); }},
		{"shutdown word too wide", [](json &d) { d["remotes"]["r5-0"]["shutdown"]["message"] = "0x123456789"; }},
		{"shutdown not hex", [](json &d) { d["remotes"]["r5-0"]["shutdown"]["message"] = "hello"; }},
		{"deadline zero", [](json &d) { d["remotes"]["r5-0"]["deadlines"]["shutdown_ms"] = 0; }},
		{"deadline too long", [](json &d) { d["remotes"]["r5-0"]["deadlines"]["start_to_channel_ms"] = 600001; }},
		{"deadline fractional", [](json &d) { d["remotes"]["r5-0"]["deadlines"]["start_to_channel_ms"] = 1.5; }},
		{"unknown deadline", [](json &d) { d["remotes"]["r5-0"]["deadlines"]["stop_ms"] = 100; }},
		{"restart without policy", [](json &d) { d["remotes"]["r5-0"]["restart"].erase("policy"); }},
		{"restart policy always", [](json &d) { d["remotes"]["r5-0"]["restart"]["policy"] = "always"; }},
		{"max_restarts zero", [](json &d) { d["remotes"]["r5-0"]["restart"]["max_restarts"] = 0; }},
		{"window too short", [](json &d) { d["remotes"]["r5-0"]["restart"]["window_ms"] = 999; }},
		{"user as bool", [](json &d) { d["remotes"]["r5-0"]["allow"]["control"]["users"] = {true}; }},
		{"uid -1", [](json &d) { d["remotes"]["r5-0"]["allow"]["control"]["users"] = {4294967295u}; }},
		{"user list as string", [](json &d) { d["remotes"]["r5-0"]["allow"]["control"]["users"] = "alice"; }},
		{"allow typo", [](json &d) { d["remotes"]["r5-0"]["allow"]["contrl"] = json::object(); }},
		{"channel access typo", [](json &d) { d["remotes"]["r5-0"]["allow"]["channels"]["*"]["user"] = {"bob"}; }},
		{"proxy without directory", [](json &d) { d["remotes"]["r5-1"]["proxy"].erase("directory"); }},
		{"proxy without channel", [](json &d) { d["remotes"]["r5-1"]["proxy"].erase("channel"); }},
		{"proxy relative directory", [](json &d) { d["remotes"]["r5-1"]["proxy"]["directory"] = "srv/r5"; }},
		{"proxy console typo", [](json &d) { d["remotes"]["r5-1"]["proxy"]["console"] = "jornal"; }},
		{"proxy console relative file", [](json &d) { d["remotes"]["r5-1"]["proxy"]["console"] = "file:log.txt"; }},
		{"proxy max files", [](json &d) { d["remotes"]["r5-1"]["proxy"]["max_open_files"] = 0; }},
		{"console cap too small", [](json &d) { d["remotes"]["r5-1"]["proxy"]["console_max_bytes"] = 1023; }},
		{"console cap too large", [](json &d) { d["remotes"]["r5-1"]["proxy"]["console_max_bytes"] = (1ull << 40) + 1; }},
		{"console cap as string", [](json &d) { d["remotes"]["r5-1"]["proxy"]["console_max_bytes"] = "1M"; }},
		{"comment as number", [](json &d) { d["//"] = 5; }},
	};
	for (const auto &[what, edit] : mistakes) {
		json doc = example();
		edit(doc);
		EXPECT_FALSE(v.validate(doc).empty()) << what << ": the schema accepts it";
		EXPECT_FALSE(loaderAccepts(doc)) << what << ": the loader accepts it";
	}

	const std::pair<const char *, Edit> fine[] = {
		{"empty", [](json &d) { d = json::object(); }},
		{"no remotes", [](json &d) { d.erase("remotes"); }},
		{"stop-all", [](json &d) { d["on_sigterm"] = "stop-all"; }},
		{"remoteproc by index 0", [](json &d) { d["remotes"]["r5-0"]["remoteproc"] = 0; }},
		{"hex byte message", [](json &d) { d["remotes"]["r5-0"]["shutdown"]["message"] = "ef:56:a5:5a"; }},
		{"uid numbers", [](json &d) { d["remotes"]["r5-0"]["allow"]["control"]["users"] = {0, 4294967294u}; }},
		{"proxy disabled, nothing else", [](json &d) { d["remotes"]["r5-1"]["proxy"] = {{"enabled", false}}; }},
		{"console file", [](json &d) { d["remotes"]["r5-1"]["proxy"]["console"] = "file:/var/log/r5.log"; }},
		{"console cap smallest", [](json &d) { d["remotes"]["r5-1"]["proxy"]["console_max_bytes"] = 1024; }},
		{"console cap largest", [](json &d) { d["remotes"]["r5-1"]["proxy"]["console_max_bytes"] = 1ull << 40; }},
		{"firmware in a subdirectory", [](json &d) { d["remotes"]["r5-0"]["firmware"] = "xilinx/r5/echo.elf"; }},
		{"minimal remote", [](json &d) { d["remotes"] = {{"x", {{"remoteproc", "r5f_0"}}}}; }},
	};
	for (const auto &[what, edit] : fine) {
		json doc = example();
		edit(doc);
		auto errors = v.validate(doc);
		EXPECT_TRUE(errors.empty()) << what << ": the schema refuses it: " << (errors.empty() ? "" : errors.front());
		std::string why;
		EXPECT_TRUE(loaderAccepts(doc, &why)) << what << ": the loader refuses it: " << why;
	}
}
