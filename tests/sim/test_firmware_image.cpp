// SPDX-License-Identifier: MIT
// Tests the firmware ELF writer and the remoteproc firmware checks of firmware_image.h.
#include "firmware_image.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace ampsim {
namespace {

// loadFirmware()'s answer when the kernel's `start` write returns 1 (a short
// write, core still offline): an ignored vendor resource was the last entry.
constexpr int kShortWrite = -1;

const char *const kApps[] = {"echo", "matmul", "rpc", "rpcprobe", "crash", "hang", "silent", "slow", "norsc"};

uint16_t get16(const std::vector<uint8_t> &b, size_t off) { return uint16_t(b.at(off) | b.at(off + 1) << 8); }

uint32_t get32(const std::vector<uint8_t> &b, size_t off)
{
	return uint32_t(get16(b, off)) | uint32_t(get16(b, off + 2)) << 16;
}

void set16(std::vector<uint8_t> &b, size_t off, uint16_t v)
{
	b.at(off) = uint8_t(v);
	b.at(off + 1) = uint8_t(v >> 8);
}

void set32(std::vector<uint8_t> &b, size_t off, uint32_t v)
{
	set16(b, off, uint16_t(v));
	set16(b, off + 2, uint16_t(v >> 16));
}

void set64(std::vector<uint8_t> &b, size_t off, uint64_t v)
{
	set32(b, off, uint32_t(v));
	set32(b, off + 4, uint32_t(v >> 32));
}

void append32(std::vector<uint8_t> &b, uint32_t v)
{
	b.resize(b.size() + 4);
	set32(b, b.size() - 4, v);
}

// ELF32 offsets the tests poke at.
constexpr size_t kEPhoff = 28, kEShoff = 32, kEPhnum = 44, kEShnum = 48, kEShstrndx = 50;
constexpr size_t kPh = 52; // the one program header
constexpr size_t kPhOffset = kPh + 4, kPhVaddr = kPh + 8, kPhPaddr = kPh + 12;
constexpr size_t kPhFilesz = kPh + 16, kPhMemsz = kPh + 20;

// A section of an ELF32 image: where its header is and what it says.
struct Sec {
	size_t hdr;
	uint32_t addr, offset, size;
};

std::optional<Sec> findSec(const std::vector<uint8_t> &img, const std::string &name)
{
	const uint32_t shoff = get32(img, kEShoff);
	const uint32_t strOff = get32(img, shoff + 40 * get16(img, kEShstrndx) + 16);
	for (uint32_t i = 0; i < get16(img, kEShnum); i++) {
		const size_t hdr = shoff + 40 * i;
		const size_t at = strOff + get32(img, hdr);
		if (img.size() > at + name.size() && std::string(img.begin() + at, img.begin() + at + name.size()) == name &&
		    img[at + name.size()] == 0)
			return Sec{hdr, get32(img, hdr + 12), get32(img, hdr + 16), get32(img, hdr + 20)};
	}
	return std::nullopt;
}

// Where a section's name is in the string table.
size_t nameAt(const std::vector<uint8_t> &img, const Sec &s)
{
	return get32(img, get32(img, kEShoff) + 40 * get16(img, kEShstrndx) + 16) + get32(img, s.hdr);
}

Sec sec(const std::vector<uint8_t> &img, const std::string &name)
{
	if (auto s = findSec(img, name))
		return *s;
	throw std::runtime_error("no section " + name);
}

FirmwareSpec specFor(const std::string &app)
{
	FirmwareSpec s;
	s.app = app;
	s.service = "svc-" + app;
	s.announceAddr = 0x400 + unsigned(app.size());
	s.crashAfterMsgs = 3;
	s.crashAfterMs = 1500;
	s.replyDelayMs = 250;
	s.flags = AMPSIM_FW_REPLY_TO_SENDER;
	return s;
}

std::vector<uint8_t> build(const std::string &app = "echo") { return buildFirmware(specFor(app)); }

int load(const std::vector<uint8_t> &img, std::string *whyOut = nullptr, LoadedFirmware *outOut = nullptr)
{
	LoadedFirmware out;
	std::string why;
	// An exactly sized copy, so that ASan catches any read past the end.
	const std::vector<uint8_t> exact(img.begin(), img.end());
	const int rc = loadFirmware(exact, out, why);
	if (whyOut)
		*whyOut = why;
	if (outOut)
		*outOut = out;
	return rc;
}

bool acceptable(int rc) { return rc == 0 || rc == EINVAL || rc == kShortWrite; }

// The same firmware as an ELF64 file (the kernel takes both classes): new
// ELF and program headers in front, the section headers rewritten at the end,
// everything else at the same file offsets.
std::vector<uint8_t> toElf64(const std::vector<uint8_t> &e32)
{
	const uint32_t shoff = get32(e32, kEShoff);
	const uint16_t shnum = get16(e32, kEShnum);
	std::vector<uint8_t> f(e32.begin(), e32.begin() + shoff);
	const size_t newShoff = (f.size() + 7) & ~size_t(7);
	f.resize(newShoff + 64 * shnum, 0);
	std::fill(f.begin(), f.begin() + 64 + 56, 0);
	std::copy(e32.begin(), e32.begin() + 16, f.begin());
	f[4] = 2; // ELFCLASS64
	set16(f, 16, get16(e32, 16));
	set16(f, 18, get16(e32, 18));
	set32(f, 20, get32(e32, 20));
	set64(f, 24, get32(e32, 24));
	set64(f, 32, 64);
	set64(f, 40, newShoff);
	set32(f, 48, get32(e32, 36));
	set16(f, 52, 64);
	set16(f, 54, 56);
	set16(f, 56, 1);
	set16(f, 58, 64);
	set16(f, 60, shnum);
	set16(f, 62, get16(e32, kEShstrndx));
	set32(f, 64, get32(e32, kPh));      // p_type
	set32(f, 68, get32(e32, kPh + 24)); // p_flags
	set64(f, 72, get32(e32, kPhOffset));
	set64(f, 80, get32(e32, kPhVaddr));
	set64(f, 88, get32(e32, kPhPaddr));
	set64(f, 96, get32(e32, kPhFilesz));
	set64(f, 104, get32(e32, kPhMemsz));
	set64(f, 112, get32(e32, kPh + 28));
	for (size_t i = 0; i < shnum; i++) {
		const size_t o = shoff + 40 * i, n = newShoff + 64 * i;
		set32(f, n, get32(e32, o));
		set32(f, n + 4, get32(e32, o + 4));
		set64(f, n + 8, get32(e32, o + 8));
		set64(f, n + 16, get32(e32, o + 12));
		set64(f, n + 24, get32(e32, o + 16));
		set64(f, n + 32, get32(e32, o + 20));
		set32(f, n + 40, get32(e32, o + 24));
		set32(f, n + 44, get32(e32, o + 28));
		set64(f, n + 48, get32(e32, o + 32));
		set64(f, n + 56, get32(e32, o + 36));
	}
	return f;
}

// Resource table entries (type word + body) for hand-made tables.
std::vector<uint8_t> vdevEntry(uint32_t id, unsigned nVrings, uint32_t num = 256, uint32_t align = 0x1000,
			       uint32_t configLen = 0)
{
	std::vector<uint8_t> e;
	append32(e, 3);
	append32(e, id);
	append32(e, 0);
	append32(e, 1);
	append32(e, 0);
	append32(e, configLen);
	append32(e, nVrings << 8);
	for (unsigned i = 0; i < nVrings; i++) {
		append32(e, 0xFFFFFFFFu);
		append32(e, align);
		append32(e, num);
		append32(e, i + 1);
		append32(e, 0);
	}
	e.resize(e.size() + configLen, 0xAB);
	return e;
}

std::vector<uint8_t> rawEntry(uint32_t type, size_t bodyLen)
{
	std::vector<uint8_t> e;
	append32(e, type);
	e.resize(4 + bodyLen, 0);
	return e;
}

std::vector<uint8_t> table(const std::vector<std::vector<uint8_t>> &entries)
{
	std::vector<uint8_t> t;
	append32(t, 1);
	append32(t, uint32_t(entries.size()));
	append32(t, 0);
	append32(t, 0);
	uint32_t at = uint32_t(16 + 4 * entries.size());
	for (const auto &e : entries) {
		append32(t, at);
		at += uint32_t(e.size());
	}
	for (const auto &e : entries)
		t.insert(t.end(), e.begin(), e.end());
	return t;
}

// An echo firmware whose .resource_table section is `t`, appended to the
// file (find_table() reads the file, not the loaded segment).
std::vector<uint8_t> withTable(const std::vector<uint8_t> &t)
{
	std::vector<uint8_t> img = build();
	const Sec rt = sec(img, ".resource_table");
	img.resize((img.size() + 3) & ~size_t(3), 0);
	set32(img, rt.hdr + 16, uint32_t(img.size()));
	set32(img, rt.hdr + 20, uint32_t(t.size()));
	img.insert(img.end(), t.begin(), t.end());
	return img;
}

std::string run(const std::string &cmd)
{
	std::string out;
	if (FILE *p = popen(cmd.c_str(), "r")) {
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
			out.append(buf, n);
		pclose(p);
	}
	return out;
}

TEST(FirmwareImage, KnownApps)
{
	for (const char *app : kApps)
		EXPECT_TRUE(isKnownApp(app)) << app;
	for (const char *app : {"", "Echo", "echo ", "matrix", "norsc\n"})
		EXPECT_FALSE(isKnownApp(app)) << app;
}

TEST(FirmwareImage, RoundTripEveryApp)
{
	for (const char *app : kApps) {
		SCOPED_TRACE(app);
		const FirmwareSpec spec = specFor(app);
		LoadedFirmware out;
		std::string why;
		ASSERT_EQ(loadFirmware(buildFirmware(spec), out, why), 0) << why;
		ASSERT_TRUE(out.spec.has_value());
		EXPECT_EQ(out.spec->app, spec.app);
		EXPECT_EQ(out.spec->service, spec.service);
		EXPECT_EQ(out.spec->announceAddr, spec.announceAddr);
		EXPECT_EQ(out.spec->crashAfterMsgs, spec.crashAfterMsgs);
		EXPECT_EQ(out.spec->crashAfterMs, spec.crashAfterMs);
		EXPECT_EQ(out.spec->replyDelayMs, spec.replyDelayMs);
		EXPECT_EQ(out.spec->flags, spec.flags);
		EXPECT_EQ(out.entry, AMPSIM_FW_LOAD_ADDR);
		const bool rsc = std::string(app) != "norsc";
		EXPECT_EQ(out.hasResourceTable, rsc);
		EXPECT_EQ(out.hasRpmsgVdev, rsc);
		if (!rsc) {
			EXPECT_NE(why.find("no resource table found."), std::string::npos) << why;
			EXPECT_TRUE(out.vrings.empty());
			continue;
		}
		EXPECT_EQ(out.vdevFeatures, 1u);
		ASSERT_EQ(out.vrings.size(), 2u);
		for (uint32_t i = 0; i < 2; i++) {
			EXPECT_EQ(out.vrings[i].da, 0xFFFFFFFFu);
			EXPECT_EQ(out.vrings[i].align, 0x1000u);
			EXPECT_EQ(out.vrings[i].num, 256u);
			EXPECT_EQ(out.vrings[i].notifyid, i + 1);
			EXPECT_EQ(out.vrings[i].pa, 0u);
		}
	}
}

TEST(FirmwareImage, DefaultSpecRoundTrips)
{
	LoadedFirmware out;
	std::string why;
	ASSERT_EQ(loadFirmware(buildFirmware(FirmwareSpec{}), out, why), 0) << why;
	ASSERT_TRUE(out.spec);
	EXPECT_EQ(out.spec->app, "echo");
	EXPECT_EQ(out.spec->service, AMPSIM_DEFAULT_SERVICE);
	EXPECT_EQ(out.spec->announceAddr, AMPSIM_DEFAULT_ANNOUNCE_ADDR);
	EXPECT_EQ(out.spec->flags, 0u);
}

TEST(FirmwareImage, LongStringsFillTheMarkerFields)
{
	FirmwareSpec spec;
	spec.app = std::string(20, 'a');
	spec.service = std::string(40, 's');
	LoadedFirmware out;
	std::string why;
	ASSERT_EQ(loadFirmware(buildFirmware(spec), out, why), 0) << why;
	ASSERT_TRUE(out.spec);
	EXPECT_EQ(out.spec->app, std::string(16, 'a'));
	EXPECT_EQ(out.spec->service, std::string(32, 's'));
}

TEST(FirmwareImage, LayoutFollowsFwFormat)
{
	const std::vector<uint8_t> img = build();
	EXPECT_EQ(get16(img, 16), 2u);  // ET_EXEC
	EXPECT_EQ(get16(img, 18), 40u); // EM_ARM
	EXPECT_EQ(get32(img, 24), AMPSIM_FW_LOAD_ADDR);
	EXPECT_EQ(get16(img, kEPhnum), 1u);
	EXPECT_EQ(get32(img, kPh), 1u); // PT_LOAD
	EXPECT_EQ(get32(img, kPhVaddr), AMPSIM_FW_LOAD_ADDR);
	EXPECT_EQ(get32(img, kPhPaddr), AMPSIM_FW_LOAD_ADDR);
	EXPECT_EQ(get32(img, kPhFilesz), get32(img, kPhMemsz));
	EXPECT_EQ(get32(img, kPh + 24), 5u); // R+X
	EXPECT_EQ(get32(img, kPhOffset) % get32(img, kPh + 28), AMPSIM_FW_LOAD_ADDR % get32(img, kPh + 28));
	EXPECT_EQ(get32(img, 0), 0x464c457fu);

	const Sec text = sec(img, ".text"), rt = sec(img, ".resource_table"), mk = sec(img, AMPSIM_FW_SECTION);
	const uint32_t segOff = get32(img, kPhOffset);
	EXPECT_EQ(text.addr, AMPSIM_FW_LOAD_ADDR);
	EXPECT_EQ(text.offset, segOff);
	EXPECT_EQ(text.size, 16u);
	EXPECT_EQ(get32(img, text.offset), 0xEAFFFFFEu); // b .
	EXPECT_EQ(rt.addr, text.addr + 16);
	EXPECT_EQ(rt.offset, text.offset + 16);
	EXPECT_EQ(mk.addr, rt.addr + rt.size);
	EXPECT_EQ(mk.offset, rt.offset + rt.size);
	EXPECT_EQ(mk.size, sizeof(ampsim_fw_marker));
	EXPECT_EQ(mk.offset + mk.size, segOff + get32(img, kPhFilesz));
	EXPECT_EQ(std::string(img.begin() + mk.offset, img.begin() + mk.offset + 8), AMPSIM_FW_MAGIC);

	// The table, word by word: header, one VDEV with two vrings.
	const std::vector<uint32_t> want = {1, 1, 0, 0, 20, 3, 7, 0, 1, 0, 0, 0x200, 0xFFFFFFFF, 0x1000,
					    256, 1, 0, 0xFFFFFFFF, 0x1000, 256, 2, 0};
	ASSERT_EQ(rt.size, want.size() * 4);
	for (size_t i = 0; i < want.size(); i++)
		EXPECT_EQ(get32(img, rt.offset + 4 * i), want[i]) << "word " << i;

	const std::vector<uint8_t> norsc = build("norsc");
	EXPECT_FALSE(findSec(norsc, ".resource_table"));
	EXPECT_EQ(sec(norsc, AMPSIM_FW_SECTION).addr, AMPSIM_FW_LOAD_ADDR + 16);
}

TEST(FirmwareImage, ReadelfAcceptsTheImage)
{
	if (run("command -v readelf").empty())
		GTEST_SKIP() << "readelf not installed";
	for (const char *app : {"echo", "norsc"}) {
		SCOPED_TRACE(app);
		char path[] = "/tmp/ampsim-fw-XXXXXX";
		const int fd = mkstemp(path);
		ASSERT_GE(fd, 0);
		const std::vector<uint8_t> img = build(app);
		ASSERT_EQ(write(fd, img.data(), img.size()), ssize_t(img.size()));
		close(fd);
		const std::string out = run(std::string("readelf -a -W ") + path + " 2>&1");
		unlink(path);
		EXPECT_EQ(out.find("Warning"), std::string::npos) << out;
		EXPECT_EQ(out.find("warning"), std::string::npos) << out;
		EXPECT_EQ(out.find("Error"), std::string::npos) << out;
		EXPECT_NE(out.find("EXEC (Executable file)"), std::string::npos) << out;
		EXPECT_NE(out.find("ARM"), std::string::npos) << out;
		EXPECT_NE(out.find("Entry point address:               0x3ed00000"), std::string::npos) << out;
		EXPECT_NE(out.find(".ampsim"), std::string::npos) << out;
		EXPECT_EQ(out.find(".resource_table") != std::string::npos, std::string(app) == "echo") << out;
		EXPECT_NE(out.find("LOAD           0x001000 0x3ed00000 0x3ed00000"), std::string::npos) << out;
	}
}

TEST(FirmwareImage, TruncationsNeverCrash)
{
	for (const auto &img : {build(), build("norsc"), toElf64(build())}) {
		for (size_t len = 0; len < img.size(); len++) {
			std::string why;
			const int rc = load(std::vector<uint8_t>(img.begin(), img.begin() + len), &why);
			ASSERT_TRUE(rc == 0 || rc == EINVAL) << len << ": " << rc;
			if (rc) {
				EXPECT_FALSE(why.empty()) << len;
			}
			if (len < 52) {
				EXPECT_EQ(why, "Image is too small") << len;
			}
		}
	}
}

TEST(FirmwareImage, ByteCorruptionOfTheHeadersNeverCrashes)
{
	const std::vector<uint8_t> base = build();
	for (size_t at = 0; at < 200; at++) {
		for (uint8_t v : {0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff}) {
			std::vector<uint8_t> img = base;
			img[at] = v;
			ASSERT_TRUE(acceptable(load(img))) << at << "=" << int(v);
		}
	}
}

TEST(FirmwareImage, BadMagicRefused)
{
	for (size_t at = 0; at < 4; at++) {
		std::vector<uint8_t> img = build();
		img[at] ^= 0x20;
		std::string why;
		EXPECT_EQ(load(img, &why), EINVAL);
		EXPECT_EQ(why, "Image is corrupted (bad magic)");
	}
}

TEST(FirmwareImage, UnsupportedClassRefused)
{
	for (uint8_t cls : {0, 3, 0xff}) {
		std::vector<uint8_t> img = build();
		img[4] = cls;
		std::string why;
		EXPECT_EQ(load(img, &why), EINVAL);
		EXPECT_EQ(why, "Unsupported class: " + std::to_string(cls));
	}
	// The ELF64 header is 64 bytes; the first check only wants 52.
	std::vector<uint8_t> img = build();
	img.resize(60);
	img[4] = 2;
	std::string why;
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_EQ(why, "elf64 header is too small");
}

TEST(FirmwareImage, BigEndianRefused)
{
	for (uint8_t data : {0, 2, 3}) {
		std::vector<uint8_t> img = build();
		img[5] = data;
		std::string why;
		EXPECT_EQ(load(img, &why), EINVAL);
		EXPECT_EQ(why, "Unsupported firmware endianness");
	}
	std::vector<uint8_t> img = toElf64(build());
	img[5] = 2;
	EXPECT_EQ(load(img), EINVAL);
}

TEST(FirmwareImage, MachineTypeAndVersionNotChecked)
{
	std::vector<uint8_t> img = build();
	set16(img, 16, 1);  // ET_REL
	set16(img, 18, 62); // EM_X86_64
	set32(img, 20, 0);  // e_version
	img[6] = 0;         // EI_VERSION
	set16(img, 42, 7);  // e_phentsize: the kernel uses sizeof
	set16(img, 46, 3);  // e_shentsize: same
	LoadedFirmware out;
	std::string why;
	ASSERT_EQ(load(img, &why, &out), 0) << why;
	EXPECT_TRUE(out.spec);
	EXPECT_TRUE(out.hasRpmsgVdev);
}

TEST(FirmwareImage, SectionHeaderTableMustStartInsideTheFile)
{
	std::vector<uint8_t> img = build();
	std::string why;
	set32(img, kEShoff, uint32_t(img.size() - 39));
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_EQ(why, "Image is too small");
	set32(img, kEShoff, 0xFFFFFFF0u);
	EXPECT_EQ(load(img, &why), EINVAL);

	// Only the first header has to fit: the rest of the table past the end
	// of the file just means no section is found (no table, no marker).
	img = build();
	set32(img, kEShoff, uint32_t(img.size() - 40));
	LoadedFirmware out;
	EXPECT_EQ(load(img, &why, &out), 0) << why;
	EXPECT_FALSE(out.hasResourceTable);
	EXPECT_FALSE(out.spec);

	// No sections at all is fine too: e_shoff 0 points at the ELF header.
	img = build();
	set32(img, kEShoff, 0);
	set16(img, kEShnum, 0);
	EXPECT_EQ(load(img, &why, &out), 0) << why;
	EXPECT_FALSE(out.hasResourceTable);
	EXPECT_FALSE(out.spec);
}

TEST(FirmwareImage, ProgramHeadersRequired)
{
	std::vector<uint8_t> img = build();
	set16(img, kEPhnum, 0);
	std::string why;
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_EQ(why, "No loadable segments");

	img = build();
	set32(img, kEPhoff, uint32_t(img.size() + 1));
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_EQ(why, "Firmware size is too small");

	// e_phoff == size passes the sanity check; reading the header then
	// would run off the buffer in the kernel: refused here.
	img = build();
	set32(img, kEPhoff, uint32_t(img.size()));
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_NE(why.find("program header 0"), std::string::npos) << why;

	// The last 32 bytes of the file (the tail of .shstrtab's section
	// header, p_type 0) are a PT_NULL header; the second runs off the end.
	img = build();
	set32(img, kEPhoff, uint32_t(img.size() - 32));
	set16(img, kEPhnum, 2);
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_NE(why.find("program header 1 is past the end"), std::string::npos) << why;

	// A second header of zeros is PT_NULL and skipped.
	img = build();
	set16(img, kEPhnum, 2);
	EXPECT_EQ(load(img, &why), 0) << why;

	// No PT_LOAD at all: nothing is loaded, nothing is refused.
	img = build();
	set32(img, kPh, 4); // PT_NOTE
	set32(img, kPhPaddr, 0x80000000u);
	EXPECT_EQ(load(img, &why), 0) << why;
}

TEST(FirmwareImage, Elf64Accepted)
{
	for (const char *app : {"echo", "norsc"}) {
		SCOPED_TRACE(app);
		LoadedFirmware out;
		std::string why;
		ASSERT_EQ(load(toElf64(build(app)), &why, &out), 0) << why;
		ASSERT_TRUE(out.spec);
		EXPECT_EQ(out.spec->app, app);
		EXPECT_EQ(out.entry, AMPSIM_FW_LOAD_ADDR);
		EXPECT_EQ(out.hasRpmsgVdev, std::string(app) == "echo");
		EXPECT_EQ(out.vrings.size(), std::string(app) == "echo" ? 2u : 0u);
	}
}

TEST(FirmwareImage, Elf64AddressesAreCheckedWithoutOverflow)
{
	const std::vector<uint8_t> base = toElf64(build());
	std::string why;
	// rproc_da_to_va() keeps 32 bits of da - carveout->da, so a segment
	// 4 GiB above DDR is loaded into DDR, as the kernel does.
	std::vector<uint8_t> img = base;
	set64(img, 88, 0x100000000ull + AMPSIM_DDR_BASE);
	EXPECT_EQ(load(img, &why), 0) << why;

	img = base;
	set64(img, 40, ~0ull - 8); // e_shoff + 64 wraps in the kernel
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_EQ(why, "Image is too small");

	img = base;
	set64(img, 72, ~0ull); // p_offset + p_filesz wraps in the kernel
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_NE(why.find("truncated fw"), std::string::npos) << why;

	img = base;
	set64(img, 104, ~0ull); // p_memsz: offset + len wraps in the kernel
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_NE(why.find("bad phdr da"), std::string::npos) << why;

	img = base;
	set64(img, 32, ~0ull - 10); // e_phoff
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_EQ(why, "Firmware size is too small");
}

// A missing or unreadable table header is no error on the Zynq R5: the core
// boots and never gets a virtio device.
TEST(FirmwareImage, BadTableHeaderBootsWithoutTable)
{
	struct Case {
		const char *what;
		std::function<void(std::vector<uint8_t> &, const Sec &)> mutate;
		const char *log;
	};
	const std::vector<Case> cases = {
		{"version 2", [](auto &img, const Sec &rt) { set32(img, rt.offset, 2); }, "unsupported fw ver: 2"},
		{"version 0", [](auto &img, const Sec &rt) { set32(img, rt.offset, 0); }, "unsupported fw ver: 0"},
		{"reserved[0]", [](auto &img, const Sec &rt) { set32(img, rt.offset + 8, 1); }, "non zero reserved bytes"},
		{"reserved[1]", [](auto &img, const Sec &rt) { set32(img, rt.offset + 12, 0x80000000u); },
		 "non zero reserved bytes"},
		{"num too big", [](auto &img, const Sec &rt) { set32(img, rt.offset + 4, 19); }, "resource table incomplete"},
		{"num huge", [](auto &img, const Sec &rt) { set32(img, rt.offset + 4, 0xFFFFFFFFu); },
		 "resource table incomplete"},
		{"size 15", [](auto &img, const Sec &rt) { set32(img, rt.hdr + 20, 15); }, "header-less resource table"},
		{"size 0", [](auto &img, const Sec &rt) { set32(img, rt.hdr + 20, 0); }, "header-less resource table"},
		{"size past file", [](auto &img, const Sec &rt) { set32(img, rt.hdr + 20, uint32_t(img.size())); },
		 "resource table truncated"},
		{"offset past file", [](auto &img, const Sec &rt) { set32(img, rt.hdr + 16, uint32_t(img.size() - 10)); },
		 "resource table truncated"},
		{"offset+size wraps", [](auto &img, const Sec &rt) { set32(img, rt.hdr + 16, 0xFFFFFFF0u); },
		 "resource table truncated"},
		{"renamed", [](auto &img, const Sec &rt) { img[nameAt(img, rt) + 1] = 'R'; }, "no resource table found."},
		{"name past file", [](auto &img, const Sec &rt) { set32(img, rt.hdr, 0xFFFFFFF0u); }, "no resource table found."},
		{"shstrndx past table", [](auto &img, const Sec &) { set16(img, kEShstrndx, 0x7000); },
		 "no resource table found."},
	};
	for (const Case &c : cases) {
		SCOPED_TRACE(c.what);
		std::vector<uint8_t> img = build();
		c.mutate(img, sec(img, ".resource_table"));
		LoadedFirmware out;
		std::string why;
		ASSERT_EQ(load(img, &why, &out), 0) << why;
		EXPECT_FALSE(out.hasResourceTable);
		EXPECT_FALSE(out.hasRpmsgVdev);
		EXPECT_TRUE(out.vrings.empty());
		EXPECT_NE(why.find(c.log), std::string::npos) << why;
		EXPECT_NE(why.find("no resource table found."), std::string::npos) << why;
		if (std::string(c.what) != "shstrndx past table") {
			EXPECT_TRUE(out.spec);
		}
	}
}

TEST(FirmwareImage, FirstResourceTableSectionDecides)
{
	// Name .text ".resource_table": find_table() stops at it (its "version"
	// is an ARM branch) and never looks at the real table.
	std::vector<uint8_t> img = build();
	set32(img, sec(img, ".text").hdr, get32(img, sec(img, ".resource_table").hdr));
	LoadedFirmware out;
	std::string why;
	ASSERT_EQ(load(img, &why, &out), 0) << why;
	EXPECT_FALSE(out.hasResourceTable);
	EXPECT_NE(why.find("unsupported fw ver"), std::string::npos) << why;
}

TEST(FirmwareImage, SectionNamesIgnoreTheStringTableSize)
{
	// The kernel never looks at .shstrtab's sh_size.
	std::vector<uint8_t> img = build();
	set32(img, sec(img, ".shstrtab").hdr + 20, 1);
	LoadedFirmware out;
	std::string why;
	ASSERT_EQ(load(img, &why, &out), 0) << why;
	EXPECT_TRUE(out.hasRpmsgVdev);
	EXPECT_TRUE(out.spec);
}

TEST(FirmwareImage, BadVdevEntryRefused)
{
	struct Case {
		const char *what;
		std::function<void(std::vector<uint8_t> &, const Sec &)> mutate;
		const char *log;
	};
	// The VDEV entry sits at table offset 20, its body at 24.
	const std::vector<Case> cases = {
		{"reserved[0]", [](auto &img, const Sec &rt) { img[rt.offset + 24 + 22] = 1; },
		 "vdev rsc has non zero reserved bytes"},
		{"reserved[1]", [](auto &img, const Sec &rt) { img[rt.offset + 24 + 23] = 0x80; },
		 "vdev rsc has non zero reserved bytes"},
		{"config past table", [](auto &img, const Sec &rt) { set32(img, rt.offset + 24 + 16, 1); },
		 "vdev rsc is truncated"},
		{"config_len huge", [](auto &img, const Sec &rt) { set32(img, rt.offset + 24 + 16, 0xFFFFFFFFu); },
		 "vdev rsc is truncated"},
		{"3 vrings, no room", [](auto &img, const Sec &rt) { img[rt.offset + 24 + 21] = 3; }, "vdev rsc is truncated"},
		{"3 vrings", [](auto &img, const Sec &rt) {
			 img[rt.offset + 24 + 21] = 3;
			 set32(img, rt.hdr + 20, rt.size + sizeof(ampsim_fw_marker)); // room: the marker
		 },
		 "too many vrings: 3"},
		{"255 vrings", [](auto &img, const Sec &rt) { img[rt.offset + 24 + 21] = 255; }, "vdev rsc is truncated"},
		{"second vring cut", [](auto &img, const Sec &rt) { set32(img, rt.hdr + 20, rt.size - 1); },
		 "vdev rsc is truncated"},
		{"body cut short", [](auto &img, const Sec &rt) { set32(img, rt.hdr + 20, 20 + 4 + 23); },
		 "vdev rsc is truncated"},
		{"offset past table", [](auto &img, const Sec &rt) { set32(img, rt.offset + 16, rt.size - 3); },
		 "rsc table is truncated"},
		{"offset negative as int", [](auto &img, const Sec &rt) { set32(img, rt.offset + 16, 0xFFFFFFFCu); },
		 "rsc table is truncated"},
		{"offset 2^31", [](auto &img, const Sec &rt) { set32(img, rt.offset + 16, 0x80000000u); },
		 "rsc table is truncated"},
	};
	for (const Case &c : cases) {
		SCOPED_TRACE(c.what);
		std::vector<uint8_t> img = build();
		c.mutate(img, sec(img, ".resource_table"));
		LoadedFirmware out;
		out.hasRpmsgVdev = true;
		std::string why;
		EXPECT_EQ(load(img, &why, &out), EINVAL);
		EXPECT_NE(why.find(c.log), std::string::npos) << why;
		EXPECT_NE(why.find("Failed to process resources: -22"), std::string::npos) << why;
		EXPECT_FALSE(out.hasRpmsgVdev); // cleared on failure
		EXPECT_FALSE(out.spec);
	}
}

// 6.1 checks the vrings in the rproc-virtio device's probe, whose failure
// does not fail the boot: the core runs without the virtio device.
TEST(FirmwareImage, InvalidVringBootsWithoutVirtioDevice)
{
	for (size_t field : {4, 8}) { // align, num of vring 0
		std::vector<uint8_t> img = build();
		const Sec rt = sec(img, ".resource_table");
		set32(img, rt.offset + 24 + 24 + field, 0);
		LoadedFirmware out;
		std::string why;
		ASSERT_EQ(load(img, &why, &out), 0) << why;
		EXPECT_TRUE(out.hasResourceTable);
		EXPECT_FALSE(out.hasRpmsgVdev);
		EXPECT_TRUE(out.vrings.empty());
		EXPECT_NE(why.find("invalid qsz"), std::string::npos) << why;
		EXPECT_TRUE(out.spec);
	}
}

TEST(FirmwareImage, OtherResourceTypes)
{
	// Retype the one entry (body: 64 bytes of VDEV) and see what each
	// handler makes of it.
	auto retyped = [](uint32_t type) {
		std::vector<uint8_t> img = build();
		set32(img, sec(img, ".resource_table").offset + 20, type);
		return img;
	};
	const size_t body = sec(build(), ".resource_table").offset + 24;
	std::string why;
	LoadedFirmware out;

	// DEVMEM needs an IOMMU domain the R5 has not got; the kernel says
	// nothing but the final error.
	EXPECT_EQ(load(retyped(1), &why), EINVAL);
	EXPECT_EQ(why, "Failed to process resources: -22");

	// TRACE: reserved is the VDEV's dfeatures (1).
	EXPECT_EQ(load(retyped(2), &why), EINVAL);
	EXPECT_NE(why.find("trace rsc has non zero reserved bytes"), std::string::npos) << why;
	std::vector<uint8_t> img = retyped(2);
	set32(img, body + 8, 0);
	EXPECT_EQ(load(img, &why, &out), 0) << why;
	EXPECT_TRUE(out.hasResourceTable);
	EXPECT_FALSE(out.hasRpmsgVdev);

	// CARVEOUT: reserved is the VDEV's config_len (0).
	EXPECT_EQ(load(retyped(0), &why, &out), 0) << why;
	EXPECT_FALSE(out.hasRpmsgVdev);
	img = retyped(0);
	set32(img, body + 16, 1);
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_NE(why.find("carveout rsc has non zero reserved bytes"), std::string::npos) << why;

	EXPECT_EQ(load(withTable(table({rawEntry(0, 51)})), &why), EINVAL);
	EXPECT_NE(why.find("carveout rsc is truncated"), std::string::npos) << why;
	EXPECT_EQ(load(withTable(table({rawEntry(0, 52)})), &why), 0) << why;
	EXPECT_EQ(load(withTable(table({rawEntry(2, 43)})), &why), EINVAL);
	EXPECT_NE(why.find("trace rsc is truncated"), std::string::npos) << why;
	EXPECT_EQ(load(withTable(table({rawEntry(2, 44)})), &why), 0) << why;
	EXPECT_EQ(load(withTable(table({rawEntry(1, 0)})), &why), EINVAL);

	// Types the core does not know are skipped with a warning.
	for (uint32_t type : {4u, 5u, 127u, 513u, 0x80000000u, 0xFFFFFFFFu}) {
		SCOPED_TRACE(type);
		EXPECT_EQ(load(retyped(type), &why, &out), 0) << why;
		EXPECT_TRUE(out.hasResourceTable);
		EXPECT_FALSE(out.hasRpmsgVdev);
		EXPECT_NE(why.find("unsupported resource " + std::to_string(int32_t(type))), std::string::npos) << why;
	}
}

// An ignored vendor resource leaves RSC_IGNORED (1) in the return value of
// rproc_handle_resources() unless a later entry is handled: the boot stops
// and the `start` write returns 1.
TEST(FirmwareImage, TrailingVendorResourceMakesAShortWrite)
{
	std::string why;
	LoadedFirmware out;
	for (uint32_t type : {128u, 300u, 512u}) {
		SCOPED_TRACE(type);
		EXPECT_EQ(load(withTable(table({rawEntry(type, 0)})), &why, &out), kShortWrite);
		EXPECT_NE(why.find("unsupported vendor resource " + std::to_string(type)), std::string::npos) << why;
		EXPECT_NE(why.find("Failed to process resources: 1"), std::string::npos) << why;
		EXPECT_FALSE(out.hasResourceTable);
	}
	EXPECT_EQ(load(withTable(table({vdevEntry(7, 2), rawEntry(200, 8)})), &why), kShortWrite);
	EXPECT_EQ(load(withTable(table({rawEntry(200, 8), rawEntry(9, 0)})), &why), kShortWrite);
	ASSERT_EQ(load(withTable(table({rawEntry(200, 8), vdevEntry(7, 2)})), &why, &out), 0) << why;
	EXPECT_TRUE(out.hasRpmsgVdev);
	EXPECT_EQ(load(withTable(table({rawEntry(200, 8), rawEntry(2, 44)})), &why), 0) << why;
}

TEST(FirmwareImage, HandMadeTables)
{
	std::string why;
	LoadedFirmware out;

	ASSERT_EQ(load(withTable(table({})), &why, &out), 0) << why;
	EXPECT_TRUE(out.hasResourceTable);
	EXPECT_FALSE(out.hasRpmsgVdev);

	// Only an id-7 VDEV is rpmsg; the first one is the one recorded.
	ASSERT_EQ(load(withTable(table({vdevEntry(3, 2), vdevEntry(7, 2, 64), vdevEntry(7, 2, 128)})), &why, &out),
		  0)
		<< why;
	EXPECT_TRUE(out.hasRpmsgVdev);
	ASSERT_EQ(out.vrings.size(), 2u);
	EXPECT_EQ(out.vrings[0].num, 64u);

	ASSERT_EQ(load(withTable(table({vdevEntry(7, 2, 256, 0x1000, 12)})), &why, &out), 0) << why;
	EXPECT_TRUE(out.hasRpmsgVdev);
	ASSERT_EQ(load(withTable(table({vdevEntry(7, 0)})), &why, &out), 0) << why;
	EXPECT_TRUE(out.hasRpmsgVdev);
	EXPECT_TRUE(out.vrings.empty());

	EXPECT_EQ(load(withTable(table({vdevEntry(7, 3)})), &why), EINVAL);
	EXPECT_NE(why.find("too many vrings: 3"), std::string::npos) << why;

	// An error after a good VDEV still fails the boot.
	EXPECT_EQ(load(withTable(table({vdevEntry(7, 2), rawEntry(1, 52)})), &why, &out), EINVAL);
	EXPECT_FALSE(out.hasRpmsgVdev);

	// An entry header that ends the table leaves avail 0; one byte less and
	// the header itself does not fit.
	std::vector<uint8_t> t = table({rawEntry(9, 0)});
	EXPECT_EQ(load(withTable(t), &why), 0) << why;
	t.pop_back();
	EXPECT_EQ(load(withTable(t), &why), EINVAL);
	EXPECT_NE(why.find("rsc table is truncated"), std::string::npos) << why;
}

TEST(FirmwareImage, SegmentOutsideWindowsRefused)
{
	const std::vector<uint8_t> base = build();
	const uint32_t memsz = get32(base, kPhMemsz);
	std::string why;
	auto withPaddr = [&](uint32_t paddr) {
		std::vector<uint8_t> img = base;
		set32(img, kPhPaddr, paddr);
		return load(img, &why);
	};
	EXPECT_EQ(withPaddr(0x10000000u), EINVAL);
	EXPECT_NE(why.find("bad phdr da 0x10000000 mem 0xd4"), std::string::npos) << why;
	EXPECT_NE(why.find("Failed to load program segments: -22"), std::string::npos) << why;
	EXPECT_EQ(withPaddr(AMPSIM_DDR_BASE - 4), EINVAL);
	EXPECT_EQ(withPaddr(AMPSIM_DDR_BASE + AMPSIM_DDR_SIZE - memsz + 1), EINVAL);
	EXPECT_EQ(withPaddr(AMPSIM_DDR_BASE + AMPSIM_DDR_SIZE - memsz), 0) << why;
	EXPECT_EQ(withPaddr(AMPSIM_TCM_BASE), 0) << why;
	EXPECT_EQ(withPaddr(AMPSIM_TCM_BASE + AMPSIM_TCM_SIZE - memsz), 0) << why;
	EXPECT_EQ(withPaddr(AMPSIM_TCM_BASE + AMPSIM_TCM_SIZE - memsz + 1), EINVAL);
	EXPECT_EQ(withPaddr(0xFFFFFFFFu), EINVAL);
	EXPECT_EQ(withPaddr(0x80000000u), EINVAL);

	// The loader goes by p_paddr; p_vaddr is not looked at.
	std::vector<uint8_t> img = base;
	set32(img, kPhVaddr, 0x10000000u);
	EXPECT_EQ(load(img, &why), 0) << why;

	// bss up to the end of the window is fine, one byte more is not.
	img = base;
	set32(img, kPhMemsz, AMPSIM_DDR_SIZE);
	EXPECT_EQ(load(img, &why), 0) << why;
	set32(img, kPhMemsz, AMPSIM_DDR_SIZE + 1);
	EXPECT_EQ(load(img, &why), EINVAL);

	img = base;
	set32(img, kPhFilesz, memsz + 1);
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_NE(why.find("bad phdr filesz 0xd5 memsz 0xd4"), std::string::npos) << why;

	img = base;
	set32(img, kPhOffset, uint32_t(img.size() - 10));
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_NE(why.find("truncated fw"), std::string::npos) << why;

	// An empty segment is not skipped: its address must still translate.
	img = base;
	set32(img, kPhFilesz, 0);
	set32(img, kPhMemsz, 0);
	set32(img, kPhPaddr, 0x10000000u);
	EXPECT_EQ(load(img, &why), EINVAL);
	set32(img, kPhPaddr, AMPSIM_DDR_BASE + AMPSIM_DDR_SIZE); // the window's end
	EXPECT_EQ(load(img, &why), 0) << why;
}

TEST(FirmwareImage, ResourcesAreHandledBeforeSegmentsLoad)
{
	std::vector<uint8_t> img = build();
	const Sec rt = sec(img, ".resource_table");
	set32(img, kPhPaddr, 0x10000000u);
	img[rt.offset + 24 + 22] = 1;
	std::string why;
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_NE(why.find("vdev rsc has non zero reserved bytes"), std::string::npos) << why;

	// A bad table header is forgiven; the segment is not.
	set32(img, rt.offset, 2);
	EXPECT_EQ(load(img, &why), EINVAL);
	EXPECT_NE(why.find("bad phdr da"), std::string::npos) << why;
}

TEST(FirmwareImage, MarkerProblemsBootWithoutSpec)
{
	struct Case {
		const char *what;
		std::function<void(std::vector<uint8_t> &, const Sec &)> mutate;
	};
	const std::vector<Case> cases = {
		{"magic", [](auto &img, const Sec &m) { img[m.offset + 7] = 'X'; }},
		{"version", [](auto &img, const Sec &m) { set32(img, m.offset + 8, 2); }},
		{"short section", [](auto &img, const Sec &m) { set32(img, m.hdr + 20, 107); }},
		{"section past file", [](auto &img, const Sec &m) { set32(img, m.hdr + 16, uint32_t(img.size() - 100)); }},
		{"renamed", [](auto &img, const Sec &m) { set32(img, m.hdr, 0); }},
	};
	for (const char *app : {"echo", "norsc"}) {
		for (const Case &c : cases) {
			SCOPED_TRACE(std::string(app) + ": " + c.what);
			std::vector<uint8_t> img = build(app);
			c.mutate(img, sec(img, AMPSIM_FW_SECTION));
			LoadedFirmware out;
			std::string why;
			ASSERT_EQ(load(img, &why, &out), 0) << why;
			EXPECT_FALSE(out.spec);
			EXPECT_EQ(out.hasRpmsgVdev, std::string(app) == "echo");
		}
	}
}

TEST(FirmwareImage, RandomMutationsNeverCrash)
{
	const std::vector<std::vector<uint8_t>> bases = {build(), build("norsc"), toElf64(build()),
							 withTable(table({vdevEntry(7, 2), rawEntry(2, 44)}))};
	const uint32_t interesting[] = {0,          1,          2,          3,          4,          20,
					24,         0x40,       0x7f,       0x80,       0xff,       0x100,
					0x1000,     0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffffc, 0xffffffff,
					AMPSIM_DDR_BASE, AMPSIM_DDR_BASE + AMPSIM_DDR_SIZE};
	std::mt19937 rng(0xa3b5u);
	int accepted = 0;
	for (int iter = 0; iter < 20000; iter++) {
		std::vector<uint8_t> img = bases[rng() % bases.size()];
		// Mostly aim at the bytes the loader interprets: the ELF and
		// program headers, the segment (table, marker), the section
		// headers and string table at the end.
		auto pos = [&]() -> size_t {
			if (img.empty())
				return 0;
			switch (rng() % 4) {
			case 0:
				return rng() % std::min<size_t>(img.size(), 128);
			case 1:
				return std::min<size_t>(img.size() - 1, 0x1000 + rng() % 512);
			case 2:
				return img.size() - 1 - rng() % std::min<size_t>(img.size(), 320);
			default:
				return rng() % img.size();
			}
		};
		const int n = 1 + int(rng() % 6);
		for (int k = 0; k < n && !img.empty(); k++) {
			switch (rng() % 10) {
			case 0:
			case 1:
			case 2:
				img[pos()] = uint8_t(rng());
				break;
			case 3:
			case 4:
			case 5: {
				const size_t at = pos() & ~size_t(3);
				uint32_t v = interesting[rng() % std::size(interesting)];
				if (rng() % 4 == 0)
					v = uint32_t(img.size() - rng() % 64);
				if (at + 4 <= img.size())
					set32(img, at, v);
				break;
			}
			case 6:
				img[pos()] ^= uint8_t(1u << (rng() % 8));
				break;
			case 7:
				img.resize(rng() % (img.size() + 1));
				break;
			case 8:
				for (int j = int(rng() % 64); j > 0; j--)
					img.push_back(uint8_t(rng()));
				break;
			default: {
				const size_t at = pos() & ~size_t(1);
				if (at + 2 <= img.size())
					set16(img, at, uint16_t(interesting[rng() % std::size(interesting)]));
				break;
			}
			}
		}
		LoadedFirmware out;
		std::string why;
		const int rc = load(img, &why, &out);
		ASSERT_TRUE(acceptable(rc)) << "iteration " << iter << ": " << rc;
		if (rc) {
			ASSERT_FALSE(why.empty()) << iter;
			ASSERT_FALSE(out.hasResourceTable) << iter;
			ASSERT_FALSE(out.spec) << iter;
		} else {
			accepted++;
			if (out.spec) {
				ASSERT_LE(out.spec->app.size(), 16u);
				ASSERT_LE(out.spec->service.size(), 32u);
			}
			ASSERT_LE(out.vrings.size(), 2u);
		}
	}
	// The loop is worthless if everything is refused at the first check.
	EXPECT_GT(accepted, 1000);
}

} // namespace
} // namespace ampsim
