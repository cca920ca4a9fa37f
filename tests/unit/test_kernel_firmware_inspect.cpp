// SPDX-License-Identifier: MIT
// The ELF/resource-table inspector: verdicts for good, broken and hostile
// images, truncation at every length and a fixed-seed mutation loop (run
// under ASan/UBSan: nothing may read out of bounds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "kernel/firmware.h"
#include "kernel/remoteproc.h"
#include "support/simulator.h"

namespace amp::kernel {
namespace {

using Bytes = std::vector<uint8_t>;

void put32(Bytes &b, size_t at, uint32_t v)
{
	if (b.size() < at + 4)
		b.resize(at + 4);
	for (int i = 0; i < 4; ++i)
		b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void put16(Bytes &b, size_t at, uint16_t v)
{
	if (b.size() < at + 2)
		b.resize(at + 2);
	b[at] = static_cast<uint8_t>(v);
	b[at + 1] = static_cast<uint8_t>(v >> 8);
}
void append32(Bytes &b, uint32_t v)
{
	put32(b, b.size(), v);
}

// Resource table builder: entries are raw bytes after the header.
struct Table {
	std::vector<Bytes> entries;
	uint32_t version = 1;
	Bytes build() const
	{
		Bytes t;
		append32(t, version);
		append32(t, static_cast<uint32_t>(entries.size()));
		append32(t, 0);
		append32(t, 0);
		size_t off = 16 + 4 * entries.size();
		for (const auto &e : entries) {
			append32(t, static_cast<uint32_t>(off));
			off += e.size();
		}
		for (const auto &e : entries)
			t.insert(t.end(), e.begin(), e.end());
		return t;
	}
};

Bytes vdev(uint32_t id = 7, uint32_t features = 1, uint8_t nVrings = 2, uint32_t num = 256, uint32_t align = 0x1000)
{
	Bytes e;
	append32(e, 3);
	append32(e, id);
	append32(e, 0); // notifyid
	append32(e, features);
	append32(e, 0); // gfeatures
	append32(e, 0); // config_len
	append32(e, uint32_t(nVrings) << 8);
	for (unsigned i = 0; i < nVrings; ++i) {
		append32(e, 0xffffffff);
		append32(e, align);
		append32(e, num);
		append32(e, i);
		append32(e, 0);
	}
	return e;
}

Bytes carveout(const char *name, uint32_t type = 0, uint32_t reserved = 0)
{
	Bytes e;
	append32(e, type);
	for (uint32_t v : {0x3ed40000u, 0x3ed40000u, 0x1000u, 0u, reserved})
		append32(e, v);
	// A fixed 32-byte field, not a C string: a 32-byte name has no NUL.
	char n[32] = {};
	std::memcpy(n, name, std::min(std::strlen(name), sizeof n));
	e.insert(e.end(), n, n + 32);
	return e;
}

Bytes trace(uint32_t reserved = 0)
{
	Bytes e;
	append32(e, 2);
	for (uint32_t v : {0x3ed50000u, 0x1000u, reserved})
		append32(e, v);
	char n[32] = "trace";
	e.insert(e.end(), n, n + 32);
	return e;
}

Bytes entryOfType(uint32_t type)
{
	Bytes e;
	append32(e, type);
	append32(e, 0);
	return e;
}

constexpr uint32_t kLoad = 0x3ED00000;

// An ELF32 LE image: one PT_LOAD holding .text and the table, then
// .shstrtab and the section headers. `table` empty: no .resource_table.
Bytes elf(const Bytes &table, bool withTable = true)
{
	Bytes f(0x1000, 0);
	std::memcpy(f.data(), "\x7f" "ELF\x01\x01\x01", 7);
	put16(f, 16, 2);   // ET_EXEC
	put16(f, 18, 40);  // EM_ARM
	put32(f, 20, 1);
	put32(f, 24, kLoad);
	put32(f, 28, 52);  // phoff
	put16(f, 40, 52);
	put16(f, 42, 32);
	put16(f, 44, 1);
	put16(f, 46, 40);
	// segment content at 0x1000: 16 bytes of text, then the table
	Bytes seg(16, 0);
	size_t tableOff = 0x1000 + seg.size();
	seg.insert(seg.end(), table.begin(), table.end());
	f.insert(f.end(), seg.begin(), seg.end());
	// phdr
	put32(f, 52, 1);
	put32(f, 56, 0x1000);
	put32(f, 60, kLoad);
	put32(f, 64, kLoad);
	put32(f, 68, static_cast<uint32_t>(seg.size()));
	put32(f, 72, static_cast<uint32_t>(seg.size()) + 0x100);
	put32(f, 76, 7);
	put32(f, 80, 0x1000);
	// shstrtab
	const char names[] = "\0.text\0.resource_table\0.shstrtab\0";
	size_t strOff = f.size();
	f.insert(f.end(), names, names + sizeof names);
	while (f.size() % 4)
		f.push_back(0);
	size_t shoff = f.size();
	auto shdr = [&](uint32_t name, uint32_t type, uint32_t addr, uint32_t off, uint32_t size) {
		size_t at = f.size();
		f.resize(at + 40, 0);
		put32(f, at, name);
		put32(f, at + 4, type);
		put32(f, at + 12, addr);
		put32(f, at + 16, off);
		put32(f, at + 20, size);
	};
	shdr(0, 0, 0, 0, 0);
	shdr(1, 1, kLoad, 0x1000, 16);
	int n = 3;
	if (withTable) {
		shdr(7, 1, kLoad + 16, static_cast<uint32_t>(tableOff), static_cast<uint32_t>(table.size()));
		++n;
	}
	shdr(23, 3, 0, static_cast<uint32_t>(strOff), sizeof names);
	put32(f, 32, static_cast<uint32_t>(shoff));
	put16(f, 48, static_cast<uint16_t>(n));
	put16(f, 50, static_cast<uint16_t>(n - 1));
	return f;
}

Bytes demo()
{
	return elf(Table{{vdev()}}.build());
}

FirmwareReport inspect(const Bytes &b, const InspectOptions &o = {})
{
	return inspectFirmware(std::span<const uint8_t>(b.data(), b.size()), o);
}

TEST(KernelFirmwareInspect, DemoBootsWithRpmsg)
{
	auto r = inspect(demo());
	EXPECT_EQ(r.verdict, FirmwareVerdict::BootWithRpmsg) << r.summary();
	EXPECT_TRUE(r.rpmsg());
	EXPECT_TRUE(r.nameService);
	EXPECT_EQ(r.elfClass, 32);
	EXPECT_EQ(r.machine, 40);
	ASSERT_EQ(r.table.entries.size(), 1u);
	const auto &v = r.table.entries[0];
	EXPECT_EQ(v.kind, ResourceKind::Vdev);
	EXPECT_EQ(v.vdevId, 7u);
	ASSERT_EQ(v.vrings.size(), 2u);
	EXPECT_EQ(v.vrings[1].num, 256u);
	EXPECT_NE(r.summary().find("VDEV id 7 (rpmsg, name service)"), std::string::npos) << r.summary();
	EXPECT_EQ(r.sections.size(), 4u);
	EXPECT_EQ(r.sections[2].name, ".resource_table");
}

TEST(KernelFirmwareInspect, AmpsimImages)
{
	auto echo = test::makeFirmware("echo");
	ASSERT_FALSE(echo.empty());
	InspectOptions o;
	o.windows = {{0x3ED00000, 0x100000}, {0, 0x40000}};
	auto r = inspectFirmware(echo, o);
	EXPECT_EQ(r.verdict, FirmwareVerdict::BootWithRpmsg) << r.summary();
	EXPECT_TRUE(r.warnings.empty()) << r.summary();
	auto norsc = inspectFirmware(test::makeFirmware("norsc"), o);
	EXPECT_EQ(norsc.verdict, FirmwareVerdict::BootWithoutRpmsg) << norsc.summary();
	EXPECT_FALSE(norsc.table.present);
	// Outside the windows: the driver's da_to_va() fails, EINVAL.
	o.windows = {{0, 0x40000}};
	auto out = inspectFirmware(echo, o);
	EXPECT_EQ(out.verdict, FirmwareVerdict::Refuse);
	EXPECT_EQ(out.kernelErrno, EINVAL);
}

TEST(KernelFirmwareInspect, NotAnElf)
{
	Bytes text(100, 'x');
	auto r = inspect(text);
	EXPECT_EQ(r.verdict, FirmwareVerdict::Refuse);
	EXPECT_EQ(r.kernelErrno, EINVAL);
	EXPECT_NE(r.reason.find("bad magic"), std::string::npos);
	EXPECT_EQ(inspect(Bytes(10, 0)).reason.find("too small") != std::string::npos, true);
}

TEST(KernelFirmwareInspect, HeaderRefusals)
{
	auto b = demo();
	b[4] = 3;
	EXPECT_NE(inspect(b).reason.find("class"), std::string::npos);
	b = demo();
	b[5] = 2;
	auto be = inspect(b);
	EXPECT_EQ(be.verdict, FirmwareVerdict::Refuse);
	EXPECT_NE(be.reason.find("endianness"), std::string::npos);
	b = demo();
	put16(b, 44, 0);
	EXPECT_NE(inspect(b).reason.find("no program headers"), std::string::npos);
	b = demo();
	put32(b, 28, 0x7fffffff);
	EXPECT_NE(inspect(b).reason.find("program headers outside"), std::string::npos);
	b = demo();
	put32(b, 32, static_cast<uint32_t>(b.size()) - 39);
	EXPECT_NE(inspect(b).reason.find("section header table outside"), std::string::npos);
}

TEST(KernelFirmwareInspect, TableIgnoredBootsWithoutRpmsg)
{
	Table t{{vdev()}};
	t.version = 2;
	auto r = inspect(elf(t.build()));
	EXPECT_EQ(r.verdict, FirmwareVerdict::BootWithoutRpmsg);
	EXPECT_TRUE(r.table.present);
	EXPECT_FALSE(r.table.accepted);
	EXPECT_NE(r.table.ignoredWhy.find("version"), std::string::npos);

	auto noTable = inspect(elf({}, false));
	EXPECT_EQ(noTable.verdict, FirmwareVerdict::BootWithoutRpmsg);
	EXPECT_FALSE(noTable.table.present);

	auto headerless = inspect(elf(Bytes(8, 0)));
	EXPECT_EQ(headerless.verdict, FirmwareVerdict::BootWithoutRpmsg);
	EXPECT_NE(headerless.table.ignoredWhy.find("header-less"), std::string::npos);

	Bytes incomplete = Table{{vdev()}}.build();
	put32(incomplete, 4, 1000);
	EXPECT_NE(inspect(elf(incomplete)).table.ignoredWhy.find("incomplete"), std::string::npos);
}

TEST(KernelFirmwareInspect, EntryRefusals)
{
	auto check = [](const Table &t, const char *what) {
		auto r = inspect(elf(t.build()));
		EXPECT_EQ(r.verdict, FirmwareVerdict::Refuse) << what << ": " << r.summary();
		EXPECT_EQ(r.kernelErrno, EINVAL) << what;
		EXPECT_NE(r.reason.find(what), std::string::npos) << r.reason;
	};
	check(Table{{carveout("c", 0, 1)}}, "carveout rsc has non zero reserved bytes");
	check(Table{{carveout("dev", 1)}}, "IOMMU");
	check(Table{{trace(5)}}, "trace rsc has non zero reserved bytes");
	check(Table{{vdev(7, 1, 3)}}, "too many vrings");
	Bytes shortVdev = vdev();
	shortVdev.resize(30);
	check(Table{{shortVdev}}, "vdev rsc is truncated");
	Bytes reserved = vdev();
	reserved[4 + 22] = 1;
	check(Table{{reserved}}, "non zero reserved");
	Bytes shortCarveout = carveout("c");
	shortCarveout.resize(40);
	check(Table{{shortCarveout}}, "carveout rsc is truncated");
	// An offset past the table.
	Bytes t = Table{{vdev()}}.build();
	put32(t, 16, 0x10000);
	auto r = inspect(elf(t));
	EXPECT_EQ(r.kernelErrno, EINVAL);
	EXPECT_NE(r.reason.find("truncated"), std::string::npos);
}

TEST(KernelFirmwareInspect, VringProbeDependsOnKernel)
{
	Table t{{vdev(7, 1, 2, 0)}};
	auto r61 = inspect(elf(t.build()));
	EXPECT_EQ(r61.verdict, FirmwareVerdict::BootWithoutRpmsg) << r61.summary();
	InspectOptions old;
	old.vdevProbedSeparately = false;
	auto r510 = inspect(elf(t.build()), old);
	EXPECT_EQ(r510.verdict, FirmwareVerdict::Refuse);
	EXPECT_NE(r510.reason.find("invalid qsz"), std::string::npos);
}

TEST(KernelFirmwareInspect, VdevVariants)
{
	auto noNs = inspect(elf(Table{{vdev(7, 0)}}.build()));
	EXPECT_EQ(noNs.verdict, FirmwareVerdict::BootWithRpmsg);
	EXPECT_FALSE(noNs.nameService);
	EXPECT_FALSE(noNs.warnings.empty());
	EXPECT_EQ(inspect(elf(Table{{vdev(5)}}.build())).verdict, FirmwareVerdict::BootWithoutRpmsg);
	EXPECT_EQ(inspect(elf(Table{{vdev(7, 1, 1)}}.build())).verdict, FirmwareVerdict::BootWithoutRpmsg);
	auto all = inspect(elf(Table{{carveout("vdev0buffer"), trace(), vdev(), entryOfType(77)}}.build()));
	EXPECT_EQ(all.verdict, FirmwareVerdict::BootWithRpmsg) << all.summary();
	ASSERT_EQ(all.table.entries.size(), 4u);
	EXPECT_EQ(all.table.entries[0].name, "vdev0buffer");
	EXPECT_EQ(all.table.entries[1].kind, ResourceKind::Trace);
	EXPECT_EQ(all.table.entries[3].kind, ResourceKind::Unknown);
}

TEST(KernelFirmwareInspect, VendorEntryLastIsAShortWrite)
{
	auto last = inspect(elf(Table{{vdev(), entryOfType(200)}}.build()));
	EXPECT_EQ(last.verdict, FirmwareVerdict::Refuse);
	EXPECT_EQ(last.kernelErrno, kStartShortWrite);
	// Followed by a handled entry, the leak is reset.
	auto mid = inspect(elf(Table{{entryOfType(200), vdev()}}.build()));
	EXPECT_EQ(mid.verdict, FirmwareVerdict::BootWithRpmsg);
}

TEST(KernelFirmwareInspect, HostileIsUnsafe)
{
	// Carveout name used as a printf format.
	auto fmt = inspect(elf(Table{{carveout("%s%s%n")}}.build()));
	EXPECT_EQ(fmt.verdict, FirmwareVerdict::Unsafe) << fmt.summary();
	// A "negative" entry offset passes the kernel's check.
	Bytes t = Table{{vdev()}}.build();
	put32(t, 16, 0xfffffff0);
	EXPECT_EQ(inspect(elf(t)).verdict, FirmwareVerdict::Unsafe);
	// Section count past the file: without a match the kernel walks off
	// the end; with one it stops there and never reads further.
	auto b = elf({}, false);
	put16(b, 48, 60000);
	EXPECT_EQ(inspect(b).verdict, FirmwareVerdict::Unsafe);
	b = demo();
	put16(b, 48, 60000);
	EXPECT_EQ(inspect(b).verdict, FirmwareVerdict::BootWithRpmsg);
	// Name-table index past the headers.
	b = demo();
	put16(b, 50, 5000);
	EXPECT_EQ(inspect(b).verdict, FirmwareVerdict::Unsafe);
	// Program headers that start inside the file and end past it (the
	// kernel only checks e_phoff <= size).
	b = demo();
	put32(b, 28, static_cast<uint32_t>(b.size()) - 16);
	EXPECT_EQ(inspect(b).verdict, FirmwareVerdict::Unsafe);
}

TEST(KernelFirmwareInspect, SegmentRefusals)
{
	auto b = demo();
	put32(b, 68, 0x10000000); // filesz > memsz
	EXPECT_NE(inspect(b).reason.find("exceeds memsz"), std::string::npos);
	b = demo();
	put32(b, 72, 0x20000000);
	put32(b, 68, 0x10000000); // filesz past the end of the file
	EXPECT_NE(inspect(b).reason.find("truncated"), std::string::npos);
}

TEST(KernelFirmwareInspect, Elf64Parses)
{
	// A minimal ELF64: header, one PT_LOAD, one null section header.
	Bytes f(64 + 56 + 64, 0);
	std::memcpy(f.data(), "\x7f" "ELF\x02\x01\x01", 7);
	put16(f, 16, 2);
	put16(f, 18, 183);
	put32(f, 32, 64);  // phoff
	put32(f, 40, 120); // shoff
	put16(f, 56, 1);
	put16(f, 60, 1);
	put32(f, 64, 1);   // PT_LOAD
	put32(f, 64 + 40, 16); // memsz
	auto r = inspect(f);
	EXPECT_EQ(r.elfClass, 64);
	EXPECT_EQ(r.verdict, FirmwareVerdict::BootWithoutRpmsg) << r.summary();
	// A section-header offset that makes the kernel's check wrap.
	put32(f, 40, 0xffffffff);
	put32(f, 44, 0xffffffff);
	EXPECT_EQ(inspect(f).verdict, FirmwareVerdict::Unsafe);
}

TEST(KernelFirmwareInspect, TruncatedAtEveryLength)
{
	for (const Bytes &full : {demo(), elf(Table{{carveout("c"), trace(), vdev(), entryOfType(300)}}.build())}) {
		for (size_t n = 0; n <= full.size(); ++n) {
			Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
			auto r = inspect(cut);
			if (n < full.size()) {
				EXPECT_NE(r.verdict, FirmwareVerdict::BootWithRpmsg) << n;
			}
		}
	}
}

TEST(KernelFirmwareInspect, RandomMutationsNeverCrash)
{
	std::mt19937 rng(20240611);
	std::vector<Bytes> seeds = {demo(), elf(Table{{carveout("c"), trace(), vdev(), entryOfType(130)}}.build()),
				    test::makeFirmware("echo")};
	size_t verdicts[4] = {};
	for (int iter = 0; iter < 20000; ++iter) {
		Bytes b = seeds[iter % seeds.size()];
		int flips = 1 + static_cast<int>(rng() % 8);
		for (int k = 0; k < flips && !b.empty(); ++k) {
			size_t at = rng() % b.size();
			switch (rng() % 4) {
			case 0:
				b[at] = static_cast<uint8_t>(rng());
				break;
			case 1:
				b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
				break;
			case 2: // an interesting 32-bit value
				for (uint32_t v : {0u, 1u, 0xffffffffu, 0x7fffffffu, 0x80000000u, 0xfffffff0u})
					if (rng() % 6 == 0 && at + 4 <= b.size())
						std::memcpy(&b[at], &v, 4);
				break;
			case 3:
				b.resize(at);
				break;
			}
		}
		auto r = inspect(b);
		++verdicts[static_cast<int>(r.verdict)];
		(void)r.summary();
	}
	// The loop must reach every outcome, or it is not testing much.
	for (size_t v : verdicts)
		EXPECT_GT(v, 0u);
}

} // namespace
} // namespace amp::kernel
