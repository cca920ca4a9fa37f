// SPDX-License-Identifier: MIT
// Config loader tests: the shipped example loads, and each mistake is reported at its exact line and column.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "config.hpp"

using namespace amp;

namespace {

std::string examplePath()
{
	return std::string(AMP_SOURCE_DIR) + "/config/ampd.example.json";
}

// The first error line of parsing `text` as "ampd.json".
std::string firstError(const std::string &text, const ConfigOptions &options = {})
{
	auto r = parseConfig(text, "ampd.json", options);
	if (r)
		return "<accepted>";
	EXPECT_EQ(r.error().code, EINVAL);
	auto nl = r.error().context.find('\n');
	return r.error().context.substr(0, nl);
}

std::string allErrors(const std::string &text)
{
	auto r = parseConfig(text, "ampd.json");
	return r ? "<accepted>" : r.error().context;
}

// A remote "r5-0" with `body` as its members, one per line from line 4.
std::string withRemote(const std::string &body)
{
	return "{\n"
	       "  \"remotes\": {\n"
	       "    \"r5-0\": {\n" +
	       body +
	       "\n    }\n"
	       "  }\n"
	       "}\n";
}

} // namespace

TEST(ConfigLoad, ExampleLoads)
{
	auto cfg = loadConfig(examplePath());
	ASSERT_TRUE(cfg) << cfg.error().context;
	EXPECT_EQ(cfg->socketPath, "/run/ampd/ampd.sock");
	EXPECT_EQ(cfg->socketMode, 0660u);
	ASSERT_TRUE(cfg->socketGroup);
	EXPECT_EQ(std::get<std::string>(cfg->socketGroup->who), "amp");
	EXPECT_EQ(cfg->stateDirectory, "/var/lib/ampd");
	EXPECT_EQ(cfg->onSigterm, Config::OnSigterm::Leave);
	ASSERT_EQ(cfg->remotes.size(), 2u);

	const RemoteConfig *r0 = cfg->findRemote("r5-0");
	ASSERT_TRUE(r0);
	EXPECT_EQ(std::get<std::string>(r0->remoteproc), "ff9a0000.rf5ss:r5f_0");
	EXPECT_EQ(r0->firmware, "image_echo_test");
	EXPECT_TRUE(r0->autostart);
	EXPECT_EQ(r0->maxInFlight, 64u);
	EXPECT_EQ(r0->channels, std::vector<std::string>{"rpmsg-openamp-demo-channel"});
	ASSERT_TRUE(r0->shutdown);
	EXPECT_EQ(r0->shutdown->bytes, (std::vector<std::uint8_t>{0x5a, 0xa5, 0x56, 0xef})) << "the word goes out little-endian";
	EXPECT_EQ(r0->shutdown->channel, "rpmsg-openamp-demo-channel");
	EXPECT_EQ(r0->startToChannel, std::chrono::milliseconds(5000));
	EXPECT_EQ(r0->shutdownDeadline, std::chrono::milliseconds(3000));
	EXPECT_EQ(r0->restart.mode, RestartPolicy::Mode::OnFailure);
	EXPECT_EQ(r0->restart.maxRestarts, 3u);
	EXPECT_EQ(r0->restart.window, std::chrono::milliseconds(60000));
	EXPECT_EQ(r0->restart.backoff, std::chrono::milliseconds(1000));
	EXPECT_EQ(r0->restart.backoffMax, std::chrono::milliseconds(8000));
	ASSERT_EQ(r0->control.users.size(), 2u);
	EXPECT_EQ(std::get<std::string>(r0->control.users[0].who), "alice");
	EXPECT_FALSE(r0->control.users[0].id) << "no lookup given";
	EXPECT_EQ(r0->control.users[1].id, 1001u);
	ASSERT_EQ(r0->channelAccess.size(), 2u);
	EXPECT_EQ(std::get<std::string>(r0->channelAccess.at("rpmsg-openamp-demo-channel").groups.at(0).who), "amp-clients");
	EXPECT_EQ(std::get<std::string>(r0->channelAccess.at("*").users.at(0).who), "bob");
	EXPECT_FALSE(r0->proxy.enabled);

	const RemoteConfig *r1 = cfg->findRemote("r5-1");
	ASSERT_TRUE(r1);
	EXPECT_EQ(std::get<std::uint32_t>(r1->remoteproc), 1u);
	EXPECT_EQ(r1->restart.mode, RestartPolicy::Mode::Never);
	EXPECT_TRUE(r1->proxy.enabled);
	EXPECT_EQ(r1->proxy.directory, "/var/lib/ampd/r5-1");
	EXPECT_EQ(r1->proxy.channel, "rpmsg-openamp-demo-channel");
	EXPECT_EQ(r1->proxy.maxOpenFiles, 16u);
	EXPECT_EQ(r1->proxy.console, ProxyConfig::Console::Journal);
	EXPECT_EQ(r1->proxy.consoleMaxBytes, 1048576u);
	EXPECT_EQ(cfg->findRemote("r5-2"), nullptr);
}

