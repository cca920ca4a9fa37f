// SPDX-License-Identifier: MIT
// ELF and resource-table inspection: a replay of rproc_elf_sanity_check(),
// the Zynq R5 parse_fw, rproc_handle_resources() and
// rproc_elf_load_segments(), in that order, on untrusted bytes. Where the
// kernel itself would read outside the image (it trusts some counts), the
// verdict is Unsafe and we refuse before the kernel gets the chance.
#include "kernel/firmware.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>

#include "kernel/remoteproc.h"

namespace amp::kernel {

namespace {

constexpr uint32_t kPtLoad = 1;
constexpr uint64_t kElf32HeaderSize = 52;
constexpr uint64_t kElf64HeaderSize = 64;
constexpr uint64_t kRscTableHeader = 16; // ver, num, reserved[2]
constexpr uint32_t kRscCarveout = 0, kRscDevmem = 1, kRscTrace = 2, kRscVdev = 3, kRscLast = 4;
constexpr uint32_t kRscVendorStart = 128, kRscVendorEnd = 512;
constexpr int64_t kCarveoutBody = 52, kTraceBody = 44, kVdevBody = 24, kVringBody = 20;
constexpr uint32_t kVirtioIdRpmsg = 7;
constexpr uint32_t kRpmsgFeatureNs = 1u << 0;
constexpr size_t kMaxReportedSections = 4096;

std::string hex(uint64_t v)
{
	char buf[24];
	std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
	return buf;
}

// Bounds-checked reads in the file's byte order. Every offset is a u64 and
// every check is written as `n <= size - off`, which cannot overflow.
class Bytes {
public:
	Bytes(std::span<const uint8_t> d, bool le) : d_(d), le_(le) {}
	uint64_t size() const { return d_.size(); }
	bool has(uint64_t off, uint64_t n) const { return off <= d_.size() && n <= d_.size() - off; }
	std::optional<uint64_t> get(uint64_t off, unsigned n) const
	{
		if (!has(off, n))
			return std::nullopt;
		uint64_t v = 0;
		for (unsigned i = 0; i < n; ++i) {
			unsigned shift = le_ ? 8 * i : 8 * (n - 1 - i);
			v |= uint64_t(d_[off + i]) << shift;
		}
		return v;
	}
	uint8_t at(uint64_t off) const { return d_[off]; }
	Bytes sub(uint64_t off, uint64_t n) const { return Bytes(d_.subspan(off, n), le_); }
	// A NUL-terminated string of at most `max` bytes at `off`; nullopt
	// when no NUL comes before the end of the data.
	std::optional<std::string> cstr(uint64_t off, uint64_t max) const
	{
		if (off > d_.size())
			return std::nullopt;
		uint64_t limit = std::min<uint64_t>(max, d_.size() - off);
		for (uint64_t i = 0; i < limit; ++i)
			if (d_[off + i] == 0)
				return std::string(reinterpret_cast<const char *>(d_.data() + off), i);
		return std::nullopt;
	}

private:
	std::span<const uint8_t> d_;
	bool le_;
};

bool addOverflows(uint64_t a, uint64_t b)
{
	return a > std::numeric_limits<uint64_t>::max() - b;
}

struct Elf {
	int cls = 0; // 32 or 64
	uint64_t phoff = 0, shoff = 0;
	uint16_t phnum = 0, shnum = 0, shstrndx = 0;
	uint64_t phsz() const { return cls == 32 ? 32 : 56; }
	uint64_t shsz() const { return cls == 32 ? 40 : 64; }
};

struct Shdr {
	uint32_t name = 0, type = 0;
	uint64_t addr = 0, offset = 0, size = 0;
};

std::optional<Shdr> readShdr(const Bytes &b, const Elf &e, uint64_t at)
{
	if (!b.has(at, e.shsz()))
		return std::nullopt;
	Shdr s;
	s.name = static_cast<uint32_t>(*b.get(at, 4));
	s.type = static_cast<uint32_t>(*b.get(at + 4, 4));
	if (e.cls == 32) {
		s.addr = *b.get(at + 12, 4);
		s.offset = *b.get(at + 16, 4);
		s.size = *b.get(at + 20, 4);
	} else {
		s.addr = *b.get(at + 16, 8);
		s.offset = *b.get(at + 24, 8);
		s.size = *b.get(at + 32, 8);
	}
	return s;
}

std::optional<ElfSegment> readPhdr(const Bytes &b, const Elf &e, uint64_t at)
{
	if (!b.has(at, e.phsz()))
		return std::nullopt;
	ElfSegment p;
	p.type = static_cast<uint32_t>(*b.get(at, 4));
	if (e.cls == 32) {
		p.offset = *b.get(at + 4, 4);
		p.vaddr = *b.get(at + 8, 4);
		p.paddr = *b.get(at + 12, 4);
		p.filesz = *b.get(at + 16, 4);
		p.memsz = *b.get(at + 20, 4);
		p.flags = static_cast<uint32_t>(*b.get(at + 24, 4));
	} else {
		p.flags = static_cast<uint32_t>(*b.get(at + 4, 4));
		p.offset = *b.get(at + 8, 8);
		p.vaddr = *b.get(at + 16, 8);
		p.paddr = *b.get(at + 24, 8);
		p.filesz = *b.get(at + 32, 8);
		p.memsz = *b.get(at + 40, 8);
	}
	return p;
}

// The verdict under construction; the first decision wins, as the kernel
// stops at its first refusal.
struct Judge {
	FirmwareReport &r;
	bool decided = false;
	void refuse(int err, std::string why)
	{
		if (decided)
			return;
		decided = true;
		r.verdict = FirmwareVerdict::Refuse;
		r.kernelErrno = err;
		r.reason = std::move(why);
	}
	void unsafe(std::string why)
	{
		if (decided)
			return;
		decided = true;
		r.verdict = FirmwareVerdict::Unsafe;
		r.kernelErrno = 0;
		r.reason = "the kernel would read outside the image: " + why;
	}
};

// Sections for the report only (names bounded by .shstrtab's own size).
void collectSections(const Bytes &b, const Elf &e, FirmwareReport &r)
{
	if (e.shnum == 0 || addOverflows(e.shoff, uint64_t(e.shnum) * e.shsz()))
		return;
	std::optional<Shdr> strtab;
	if (e.shstrndx < e.shnum)
		strtab = readShdr(b, e, e.shoff + uint64_t(e.shstrndx) * e.shsz());
	for (uint64_t i = 0; i < e.shnum && i < kMaxReportedSections; ++i) {
		auto s = readShdr(b, e, e.shoff + i * e.shsz());
		if (!s)
			break;
		ElfSection out{"", s->type, s->addr, s->offset, s->size};
		if (strtab && s->name < strtab->size && b.has(strtab->offset, strtab->size))
			out.name = b.sub(strtab->offset, strtab->size).cstr(s->name, 256).value_or("");
		r.sections.push_back(std::move(out));
	}
}

void collectSegments(const Bytes &b, const Elf &e, FirmwareReport &r)
{
	for (uint64_t i = 0; i < e.phnum; ++i) {
		if (addOverflows(e.phoff, i * e.phsz()))
			break;
		auto p = readPhdr(b, e, e.phoff + i * e.phsz());
		if (!p)
			break;
		r.segments.push_back(*p);
	}
}

// find_table(): the first section named ".resource_table" decides. Returns
// false when the kernel would read outside the image getting there.
bool findTable(const Bytes &b, const Elf &e, Judge &j, std::optional<Shdr> &found)
{
	static const char target[] = ".resource_table"; // 16 bytes with the NUL
	// The name table's offset is read before the loop, even with no
	// sections, from a header the kernel never bounds-checks.
	uint64_t strShdr = e.shoff + uint64_t(e.shstrndx) * e.shsz();
	auto strtab = readShdr(b, e, strShdr);
	if (!strtab) {
		j.unsafe("e_shstrndx " + std::to_string(e.shstrndx) + " points past the section headers");
		return false;
	}
	for (uint64_t i = 0; i < e.shnum; ++i) {
		auto s = readShdr(b, e, e.shoff + i * e.shsz());
		if (!s) {
			j.unsafe("section header " + std::to_string(i) + " of " + std::to_string(e.shnum) +
				 " lies past the end of the file");
			return false;
		}
		// strcmp(name_table + sh_name, ".resource_table") reads until the
		// first difference or the NUL: every byte it reads must exist.
		if (addOverflows(strtab->offset, s->name)) {
			j.unsafe("section name offset overflows");
			return false;
		}
		uint64_t at = strtab->offset + s->name;
		bool match = true;
		for (uint64_t k = 0; k < sizeof target; ++k) {
			if (!b.has(at, k + 1)) {
				j.unsafe("the name of section " + std::to_string(i) + " lies past the end of the file");
				return false;
			}
			if (b.at(at + k) != static_cast<uint8_t>(target[k])) {
				match = false;
				break;
			}
		}
		if (match) {
			found = s;
			return true;
		}
	}
	return true;
}

void judgeTable(const Bytes &b, const Shdr &s, ResourceTableReport &t)
{
	t.present = true;
	t.offset = s.offset;
	t.size = s.size;
	t.addr = s.addr;
	if (addOverflows(s.offset, s.size) || s.offset + s.size > b.size()) {
		t.ignoredWhy = "resource table truncated (section runs past the end of the file)";
		return;
	}
	if (s.size < kRscTableHeader) {
		t.ignoredWhy = "header-less resource table (" + std::to_string(s.size) + " bytes)";
		return;
	}
	t.version = static_cast<uint32_t>(*b.get(s.offset, 4));
	t.num = static_cast<uint32_t>(*b.get(s.offset + 4, 4));
	if (t.version != 1) {
		t.ignoredWhy = "unsupported resource table version " + std::to_string(t.version);
		return;
	}
	if (*b.get(s.offset + 8, 4) || *b.get(s.offset + 12, 4)) {
		t.ignoredWhy = "non zero reserved bytes in the resource table header";
		return;
	}
	if (kRscTableHeader + 4 * uint64_t(t.num) > s.size) {
		t.ignoredWhy = "resource table incomplete: " + std::to_string(t.num) + " offsets do not fit in " +
			       std::to_string(s.size) + " bytes";
		return;
	}
	t.accepted = true;
}

// rproc_handle_resources() over the cached copy of the table. Returns the
// kernel's `ret`: 0, a negative errno, or 1 (RSC_IGNORED leaking out).
int handleResources(const Bytes &table, const InspectOptions &opt, FirmwareReport &r, Judge &j)
{
	auto &t = r.table;
	int ret = 0;
	const uint64_t tableSz = table.size();
	for (uint32_t i = 0; i < t.num; ++i) {
		ResourceEntryReport e;
		e.index = i;
		e.offset = static_cast<uint32_t>(*table.get(kRscTableHeader + 4 * uint64_t(i), 4));
		e.handled = true;
		// `int offset = table->offset[i]; int avail = table_sz - offset - sizeof(*hdr);`
		const int64_t off = static_cast<int32_t>(e.offset);
		const uint64_t wide = tableSz - static_cast<uint64_t>(off) - 4;
		const int32_t avail = static_cast<int32_t>(static_cast<uint32_t>(wide));
		if (avail < 0) {
			e.problem = "rsc table is truncated: entry offset " + hex(e.offset) + " is past the table (" +
				    std::to_string(tableSz) + " bytes)";
			t.entries.push_back(std::move(e));
			j.refuse(EINVAL, "resource entry " + std::to_string(i) + ": " + t.entries.back().problem);
			return -EINVAL;
		}
		if (off < 0 || !table.has(static_cast<uint64_t>(off), 4)) {
			// A "negative" offset passes the kernel's check and points before the table.
			e.problem = "entry offset " + hex(e.offset) + " points outside the table";
			t.entries.push_back(std::move(e));
			j.unsafe("resource entry " + std::to_string(i) + ": " + t.entries.back().problem);
			return -EFAULT;
		}
		const uint64_t hdr = static_cast<uint64_t>(off);
		const uint64_t body = hdr + 4;
		e.type = static_cast<uint32_t>(*table.get(hdr, 4));
		auto fail = [&](std::string why) {
			e.problem = std::move(why);
			t.entries.push_back(std::move(e));
			j.refuse(EINVAL, "resource entry " + std::to_string(i) + " (" +
						 resourceKindName(t.entries.back().kind) + "): " + t.entries.back().problem);
			return -EINVAL;
		};
		auto u32 = [&](uint64_t rel) { return static_cast<uint32_t>(table.get(body + rel, 4).value_or(0)); };

		if (e.type >= kRscVendorStart && e.type <= kRscVendorEnd) {
			// The Zynq R5 driver has no handle_rsc: RSC_IGNORED.
			e.kind = ResourceKind::Vendor;
			e.notes.push_back("vendor resource " + std::to_string(e.type) + ": the driver ignores it");
			ret = 1;
			t.entries.push_back(std::move(e));
			continue;
		}
		if (e.type >= kRscLast) {
			e.kind = ResourceKind::Unknown;
			e.notes.push_back("unsupported resource type " + std::to_string(e.type) + ": skipped");
			t.entries.push_back(std::move(e));
			continue;
		}
		switch (e.type) {
		case kRscCarveout:
		case kRscDevmem: {
			e.kind = e.type == kRscCarveout ? ResourceKind::Carveout : ResourceKind::Devmem;
			if (avail >= kCarveoutBody) {
				e.da = u32(0);
				e.pa = u32(4);
				e.len = u32(8);
				e.flags = u32(12);
				e.reserved = u32(16);
				e.name = table.cstr(body + 20, 32).value_or(std::string());
			}
			if (e.kind == ResourceKind::Devmem)
				// Checked before anything else in rproc_handle_devmem().
				return fail("DEVMEM needs an IOMMU domain and the Zynq R5 remoteproc has none");
			if (avail < kCarveoutBody)
				return fail("carveout rsc is truncated");
			if (e.reserved)
				return fail("carveout rsc has non zero reserved bytes");
			// rproc_find_carveout_by_name() passes the name to vsnprintf()
			// as the format: it must end inside the table and hold no '%'.
			auto name = table.cstr(body + 20, tableSz);
			if (!name) {
				e.problem = "carveout name has no NUL before the end of the table";
				t.entries.push_back(std::move(e));
				j.unsafe("resource entry " + std::to_string(i) + ": " + t.entries.back().problem);
				return -EFAULT;
			}
			if (name->find('%') != std::string::npos) {
				e.problem = "carveout name '" + *name + "' contains '%' (the kernel uses it as a printf format)";
				t.entries.push_back(std::move(e));
				j.unsafe("resource entry " + std::to_string(i) + ": " + t.entries.back().problem);
				return -EFAULT;
			}
			if (name->size() >= 32)
				e.notes.push_back("carveout name is not terminated within its 32 bytes");
			if (e.len == 0)
				r.warnings.push_back("carveout '" + e.name + "' has length 0; its allocation will fail");
			break;
		}
		case kRscTrace:
			e.kind = ResourceKind::Trace;
			if (avail < kTraceBody)
				return fail("trace rsc is truncated");
			e.da = u32(0);
			e.len = u32(4);
			e.reserved = u32(8);
			e.name = table.cstr(body + 12, 32).value_or(std::string());
			if (e.reserved)
				return fail("trace rsc has non zero reserved bytes");
			break;
		case kRscVdev: {
			e.kind = ResourceKind::Vdev;
			// With fewer than 24 bytes the kernel's size test fails
			// whatever it read past the end.
			if (avail < kVdevBody)
				return fail("vdev rsc is truncated");
			e.vdevId = u32(0);
			e.dfeatures = u32(8);
			e.gfeatures = u32(12);
			e.configLen = u32(16);
			e.status = static_cast<uint8_t>(*table.get(body + 20, 1));
			e.numVrings = static_cast<uint8_t>(*table.get(body + 21, 1));
			const uint64_t need = kVdevBody + kVringBody * uint64_t(e.numVrings) + e.configLen;
			if (need > static_cast<uint64_t>(avail))
				return fail("vdev rsc is truncated: needs " + std::to_string(need) + " bytes, " +
					    std::to_string(avail) + " left");
			if (*table.get(body + 22, 1) || *table.get(body + 23, 1))
				return fail("vdev rsc has non zero reserved bytes");
			if (e.numVrings > 2)
				return fail("too many vrings: " + std::to_string(e.numVrings) + " (at most 2)");
			bool probeOk = true;
			for (unsigned v = 0; v < e.numVrings; ++v) {
				const uint64_t at = kVdevBody + kVringBody * v;
				VringReport vr{u32(at), u32(at + 4), u32(at + 8), u32(at + 12), u32(at + 16)};
				e.vrings.push_back(vr);
				if (probeOk && (!vr.num || !vr.align)) {
					std::string why = "vring " + std::to_string(v) + ": invalid qsz (" +
							  std::to_string(vr.num) + ") or alignment (" +
							  std::to_string(vr.align) + ")";
					if (!opt.vdevProbedSeparately)
						return fail(why);
					e.notes.push_back(why + ": the rproc-virtio probe fails, this VDEV gets no "
								"virtio device (5.10-6.0 refuse the start with EINVAL)");
					probeOk = false;
				} else if (vr.num & (vr.num - 1)) {
					e.notes.push_back("vring " + std::to_string(v) + ": " + std::to_string(vr.num) +
							  " descriptors is not a power of two");
				}
			}
			e.nameService = (e.dfeatures & kRpmsgFeatureNs) != 0;
			if (e.vdevId == kVirtioIdRpmsg && probeOk) {
				if (e.numVrings == 2)
					e.rpmsg = true;
				else
					e.notes.push_back("an rpmsg VDEV needs 2 vrings (rx and tx); virtio_rpmsg_bus "
							  "cannot probe with " + std::to_string(e.numVrings));
			} else if (e.vdevId != kVirtioIdRpmsg) {
				e.notes.push_back("virtio id " + std::to_string(e.vdevId) + " is not rpmsg (7)");
			}
			break;
		}
		}
		ret = 0;
		t.entries.push_back(std::move(e));
	}
	return ret;
}

bool insideWindows(const InspectOptions &opt, uint64_t da, uint64_t len)
{
	if (addOverflows(da, len))
		return false;
	for (const auto &w : opt.windows)
		if (da >= w.da && !addOverflows(w.da, w.size) && da + len <= w.da + w.size)
			return true;
	return false;
}

} // namespace

const char *verdictName(FirmwareVerdict v)
{
	switch (v) {
	case FirmwareVerdict::Refuse:
		return "refuse";
	case FirmwareVerdict::Unsafe:
		return "unsafe";
	case FirmwareVerdict::BootWithoutRpmsg:
		return "boot-without-rpmsg";
	case FirmwareVerdict::BootWithRpmsg:
		return "boot-with-rpmsg";
	}
	return "?";
}

const char *resourceKindName(ResourceKind k)
{
	switch (k) {
	case ResourceKind::Carveout:
		return "CARVEOUT";
	case ResourceKind::Devmem:
		return "DEVMEM";
	case ResourceKind::Trace:
		return "TRACE";
	case ResourceKind::Vdev:
		return "VDEV";
	case ResourceKind::Vendor:
		return "VENDOR";
	case ResourceKind::Unknown:
		return "UNKNOWN";
	}
	return "?";
}

std::string ResourceEntryReport::summary() const
{
	std::string s = "[" + std::to_string(index) + "] @" + hex(offset) + " " + resourceKindName(kind);
	switch (kind) {
	case ResourceKind::Carveout:
	case ResourceKind::Devmem:
		s += " '" + name + "' da " + hex(da) + " pa " + hex(pa) + " len " + hex(len) + " flags " + hex(flags);
		break;
	case ResourceKind::Trace:
		s += " '" + name + "' da " + hex(da) + " len " + hex(len);
		break;
	case ResourceKind::Vdev:
		s += " id " + std::to_string(vdevId) + (rpmsg ? " (rpmsg" + std::string(nameService ? ", name service)" : ")") : "") +
		     " dfeatures " + hex(dfeatures) + " config " + std::to_string(configLen) + " bytes, " +
		     std::to_string(numVrings) + " vrings";
		for (const auto &v : vrings)
			s += " {da " + hex(v.da) + " align " + hex(v.align) + " num " + std::to_string(v.num) + "}";
		break;
	case ResourceKind::Vendor:
	case ResourceKind::Unknown:
		s += " type " + std::to_string(type);
		break;
	}
	if (!problem.empty())
		s += ": " + problem;
	for (const auto &n : notes)
		s += "; " + n;
	return s;
}

std::string FirmwareReport::summary() const
{
	std::string s = std::string(verdictName(verdict));
	if (verdict == FirmwareVerdict::Refuse && kernelErrno)
		s += " (" + errnoName(kernelErrno) + ")";
	s += ": " + reason + "\n";
	if (elfClass)
		s += "ELF" + std::to_string(elfClass) + (littleEndian ? " little" : " big") + "-endian, machine " +
		     std::to_string(machine) + ", entry " + hex(entry) + ", " + std::to_string(segments.size()) +
		     " program headers, " + std::to_string(sections.size()) + " sections\n";
	for (const auto &p : segments)
		if (p.type == kPtLoad)
			s += "  LOAD offset " + hex(p.offset) + " paddr " + hex(p.paddr) + " filesz " + hex(p.filesz) +
			     " memsz " + hex(p.memsz) + "\n";
	if (table.present) {
		s += "resource table at " + hex(table.offset) + ", " + std::to_string(table.size) + " bytes";
		if (table.accepted)
			s += ", " + std::to_string(table.num) + " entries\n";
		else
			s += ": ignored (" + table.ignoredWhy + ")\n";
		for (const auto &e : table.entries)
			s += "  " + e.summary() + "\n";
	}
	for (const auto &w : warnings)
		s += "warning: " + w + "\n";
	return s;
}

FirmwareReport inspectFirmware(std::span<const uint8_t> image, const InspectOptions &opt)
{
	FirmwareReport r;
	Judge j{r};
	r.fileSize = image.size();

	// ---- rproc_elf_sanity_check() ----
	if (image.size() < kElf32HeaderSize) {
		j.refuse(EINVAL, "image is too small for an ELF header (" + std::to_string(image.size()) + " bytes)");
		return r;
	}
	if (std::memcmp(image.data(), "\x7f" "ELF", 4) != 0) {
		j.refuse(EINVAL, "not an ELF file (bad magic)");
		return r;
	}
	const uint8_t cls = image[4], data = image[5];
	if (cls != 1 && cls != 2) {
		j.refuse(EINVAL, "unsupported ELF class " + std::to_string(cls));
		return r;
	}
	Elf e;
	e.cls = cls == 1 ? 32 : 64;
	r.elfClass = e.cls;
	if (e.cls == 64 && image.size() < kElf64HeaderSize) {
		j.refuse(EINVAL, "ELF64 header is too small");
		return r;
	}
	r.littleEndian = data != 2;
	const Bytes b(image, r.littleEndian);
	r.type = static_cast<uint16_t>(*b.get(16, 2));
	r.machine = static_cast<uint16_t>(*b.get(18, 2));
	if (e.cls == 32) {
		r.entry = *b.get(24, 4);
		e.phoff = *b.get(28, 4);
		e.shoff = *b.get(32, 4);
		e.phnum = static_cast<uint16_t>(*b.get(44, 2));
		e.shnum = static_cast<uint16_t>(*b.get(48, 2));
		e.shstrndx = static_cast<uint16_t>(*b.get(50, 2));
	} else {
		r.entry = *b.get(24, 8);
		e.phoff = *b.get(32, 8);
		e.shoff = *b.get(40, 8);
		e.phnum = static_cast<uint16_t>(*b.get(56, 2));
		e.shnum = static_cast<uint16_t>(*b.get(60, 2));
		e.shstrndx = static_cast<uint16_t>(*b.get(62, 2));
	}
	collectSegments(b, e, r);
	collectSections(b, e, r);

	const uint8_t hostData = opt.hostLittleEndian ? 1 : 2;
	if (data != hostData) {
		j.refuse(EINVAL, std::string("unsupported firmware endianness (the host is ") +
					 (opt.hostLittleEndian ? "little" : "big") + "-endian)");
		return r;
	}
	if (addOverflows(e.shoff, e.shsz())) {
		j.unsafe("e_shoff " + hex(e.shoff) + " makes the kernel's size check wrap");
		return r;
	}
	if (image.size() < e.shoff + e.shsz()) {
		j.refuse(EINVAL, "section header table outside the file (e_shoff " + hex(e.shoff) + ")");
		return r;
	}
	if (e.phnum == 0) {
		j.refuse(EINVAL, "no program headers (no loadable segments)");
		return r;
	}
	if (e.phoff > image.size()) {
		j.refuse(EINVAL, "program headers outside the file (e_phoff " + hex(e.phoff) + ")");
		return r;
	}

	// ---- parse_fw: find_table(); the Zynq R5 driver boots without one ----
	std::optional<Shdr> tableShdr;
	if (!findTable(b, e, j, tableShdr))
		return r;
	if (tableShdr)
		judgeTable(b, *tableShdr, r.table);
	if (r.table.accepted) {
		// ---- rproc_handle_resources() ----
		Bytes table = b.sub(tableShdr->offset, tableShdr->size);
		int ret = handleResources(table, opt, r, j);
		if (j.decided)
			return r;
		if (ret == 1) {
			j.refuse(kStartShortWrite, "the last resource entry is a vendor resource the driver ignores; "
						   "the kernel fails the start with RSC_IGNORED (a 1-byte write count)");
			return r;
		}
	}

	// ---- rproc_elf_load_segments() ----
	bool anyLoad = false;
	for (uint64_t i = 0; i < e.phnum; ++i) {
		if (addOverflows(e.phoff, i * e.phsz())) {
			j.unsafe("program header " + std::to_string(i) + " offset overflows");
			return r;
		}
		auto p = readPhdr(b, e, e.phoff + i * e.phsz());
		if (!p) {
			j.unsafe("program header " + std::to_string(i) + " of " + std::to_string(e.phnum) +
				 " lies past the end of the file");
			return r;
		}
		if (p->type != kPtLoad || p->memsz == 0)
			continue;
		anyLoad = true;
		std::string which = "segment " + std::to_string(i) + " at " + hex(p->paddr);
		if (p->filesz > p->memsz) {
			j.refuse(EINVAL, which + ": filesz " + hex(p->filesz) + " exceeds memsz " + hex(p->memsz));
			return r;
		}
		if (addOverflows(p->offset, p->filesz)) {
			j.unsafe(which + ": offset + filesz overflows");
			return r;
		}
		if (p->offset + p->filesz > image.size()) {
			j.refuse(EINVAL, which + ": truncated (needs " + hex(p->offset + p->filesz) + " bytes, file has " +
						 hex(image.size()) + ")");
			return r;
		}
		if (!opt.windows.empty() && !insideWindows(opt, p->paddr, p->memsz)) {
			j.refuse(EINVAL, which + " (" + hex(p->memsz) + " bytes) is outside the memory the core can map");
			return r;
		}
	}
	if (!anyLoad)
		r.warnings.push_back("no loadable segment: the core starts with nothing loaded");
	if (opt.windows.empty())
		r.warnings.push_back("segment addresses not checked against the core's memory map");

	// ---- the outcome ----
	const ResourceEntryReport *rpmsgVdev = nullptr;
	for (const auto &entry : r.table.entries)
		if (entry.rpmsg) {
			rpmsgVdev = &entry;
			break;
		}
	j.decided = true;
	if (rpmsgVdev) {
		r.verdict = FirmwareVerdict::BootWithRpmsg;
		r.nameService = rpmsgVdev->nameService;
		r.reason = std::string("boots with an rpmsg VDEV") +
			   (r.nameService ? " that announces its channels" : " without name service");
		if (!r.nameService)
			r.warnings.push_back("the rpmsg VDEV has no name-service feature: the remote cannot announce "
					     "channels, so none will appear");
		bool tableLoaded = false;
		for (const auto &p : r.segments)
			if (p.type == kPtLoad && r.table.addr >= p.paddr && !addOverflows(r.table.addr, r.table.size) &&
			    !addOverflows(p.paddr, p.filesz) && r.table.addr + r.table.size <= p.paddr + p.filesz)
				tableLoaded = true;
		if (!tableLoaded)
			r.warnings.push_back("the resource table is not inside a loaded segment: the remote will not "
					     "see the vring addresses the kernel assigns");
	} else {
		r.verdict = FirmwareVerdict::BootWithoutRpmsg;
		if (!r.table.present)
			r.reason = "no resource table: the core boots, no rpmsg channel will appear";
		else if (!r.table.accepted)
			r.reason = "the driver ignores the resource table (" + r.table.ignoredWhy +
				   "): the core boots, no rpmsg channel will appear";
		else
			r.reason = "the resource table has no usable rpmsg VDEV: the core boots, no rpmsg channel will appear";
	}
	return r;
}

Result<FirmwareReport> inspectFirmwareFile(const SysfsRoot &root, std::string_view rel, const InspectOptions &options)
{
	// As the kernel's loader takes them: regular files only
	// (kernel_read_file(): EINVAL).
	auto bytes = root.readRegularFile(rel, 256u << 20);
	if (!bytes)
		return unexpected(std::move(bytes).error());
	std::span<const uint8_t> image(reinterpret_cast<const uint8_t *>(bytes->data()), bytes->size());
	return inspectFirmware(image, options);
}

} // namespace amp::kernel