TEST(ConfigLoad, EmptyObjectGivesDefaults)
{
	auto cfg = parseConfig("{}", "ampd.json");
	ASSERT_TRUE(cfg) << cfg.error().context;
	Config defaults;
	EXPECT_EQ(cfg->socketPath, defaults.socketPath);
	EXPECT_EQ(cfg->stateDirectory, defaults.stateDirectory);
	EXPECT_TRUE(cfg->remotes.empty());
}

TEST(ConfigLoad, ShutdownMessageForms)
{
	struct Case {
		const char *text;
		std::vector<std::uint8_t> bytes;
	} cases[] = {
		{"0xEF56A55A", {0x5a, 0xa5, 0x56, 0xef}},
		{"0x1", {0x01, 0, 0, 0}},
		{"ef 56 a5 5a", {0xef, 0x56, 0xa5, 0x5a}},
		{"EF:56:A5:5A", {0xef, 0x56, 0xa5, 0x5a}},
		{"ef56a55a00", {0xef, 0x56, 0xa5, 0x5a, 0x00}},
	};
	for (const auto &c : cases) {
		auto cfg = parseConfig(withRemote(std::string("\"remoteproc\": 0, \"shutdown\": {\"message\": \"") + c.text +
						  "\", \"channel\": \"rpmsg-openamp-demo-channel\"}"),
				       "ampd.json");
		ASSERT_TRUE(cfg) << c.text << ": " << cfg.error().context;
		EXPECT_EQ(cfg->remotes.at(0).shutdown->bytes, c.bytes) << c.text;
	}
}

TEST(ConfigLoad, NamesResolveThroughTheLookups)
{
	ConfigOptions options;
	options.lookupUser = [](const std::string &n) -> std::optional<std::uint32_t> {
		return n == "alice" ? std::optional<std::uint32_t>(1000) : std::nullopt;
	};
	options.lookupGroup = [](const std::string &n) -> std::optional<std::uint32_t> {
		return n == "amp" ? std::optional<std::uint32_t>(500) : std::nullopt;
	};
	std::string text = withRemote("      \"remoteproc\": 0,\n"
				      "      \"allow\": {\"control\": {\"users\": [\"alice\", 7], \"groups\": [\"amp\"]}}");
	auto cfg = parseConfig(text, "ampd.json", options);
	ASSERT_TRUE(cfg) << cfg.error().context;
	EXPECT_EQ(cfg->remotes[0].control.users[0].id, 1000u);
	EXPECT_EQ(cfg->remotes[0].control.users[1].id, 7u);
	EXPECT_EQ(cfg->remotes[0].control.groups[0].id, 500u);
	EXPECT_EQ((cfg->remotes[0].control.users[0].pos), (ConfigPos{5, 39}));

	std::string typo = withRemote("      \"remoteproc\": 0,\n"
				      "      \"allow\": {\"control\": {\"users\": [\"alcie\"], \"groups\": [\"apm\"]}}");
	auto r = parseConfig(typo, "ampd.json", options);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().context, "ampd.json:5:39: no user named \"alcie\" on this system\n"
				     "ampd.json:5:60: no group named \"apm\" on this system");

	// The system lookups know root.
	EXPECT_EQ(systemUserLookup()("root"), 0u);
	EXPECT_EQ(systemGroupLookup()("root"), 0u);
	EXPECT_EQ(systemUserLookup()("no-such-user-here"), std::nullopt);
}

TEST(ConfigLoad, MissingFileSaysSo)
{
	auto r = loadConfig("/nonexistent/ampd.json");
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, ENOENT);
	EXPECT_EQ(r.error().context, "open config /nonexistent/ampd.json");
}

// ---- errors at exact positions ----

struct Typo {
	std::string text;
	std::string error;
};

TEST(ConfigErrors, TyposAreFoundAtTheirLineAndColumn)
{
	const Typo cases[] = {
		// unknown keys, near misses and not
		{withRemote("      \"remoteproc\": 0,\n      \"autostrat\": true"),
		 "ampd.json:5:7: unknown key \"autostrat\" in remote \"r5-0\" (did you mean \"autostart\"?)"},
		{withRemote("      \"remoteproc\": 0,\n      \"firmwre\": \"image_echo_test\""),
		 "ampd.json:5:7: unknown key \"firmwre\" in remote \"r5-0\" (did you mean \"firmware\"?)"},
		{withRemote("      \"remoteproc\": 0,\n      \"colour\": \"blue\""),
		 "ampd.json:5:7: unknown key \"colour\" in remote \"r5-0\" (expected one of: remoteproc, firmware, autostart, channels, shutdown, "
		 "deadlines, restart, allow, max_in_flight, proxy)"},
		{"{\n  \"sockte\": \"/run/ampd.sock\"\n}\n",
		 "ampd.json:2:3: unknown key \"sockte\" in the configuration (did you mean \"socket\"?)"},
		{"{\"on_sigterm\": \"leave\", \"remote\": {}}",
		 "ampd.json:1:25: unknown key \"remote\" in the configuration (did you mean \"remotes\"?)"},
		{withRemote("      \"remoteproc\": 0,\n      \"restart\": {\"policy\": \"on-failure\", \"max_restart\": 3}"),
		 "ampd.json:5:43: unknown key \"max_restart\" in \"restart\" of remote \"r5-0\" (did you mean \"max_restarts\"?)"},
		{withRemote("      \"remoteproc\": 0,\n      \"deadlines\": {\"start_ms\": 100}"),
		 "ampd.json:5:21: unknown key \"start_ms\" in \"deadlines\" of remote \"r5-0\" (expected one of: start_to_channel_ms, shutdown_ms)"},
		// wrong types
		{withRemote("      \"remoteproc\": 0,\n      \"autostart\": \"yes\""),
		 "ampd.json:5:20: \"autostart\" must be true or false, got a string"},
		{withRemote("      \"remoteproc\": 0,\n      \"deadlines\": {\"shutdown_ms\": \"3000\"}"),
		 "ampd.json:5:36: \"shutdown_ms\" must be an integer, got a string (expected 10..600000 ms)"},
		{withRemote("      \"remoteproc\": 0,\n      \"deadlines\": {\"shutdown_ms\": 2.5}"),
		 "ampd.json:5:36: \"shutdown_ms\" must be an integer, got a fractional number (expected 10..600000 ms)"},
		{withRemote("      \"remoteproc\": true"),
		 "ampd.json:4:21: \"remoteproc\" must be a name (string) or an index (integer), got a boolean"},
		{withRemote("      \"remoteproc\": 0,\n      \"channels\": \"rpmsg-openamp-demo-channel\""),
		 "ampd.json:5:19: \"channels\" must be an array of channel names, got a string"},
		{"{\"remotes\": []}", "ampd.json:1:13: \"remotes\" must be an object of alias -> remote, got an array"},
		{"[]", "ampd.json:1:1: the configuration must be an object, got an array"},
		// ranges
		{withRemote("      \"remoteproc\": 0,\n      \"deadlines\": {\"start_to_channel_ms\": 0}"),
		 "ampd.json:5:44: \"start_to_channel_ms\" is 0, out of range (expected 10..600000 ms)"},
		{withRemote("      \"remoteproc\": 0,\n      \"deadlines\": {\"shutdown_ms\": -5}"),
		 "ampd.json:5:36: \"shutdown_ms\" must be an integer, got a negative integer (expected 10..600000 ms)"},
		{withRemote("      \"remoteproc\": 0,\n      \"restart\": {\"policy\": \"on-failure\", \"max_restarts\": 0}"),
		 "ampd.json:5:59: \"max_restarts\" is 0, out of range (expected 1..1000)"},
		{withRemote("      \"remoteproc\": 0,\n      \"max_in_flight\": 257"),
		 "ampd.json:5:24: \"max_in_flight\" is 257, out of range (expected 0..256)"},
		{withRemote("      \"remoteproc\": 70000"), "ampd.json:4:21: \"remoteproc\" is 70000, out of range (expected an index 0..65535)"},
		{withRemote("      \"remoteproc\": 0,\n      \"restart\": {\"policy\": \"on-failure\", \"backoff_ms\": 500, \"backoff_max_ms\": 100}"),
		 "ampd.json:5:80: \"backoff_max_ms\" is below \"backoff_ms\" (500 ms; expected at least that)"},
		// enums
		{withRemote("      \"remoteproc\": 0,\n      \"restart\": {\"policy\": \"on-failur\"}"),
		 "ampd.json:5:29: \"policy\" is \"on-failur\", not a known value (did you mean \"on-failure\"?)"},
		{"{\n  \"on_sigterm\": \"stop\"\n}", "ampd.json:2:17: \"on_sigterm\" is \"stop\", not a known value (expected \"leave\" or \"stop-all\")"},
		// required keys
		{withRemote("      \"firmware\": \"image_echo_test\""),
		 "ampd.json:3:13: remote \"r5-0\" has no \"remoteproc\" (expected the remoteproc's name attribute (a string) or its index N of "
		 "remoteprocN)"},
		{withRemote("      \"remoteproc\": 0,\n      \"restart\": {\"max_restarts\": 3}"),
		 "ampd.json:5:18: \"restart\" of remote \"r5-0\" has no \"policy\" (expected \"never\" or \"on-failure\")"},
		{withRemote("      \"remoteproc\": 0,\n      \"shutdown\": {\"message\": \"0xEF56A55A\"}"),
		 "ampd.json:5:19: \"shutdown\" of remote \"r5-0\" has no \"channel\" (expected the channel the message is sent on)"},
		{withRemote("      \"remoteproc\": 0,\n      \"proxy\": {\"enabled\": true, \"channel\": \"c\"}"),
		 "ampd.json:5:16: \"proxy\" of remote \"r5-0\" has no \"directory\" (expected the absolute directory the remote's files are "
		 "confined to)"},
		// values
		{withRemote("      \"remoteproc\": 0,\n      \"shutdown\": {\"message\": \"0xEF56A55G\", \"channel\": \"c\"}"),
		 "ampd.json:5:31: \"message\" has \"G\", not a hex digit (expected \"0xEF56A55A\" or hex bytes like \"ef 56 a5 5a\")"},
		{withRemote("      \"remoteproc\": 0,\n      \"shutdown\": {\"message\": \"ef 56 a\", \"channel\": \"c\"}"),
		 "ampd.json:5:31: \"message\" has an odd number of hex digits (expected two digits per byte) (expected \"0xEF56A55A\" or hex bytes "
		 "like \"ef 56 a5 5a\")"},
		{withRemote("      \"remoteproc\": 0,\n      \"firmware\": \"../../etc/shadow\""),
		 "ampd.json:5:19: \"firmware\" has a \"..\" component (expected a name under the firmware search path)"},
		{withRemote("      \"remoteproc\": 0,\n      \"channels\": [\"rpmsg-openamp-demo-channel-that-is-too-long\"]"),
		 "ampd.json:5:20: \"channels\" is 43 bytes long (at most 31)"},
		{withRemote("      \"remoteproc\": 0,\n      \"proxy\": {\"console\": \"jornal\"}"),
		 "ampd.json:5:28: \"console\" is \"jornal\", not a known console (did you mean \"journal\"?)"},
		{withRemote("      \"remoteproc\": 0,\n      \"proxy\": {\"console_max_bytes\": 1023}"),
		 "ampd.json:5:38: \"console_max_bytes\" is 1023, out of range (expected 1024..1099511627776 bytes)"},
		{withRemote("      \"remoteproc\": 0,\n      \"proxy\": {\"enabled\": true, \"channel\": \"c\", \"directory\": \"/\"}"),
		 "ampd.json:5:63: \"directory\" is \"/\": the proxy would reach the whole file system (expected a directory of its own)"},
		{"{\"socket\": \"run/ampd.sock\"}",
		 "ampd.json:1:12: \"socket\" is \"run/ampd.sock\", not an absolute path (expected a path starting with /)"},
		{"{\"socket_mode\": \"0666\"}",
		 "ampd.json:1:17: \"socket_mode\" \"0666\" lets every local user connect (expected no bits for others, like \"0660\")"},
		{withRemote("      \"remoteproc\": 0,\n      \"allow\": {\"control\": {\"users\": [\"alice\", true]}}"),
		 "ampd.json:5:48: user must be a name or a numeric id, got a boolean"},
		{withRemote("      \"remoteproc\": 0,\n      \"allow\": {\"control\": {\"user\": [\"alice\"]}}"),
		 "ampd.json:5:29: unknown key \"user\" in \"control\" of remote \"r5-0\" (did you mean \"users\"?)"},
		// duplicates
		{withRemote("      \"remoteproc\": 0,\n      \"remoteproc\": 1"),
		 "ampd.json:5:7: duplicate key \"remoteproc\" in remote \"r5-0\" (first at line 4)"},
		{"{\"remotes\": {\n  \"a\": {\"remoteproc\": 0},\n  \"b\": {\"remoteproc\": 0}\n}}",
		 "ampd.json:3:3: remote \"b\" matches remoteproc 0 like remote \"a\" (line 2); expected one alias per core"},
		{"{\"remotes\": {\"r5 0\": {\"remoteproc\": 0}}}",
		 "ampd.json:1:14: remote alias \"r5 0\" has 0x20 at offset 2 (expected printable ASCII without spaces)"},
		// syntax
		{"{\n  \"socket\": \"/run/a.sock\",\n}\n",
		 "ampd.json:3:1: syntax error while parsing object key - unexpected '}' (expected string literal)"},
		{"{\n  \"socket\": \"/run/a.sock\"\n  \"on_sigterm\": \"leave\"\n}\n",
		 "ampd.json:3:3: syntax error while parsing object - unexpected string literal (expected '}')"},
		{"{\n  // comment\n}", "ampd.json:2:3: syntax error while parsing object key - invalid literal (expected string literal)"},
		{"", "ampd.json:1:1: syntax error while parsing value - unexpected end of input (expected '[', '{', or a literal)"},
		{"{} {}", "ampd.json:1:4: syntax error while parsing value - unexpected '{' (expected end of input)"},
		{"{\"socket\": \"/run/\xff\"}", "ampd.json:1:18: syntax error while parsing value - invalid string: ill-formed UTF-8 byte"},
		{std::string("{\"socket\": \"/a\"}\0{", 18), "ampd.json:1:17: NUL byte (expected JSON text)"},
	};
	for (const auto &c : cases)
		EXPECT_EQ(firstError(c.text), c.error) << c.text;
}

TEST(ConfigErrors, EveryProblemIsReportedNotJustTheFirst)
{
	std::string text = withRemote("      \"remoteproc\": 0,\n"
				      "      \"autostrat\": true,\n"
				      "      \"deadlines\": {\"shutdown_ms\": 5},\n"
				      "      \"restart\": {\"policy\": \"always\"}");
	EXPECT_EQ(allErrors(text), "ampd.json:5:7: unknown key \"autostrat\" in remote \"r5-0\" (did you mean \"autostart\"?)\n"
				   "ampd.json:6:36: \"shutdown_ms\" is 5, out of range (expected 10..600000 ms)\n"
				   "ampd.json:7:29: \"policy\" is \"always\", not a known value (expected \"never\" or \"on-failure\")");
}

TEST(ConfigErrors, PositionsCountBytesAndSkipTheBom)
{
	// Columns are bytes; CRLF line ends and a UTF-8 BOM do not shift them.
	EXPECT_EQ(firstError("\xEF\xBB\xBF{\"sockt\": \"/a\"}"), "ampd.json:1:5: unknown key \"sockt\" in the configuration (did you mean \"socket\"?)");
	EXPECT_EQ(firstError("{\r\n\t\"sockt\": \"/a\"\r\n}"), "ampd.json:2:2: unknown key \"sockt\" in the configuration (did you mean \"socket\"?)");
	// Numbers make the lexer read one byte ahead; the next value is still placed right.
	EXPECT_EQ(firstError("{\"remotes\": {\"a\": {\"remoteproc\": 1,\"autostart\":0}}}"),
		  "ampd.json:1:48: \"autostart\" must be true or false, got an integer");
	EXPECT_EQ(firstError("{\"remotes\": {\"a\": {\"channels\": [1], \"remoteproc\": 0}}}"),
		  "ampd.json:1:33: \"channels\" must be a string, got an integer (expected a name of 1..31 printable ASCII characters)");
	EXPECT_EQ(firstError("{\"remotes\": {\"a\": {\"remoteproc\": \"x\\\"y\", \"autostart\": 1}}}"),
		  "ampd.json:1:55: \"autostart\" must be true or false, got an integer");
}

TEST(ConfigErrors, CommentsMustBeText)
{
	EXPECT_EQ(firstError("{\"//\": [\"a\", \"b\"], \"remotes\": {\"//\": \"x\"}}"), "<accepted>");
	EXPECT_EQ(firstError("{\"//\": 5}"), "ampd.json:1:8: comment \"//\" must be a string or an array of strings, got an integer");
}

TEST(ConfigErrors, HostileInputNeverCrashes)
{
	std::ifstream in(examplePath());
	std::string example((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	ASSERT_FALSE(example.empty());
	for (std::size_t n = 0; n < example.size(); n += 7) {
		auto r = parseConfig(std::string_view(example).substr(0, n), "ampd.json");
		ASSERT_FALSE(r) << n;
		EXPECT_EQ(r.error().context.rfind("ampd.json:", 0), 0u) << r.error().context;
	}
	std::mt19937 rng(99);
	const char alphabet[] = "{}[]\":,\\0123456789-.etrufalsn \n\xff";
	for (int i = 0; i < 3000; ++i) {
		std::string t = example;
		for (int e = 0; e < 3; ++e)
			t[rng() % t.size()] = alphabet[rng() % (sizeof alphabet - 1)];
		auto r = parseConfig(t, "ampd.json");
		EXPECT_TRUE(r || r.error().context.rfind("ampd.json:", 0) == 0) << r.error().context;
	}
	std::string deep(100000, '[');
	EXPECT_EQ(firstError(deep), "ampd.json:1:33: nesting deeper than 32 levels (expected a configuration object)");
}
