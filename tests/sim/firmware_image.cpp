// SPDX-License-Identifier: MIT
// Writes ampsim firmware ELFs, and replays the checks Linux 6.1 remoteproc and
// the Zynq R5 driver make on a firmware when `start` is written.
#include "firmware_image.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <string_view>

namespace ampsim {
namespace {

// The marker is serialised field by field (little-endian whatever the host);
// these pin the offsets the QEMU driver reads with the same header.
static_assert(sizeof(ampsim_fw_marker) == 108);
static_assert(offsetof(ampsim_fw_marker, version) == 8);
static_assert(offsetof(ampsim_fw_marker, app) == 12);
static_assert(offsetof(ampsim_fw_marker, service) == 28);
static_assert(offsetof(ampsim_fw_marker, announce_addr) == 60);
static_assert(offsetof(ampsim_fw_marker, crash_after_msgs) == 64);
static_assert(offsetof(ampsim_fw_marker, crash_after_ms) == 68);
static_assert(offsetof(ampsim_fw_marker, reply_delay_ms) == 72);
static_assert(offsetof(ampsim_fw_marker, flags) == 76);
static_assert(offsetof(ampsim_fw_marker, reserved) == 80);

// include/uapi/linux/elf.h
constexpr uint8_t kElfClass32 = 1;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfDataLsb = 1;
constexpr uint16_t kEtExec = 2;
constexpr uint16_t kEmArm = 40;
constexpr uint32_t kEfArmEabiVer5 = 0x05000000u;
constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPfX = 1;
constexpr uint32_t kPfR = 4;
constexpr uint32_t kShtProgbits = 1;
constexpr uint32_t kShtStrtab = 3;
constexpr uint32_t kShfAlloc = 2;
constexpr uint32_t kShfExecinstr = 4;

// include/linux/remoteproc.h (6.1): enum fw_resource_type and struct sizes.
constexpr uint32_t kRscCarveout = 0;
constexpr uint32_t kRscDevmem = 1;
constexpr uint32_t kRscTrace = 2;
constexpr uint32_t kRscVdev = 3;
constexpr uint32_t kRscLast = 4;
constexpr uint32_t kRscVendorStart = 128;
constexpr uint32_t kRscVendorEnd = 512;
constexpr uint32_t kFwRscAddrAny = 0xFFFFFFFFu;
constexpr uint64_t kRscTableHdr = 16; // resource_table without offset[]
constexpr uint64_t kRscHdr = 4;       // fw_rsc_hdr
constexpr uint64_t kCarveoutBody = 52;
constexpr uint64_t kTraceBody = 44;
constexpr uint64_t kVdevBody = 24; // fw_rsc_vdev without vring[]
constexpr uint64_t kVringBody = 20;
constexpr unsigned kMaxVrings = 2; // ARRAY_SIZE(rproc_vdev.vring)
constexpr uint32_t kVirtioIdRpmsg = 7;
constexpr uint32_t kRpmsgFNs = 1; // VIRTIO_RPMSG_F_NS, bit 0

constexpr std::string_view kRscTableSection = ".resource_table";

// Layout of what buildFirmware() writes.
constexpr uint32_t kSegmentOffset = 0x1000; // p_offset == p_vaddr modulo p_align
constexpr uint32_t kSegmentAlign = 0x1000;
constexpr uint32_t kBranchToSelf = 0xEAFFFFFEu; // ARM `b .`
constexpr uint32_t kArmNop = 0xE320F000u;       // ARM `nop`, never reached
constexpr uint32_t kTextSize = 16;
constexpr uint32_t kVringAlign = 0x1000;
constexpr uint32_t kVringNum = 256;

// The windows the simulated R5's carveouts map (what da_to_va() finds).
struct Window {
	uint32_t base;
	uint64_t len;
};
constexpr Window kWindows[] = {
	{AMPSIM_TCM_BASE, AMPSIM_TCM_SIZE},
	{AMPSIM_DDR_BASE, AMPSIM_DDR_SIZE},
};

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

void put16(std::vector<uint8_t> &b, size_t off, uint16_t v)
{
	b[off] = uint8_t(v);
	b[off + 1] = uint8_t(v >> 8);
}

void put32(std::vector<uint8_t> &b, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[off + i] = uint8_t(v >> (8 * i));
}

void append32(std::vector<uint8_t> &b, uint32_t v)
{
	b.resize(b.size() + 4);
	put32(b, b.size() - 4, v);
}

// Copies at most `len` bytes of `s`, NUL padding the rest.
void putString(std::vector<uint8_t> &b, size_t off, const std::string &s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		b[off + i] = i < s.size() ? uint8_t(s[i]) : 0;
}

// A firmware file as the kernel reads it: every access is bounds checked,
// with offsets kept in 64 bits and sums checked for overflow, because the
// file is hostile input and the kernel's own arithmetic is not always safe.
struct Image {
	const uint8_t *p;
	uint64_t n;

	bool has(uint64_t off, uint64_t len) const { return off <= n && len <= n - off; }
	uint64_t le(uint64_t off, unsigned bytes) const
	{
		uint64_t v = 0;
		for (unsigned i = 0; i < bytes; i++)
			v |= uint64_t(p[off + i]) << (8 * i);
		return v;
	}
	uint8_t u8(uint64_t off) const { return p[off]; }
	uint16_t u16(uint64_t off) const { return uint16_t(le(off, 2)); }
	uint32_t u32(uint64_t off) const { return uint32_t(le(off, 4)); }
	uint64_t u64(uint64_t off) const { return le(off, 8); }
};

bool add(uint64_t a, uint64_t b, uint64_t &out) { return !__builtin_add_overflow(a, b, &out); }

bool mulAdd(uint64_t base, uint64_t index, uint64_t size, uint64_t &out)
{
	uint64_t rel;
	return !__builtin_mul_overflow(index, size, &rel) && add(base, rel, out);
}

struct Phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct Shdr {
	uint32_t name;
	uint64_t addr, offset, size;
};

// The ELF header fields the loader uses. The kernel reads the 32-bit
// layout for e_ident and picks the rest by class (remoteproc_elf_helpers.h);
// it ignores e_phentsize and e_shentsize and uses the struct sizes.
struct Elf {
	Image img;
	bool is64 = false;
	uint64_t entry = 0, phoff = 0, shoff = 0;
	uint16_t phnum = 0, shnum = 0, shstrndx = 0;

	uint64_t phdrSize() const { return is64 ? 56 : 32; }
	uint64_t shdrSize() const { return is64 ? 64 : 40; }

	bool phdr(uint64_t i, Phdr &ph) const
	{
		uint64_t at;
		if (!mulAdd(phoff, i, phdrSize(), at) || !img.has(at, phdrSize()))
			return false;
		ph.type = img.u32(at);
		if (is64) {
			ph.offset = img.u64(at + 8);
			ph.paddr = img.u64(at + 24);
			ph.filesz = img.u64(at + 32);
			ph.memsz = img.u64(at + 40);
		} else {
			ph.offset = img.u32(at + 4);
			ph.paddr = img.u32(at + 12);
			ph.filesz = img.u32(at + 16);
			ph.memsz = img.u32(at + 20);
		}
		return true;
	}

	bool shdr(uint64_t i, Shdr &sh) const
	{
		uint64_t at;
		if (!mulAdd(shoff, i, shdrSize(), at) || !img.has(at, shdrSize()))
			return false;
		sh.name = img.u32(at);
		if (is64) {
			sh.addr = img.u64(at + 16);
			sh.offset = img.u64(at + 24);
			sh.size = img.u64(at + 32);
		} else {
			sh.addr = img.u32(at + 12);
			sh.offset = img.u32(at + 16);
			sh.size = img.u32(at + 20);
		}
		return true;
	}
};

// rproc_elf_sanity_check() (remoteproc_elf_loader.c), in its order.
int sanityCheck(Image img, Elf &elf, std::string &why)
{
	if (img.n < 52) {
		why = "Image is too small";
		return EINVAL;
	}
	if (img.u8(0) != 0x7f || img.u8(1) != 'E' || img.u8(2) != 'L' || img.u8(3) != 'F') {
		why = "Image is corrupted (bad magic)";
		return EINVAL;
	}
	const uint8_t cls = img.u8(4);
	if (cls != kElfClass32 && cls != kElfClass64) {
		// `char class` printed with %d: arm64 chars are unsigned.
		why = format("Unsupported class: %d", int(cls));
		return EINVAL;
	}
	if (cls == kElfClass64 && img.n < 64) {
		why = "elf64 header is too small";
		return EINVAL;
	}
	// "We assume the firmware has the same endianness as the host": the
	// ZynqMP's A53s run little-endian.
	if (img.u8(5) != kElfDataLsb) {
		why = "Unsupported firmware endianness";
		return EINVAL;
	}
	elf.img = img;
	elf.is64 = cls == kElfClass64;
	if (elf.is64) {
		elf.entry = img.u64(24);
		elf.phoff = img.u64(32);
		elf.shoff = img.u64(40);
		elf.phnum = img.u16(56);
		elf.shnum = img.u16(60);
		elf.shstrndx = img.u16(62);
	} else {
		elf.entry = img.u32(24);
		elf.phoff = img.u32(28);
		elf.shoff = img.u32(32);
		elf.phnum = img.u16(44);
		elf.shnum = img.u16(48);
		elf.shstrndx = img.u16(50);
	}
	// Only the first section header has to fit. The kernel's u64 sum can
	// wrap for an ELF64 e_shoff near 2^64 and let the file through; that
	// case is refused here the way the unwrapped sum would be.
	uint64_t shEnd;
	if (!add(elf.shoff, elf.shdrSize(), shEnd) || img.n < shEnd) {
		why = "Image is too small";
		return EINVAL;
	}
	if (elf.phnum == 0) {
		why = "No loadable segments";
		return EINVAL;
	}
	// Only the start of the program headers is checked here, not the table.
	if (elf.phoff > img.n) {
		why = "Firmware size is too small";
		return EINVAL;
	}
	return 0;
}

// strcmp(name_table + name, want) as find_table() does it: the name is read
// from the file at shstrtab's sh_offset + sh_name with no check against the
// string table's own size (the kernel makes none). A name that runs off the
// end of the file before it differs counts as a mismatch here; the kernel
// would read past its buffer.
bool nameIs(const Elf &elf, uint64_t nameTable, uint32_t name, std::string_view want)
{
	uint64_t at;
	if (!add(nameTable, name, at))
		return false;
	for (size_t i = 0; i <= want.size(); i++) {
		if (!elf.img.has(at, i + 1))
			return false;
		const uint8_t c = elf.img.u8(at + i);
		const uint8_t w = i < want.size() ? uint8_t(want[i]) : 0;
		if (c != w)
			return false;
	}
	return true;
}

// The first section named `want`, walking the headers as find_table() does.
// Headers or a string table outside the file (the kernel reads out of bounds
// there) end the search.
bool findSection(const Elf &elf, std::string_view want, Shdr &found)
{
	Shdr names;
	if (!elf.shdr(elf.shstrndx, names))
		return false;
	for (uint64_t i = 0; i < elf.shnum; i++) {
		Shdr sh;
		if (!elf.shdr(i, sh))
			return false;
		if (nameIs(elf, names.offset, sh.name, want)) {
			found = sh;
			return true;
		}
	}
	return false;
}

// find_table(): the first ".resource_table" decides; a bad one is not
// skipped in favour of a later one.
bool findTable(const Elf &elf, Shdr &table, std::string &why)
{
	if (!findSection(elf, kRscTableSection, table))
		return false;
	uint64_t end;
	if (!add(table.offset, table.size, end) || end > elf.img.n) {
		why = "resource table truncated";
		return false;
	}
	if (kRscTableHdr > table.size) {
		why = "header-less resource table";
		return false;
	}
	const uint32_t ver = elf.img.u32(table.offset);
	if (ver != 1) {
		why = format("unsupported fw ver: %d", int32_t(ver));
		return false;
	}
	if (elf.img.u32(table.offset + 8) || elf.img.u32(table.offset + 12)) {
		why = "non zero reserved bytes";
		return false;
	}
	const uint64_t num = elf.img.u32(table.offset + 4);
	if (kRscTableHdr + 4 * num > table.size) {
		why = "resource table incomplete";
		return false;
	}
	return true;
}

void note(std::string &why, const std::string &line)
{
	if (!why.empty())
		why += "; ";
	why += line;
}

// The rproc-virtio platform driver's probe (remoteproc_virtio.c, 6.1): it
// parses the vrings of a VDEV that rproc_handle_vdev() accepted.
bool probeVdev(Image t, uint64_t body, uint8_t nVrings, std::vector<VringInfo> &vrings,
	       std::string &why)
{
	for (unsigned i = 0; i < nVrings; i++) {
		const uint64_t at = body + kVdevBody + kVringBody * i;
		const VringInfo v{t.u32(at), t.u32(at + 4), t.u32(at + 8), t.u32(at + 12), t.u32(at + 16)};
		if (!v.num || !v.align) {
			note(why, format("invalid qsz (%d) or alignment (%d)", int32_t(v.num), int32_t(v.align)));
			note(why, "rproc-virtio: probe of rproc-virtio.0.auto failed with error -22");
			return false;
		}
		vrings.push_back(v);
	}
	return true;
}

// rproc_handle_resources() with rproc_loading_handlers, run on the cached
// copy of the table (`t` is exactly the section's bytes). Returns what the
// kernel function returns: 0, a negative errno, or RSC_IGNORED (1).
int handleResources(Image t, LoadedFirmware &out, std::string &why, std::string &error)
{
	const uint32_t num = t.u32(4);
	int ret = 0;
	for (uint64_t i = 0; i < num; i++) {
		const uint32_t offset = t.u32(kRscTableHdr + 4 * i);
		// The kernel computes `int avail = table_sz - offset - sizeof(*hdr)`
		// with `int offset`: an offset of 2^31 or more goes negative, and
		// e.g. 0xfffffffc yields a positive avail and a header read before
		// the table. Any offset without room for a header is refused here,
		// which is what the kernel means to do.
		if (uint64_t(offset) + kRscHdr > t.n) {
			error = "rsc table is truncated";
			return -EINVAL;
		}
		const uint64_t avail = t.n - offset - kRscHdr;
		const uint64_t body = uint64_t(offset) + kRscHdr;
		const uint32_t type = t.u32(offset);

		if (type >= kRscVendorStart && type <= kRscVendorEnd) {
			// rproc_handle_rsc() without an ops->handle_rsc returns
			// RSC_IGNORED, which stays in `ret` unless a later entry
			// resets it.
			note(why, format("unsupported vendor resource %d", int32_t(type)));
			ret = 1;
			continue;
		}
		if (type >= kRscLast) {
			note(why, format("unsupported resource %d", int32_t(type)));
			continue;
		}
		switch (type) {
		case kRscCarveout:
			if (kCarveoutBody > avail) {
				error = "carveout rsc is truncated";
				return -EINVAL;
			}
			if (t.u32(body + 16)) {
				error = "carveout rsc has non zero reserved bytes";
				return -EINVAL;
			}
			// A valid carveout is allocated with dma_alloc_coherent()
			// before the segments load. Not modelled: the window it
			// adds, and the ENOMEM a too large one gets.
			ret = 0;
			break;
		case kRscDevmem:
			// rproc_handle_devmem() returns -EINVAL before looking at
			// the entry when there is no IOMMU domain, and the Zynq R5
			// has none. It logs nothing.
			return -EINVAL;
		case kRscTrace:
			if (kTraceBody > avail) {
				error = "trace rsc is truncated";
				return -EINVAL;
			}
			if (t.u32(body + 8)) {
				error = "trace rsc has non zero reserved bytes";
				return -EINVAL;
			}
			// The trace buffer's da is only translated when trace0 is
			// read, so a bad one does not stop the boot.
			ret = 0;
			break;
		case kRscVdev: {
			// The kernel reads num_of_vrings and config_len before this
			// check even when fewer than 24 bytes are left; with
			// avail < 24 the check fails whatever it read.
			if (avail < kVdevBody) {
				error = "vdev rsc is truncated";
				return -EINVAL;
			}
			const uint8_t nVrings = t.u8(body + 21);
			const uint64_t configLen = t.u32(body + 16);
			if (kVdevBody + kVringBody * nVrings + configLen > avail) {
				error = "vdev rsc is truncated";
				return -EINVAL;
			}
			if (t.u8(body + 22) || t.u8(body + 23)) {
				error = "vdev rsc has non zero reserved bytes";
				return -EINVAL;
			}
			if (nVrings > kMaxVrings) {
				error = format("too many vrings: %d", int(nVrings));
				return -EINVAL;
			}
			// From 6.1 rproc_handle_vdev() registers an rproc-virtio
			// platform device and returns 0; the vrings are checked in
			// that device's probe, whose failure does not reach the
			// boot: the core starts without this virtio device.
			std::vector<VringInfo> vrings;
			const bool probed = probeVdev(t, body, nVrings, vrings, why);
			if (probed && t.u32(body) == kVirtioIdRpmsg && !out.hasRpmsgVdev) {
				out.hasRpmsgVdev = true;
				out.vdevFeatures = t.u32(body + 8);
				out.vrings = std::move(vrings);
			}
			ret = 0;
			break;
		}
		}
	}
	return ret;
}

// rproc_da_to_va() over the simulated carveouts: [da, da + len) must lie in
// one window.
bool daToVa(uint64_t da, uint64_t len)
{
	for (const Window &w : kWindows) {
		// `int offset = da - carveout->da;` keeps the low 32 bits of
		// the difference, so an ELF64 da 4 GiB above a window lands in
		// it, as on the real kernel.
		const int32_t offset = int32_t(uint32_t(da - w.base));
		if (offset < 0)
			continue;
		uint64_t end;
		// The kernel's `offset + len` can wrap for an ELF64 p_memsz
		// near 2^64 and then memsets past the carveout; refused here.
		if (!add(uint64_t(offset), len, end) || end > w.len)
			continue;
		return true;
	}
	return false;
}

// rproc_elf_load_segments().
int loadSegments(const Elf &elf, std::string &why)
{
	for (uint64_t i = 0; i < elf.phnum; i++) {
		Phdr ph;
		if (!elf.phdr(i, ph)) {
			// The sanity check only made sure e_phoff is inside the
			// file; the kernel reads this header past its buffer.
			why = format("ampsim: program header %llu is past the end of the image "
				     "(the kernel reads out of bounds here)",
				     (unsigned long long)i);
			return EINVAL;
		}
		if (ph.type != kPtLoad)
			continue;
		if (ph.filesz > ph.memsz) {
			why = format("bad phdr filesz 0x%llx memsz 0x%llx", (unsigned long long)ph.filesz,
				     (unsigned long long)ph.memsz);
			return EINVAL;
		}
		uint64_t end;
		if (!add(ph.offset, ph.filesz, end) || end > elf.img.n) {
			why = format("truncated fw: need 0x%llx avail 0x%llx",
				     (unsigned long long)(ph.offset + ph.filesz),
				     (unsigned long long)elf.img.n);
			return EINVAL;
		}
		// rproc_u64_fit_in_size_t() always holds on the 64-bit host.
		// A zero p_memsz is not skipped: da_to_va() still has to find
		// the address.
		if (!daToVa(ph.paddr, ph.memsz)) {
			why = format("bad phdr da 0x%llx mem 0x%llx", (unsigned long long)ph.paddr,
				     (unsigned long long)ph.memsz);
			return EINVAL;
		}
	}
	return 0;
}

std::string cString(Image img, uint64_t off, size_t max)
{
	std::string s;
	for (size_t i = 0; i < max && img.u8(off + i); i++)
		s += char(img.u8(off + i));
	return s;
}

// The ampsim marker (fw_format.h); not a kernel check.
std::optional<FirmwareSpec> decodeMarker(const Elf &elf)
{
	Shdr sh;
	if (!findSection(elf, AMPSIM_FW_SECTION, sh))
		return std::nullopt;
	const Image img = elf.img;
	if (sh.size < sizeof(ampsim_fw_marker) || !img.has(sh.offset, sizeof(ampsim_fw_marker)))
		return std::nullopt;
	const uint64_t m = sh.offset;
	for (size_t i = 0; i < AMPSIM_FW_MAGIC_LEN; i++)
		if (img.u8(m + i) != uint8_t(AMPSIM_FW_MAGIC[i]))
			return std::nullopt;
	if (img.u32(m + offsetof(ampsim_fw_marker, version)) != AMPSIM_FW_VERSION)
		return std::nullopt;
	FirmwareSpec spec;
	spec.app = cString(img, m + offsetof(ampsim_fw_marker, app), sizeof(ampsim_fw_marker::app));
	spec.service = cString(img, m + offsetof(ampsim_fw_marker, service), sizeof(ampsim_fw_marker::service));
	spec.announceAddr = img.u32(m + offsetof(ampsim_fw_marker, announce_addr));
	spec.crashAfterMsgs = img.u32(m + offsetof(ampsim_fw_marker, crash_after_msgs));
	spec.crashAfterMs = img.u32(m + offsetof(ampsim_fw_marker, crash_after_ms));
	spec.replyDelayMs = img.u32(m + offsetof(ampsim_fw_marker, reply_delay_ms));
	spec.flags = img.u32(m + offsetof(ampsim_fw_marker, flags));
	return spec;
}

std::vector<uint8_t> resourceTable()
{
	std::vector<uint8_t> t;
	append32(t, 1); // ver
	append32(t, 1); // num
	append32(t, 0); // reserved[0]
	append32(t, 0); // reserved[1]
	append32(t, uint32_t(t.size() + 4)); // offset[0]: right after this array
	append32(t, kRscVdev);
	append32(t, kVirtioIdRpmsg); // id
	append32(t, 0);              // notifyid
	append32(t, kRpmsgFNs);      // dfeatures
	append32(t, 0);              // gfeatures
	append32(t, 0);              // config_len
	append32(t, kMaxVrings << 8); // status 0, num_of_vrings 2, reserved 0 0
	for (uint32_t i = 1; i <= kMaxVrings; i++) {
		append32(t, kFwRscAddrAny); // da
		append32(t, kVringAlign);
		append32(t, kVringNum);
		append32(t, i); // notifyid
		append32(t, 0); // pa
	}
	return t;
}

std::vector<uint8_t> marker(const FirmwareSpec &spec)
{
	std::vector<uint8_t> m(sizeof(ampsim_fw_marker), 0);
	putString(m, 0, AMPSIM_FW_MAGIC, AMPSIM_FW_MAGIC_LEN);
	put32(m, offsetof(ampsim_fw_marker, version), AMPSIM_FW_VERSION);
	putString(m, offsetof(ampsim_fw_marker, app), spec.app, sizeof(ampsim_fw_marker::app));
	putString(m, offsetof(ampsim_fw_marker, service), spec.service, sizeof(ampsim_fw_marker::service));
	put32(m, offsetof(ampsim_fw_marker, announce_addr), spec.announceAddr);
	put32(m, offsetof(ampsim_fw_marker, crash_after_msgs), spec.crashAfterMsgs);
	put32(m, offsetof(ampsim_fw_marker, crash_after_ms), spec.crashAfterMs);
	put32(m, offsetof(ampsim_fw_marker, reply_delay_ms), spec.replyDelayMs);
	put32(m, offsetof(ampsim_fw_marker, flags), spec.flags);
	return m;
}

} // namespace

bool isKnownApp(const std::string &app)
{
	for (const char *known : {"echo", "matmul", "rpc", "rpcprobe", "crash", "hang", "silent", "slow", "norsc"})
		if (app == known)
			return true;
	return false;
}

std::vector<uint8_t> buildFirmware(const FirmwareSpec &spec)
{
	struct Section {
		const char *name;
		uint32_t type, flags, addr, offset, size, align;
		uint32_t nameOff = 0;
	};

	// The one loadable segment: code, table, marker, in that order.
	std::vector<uint8_t> seg;
	append32(seg, kBranchToSelf);
	while (seg.size() < kTextSize)
		append32(seg, kArmNop);
	std::vector<Section> sections;
	sections.push_back({"", 0, 0, 0, 0, 0, 0});
	sections.push_back({".text", kShtProgbits, kShfAlloc | kShfExecinstr, 0, 0, kTextSize, 4});
	if (spec.app != "norsc") {
		const std::vector<uint8_t> t = resourceTable();
		sections.push_back({".resource_table", kShtProgbits, kShfAlloc, 0, uint32_t(seg.size()),
				    uint32_t(t.size()), 4});
		seg.insert(seg.end(), t.begin(), t.end());
	}
	const std::vector<uint8_t> m = marker(spec);
	sections.push_back({AMPSIM_FW_SECTION, kShtProgbits, kShfAlloc, 0, uint32_t(seg.size()),
			    uint32_t(m.size()), 4});
	seg.insert(seg.end(), m.begin(), m.end());
	for (Section &s : sections) {
		if (s.type == kShtProgbits) {
			s.addr = AMPSIM_FW_LOAD_ADDR + s.offset;
			s.offset += kSegmentOffset;
		}
	}

	std::vector<uint8_t> shstrtab(1, 0);
	sections.push_back({".shstrtab", kShtStrtab, 0, 0, 0, 0, 1});
	for (Section &s : sections) {
		if (!*s.name)
			continue;
		s.nameOff = uint32_t(shstrtab.size());
		for (const char *c = s.name; *c; c++)
			shstrtab.push_back(uint8_t(*c));
		shstrtab.push_back(0);
	}
	Section &strSec = sections.back();
	strSec.offset = kSegmentOffset + uint32_t(seg.size());
	strSec.size = uint32_t(shstrtab.size());

	const uint32_t shoff = (strSec.offset + strSec.size + 3) & ~3u;
	std::vector<uint8_t> f(shoff + 40 * sections.size(), 0);

	// ELF header
	f[0] = 0x7f;
	f[1] = 'E';
	f[2] = 'L';
	f[3] = 'F';
	f[4] = kElfClass32;
	f[5] = kElfDataLsb;
	f[6] = 1; // EI_VERSION
	put16(f, 16, kEtExec);
	put16(f, 18, kEmArm);
	put32(f, 20, 1); // e_version
	put32(f, 24, AMPSIM_FW_LOAD_ADDR);
	put32(f, 28, 52); // e_phoff
	put32(f, 32, shoff);
	put32(f, 36, kEfArmEabiVer5);
	put16(f, 40, 52); // e_ehsize
	put16(f, 42, 32); // e_phentsize
	put16(f, 44, 1);  // e_phnum
	put16(f, 46, 40); // e_shentsize
	put16(f, 48, uint16_t(sections.size()));
	put16(f, 50, uint16_t(sections.size() - 1)); // .shstrtab is last

	// PT_LOAD
	put32(f, 52, kPtLoad);
	put32(f, 56, kSegmentOffset);
	put32(f, 60, AMPSIM_FW_LOAD_ADDR); // p_vaddr
	put32(f, 64, AMPSIM_FW_LOAD_ADDR); // p_paddr: where remoteproc copies it
	put32(f, 68, uint32_t(seg.size()));
	put32(f, 72, uint32_t(seg.size()));
	put32(f, 76, kPfR | kPfX);
	put32(f, 80, kSegmentAlign);

	std::copy(seg.begin(), seg.end(), f.begin() + kSegmentOffset);
	std::copy(shstrtab.begin(), shstrtab.end(), f.begin() + strSec.offset);
	for (size_t i = 0; i < sections.size(); i++) {
		const Section &s = sections[i];
		const size_t at = shoff + 40 * i;
		put32(f, at, s.nameOff);
		put32(f, at + 4, s.type);
		put32(f, at + 8, s.flags);
		put32(f, at + 12, s.addr);
		put32(f, at + 16, s.offset);
		put32(f, at + 20, s.size);
		put32(f, at + 32, s.align);
	}
	return f;
}

// Besides 0 and a positive errno this returns -1 for the one boot failure
// that reaches user space as a byte count, not an errno (see below).
int loadFirmware(const std::vector<uint8_t> &image, LoadedFirmware &out, std::string &why)
{
	out = LoadedFirmware{};
	why.clear();
	const Image img{image.data(), image.size()};

	// rproc_fw_boot(): sanity check, prepare (the carveouts), boot address,
	// parse_fw, resources, carveout allocation, then rproc_start() loads
	// the segments and powers the core up.
	Elf elf;
	if (int err = sanityCheck(img, elf, why))
		return err;
	out.entry = uint32_t(elf.entry); // the R5 takes the low 32 bits

	// zynqmp_r5_parse_fw(): rproc_elf_load_rsc_table() fails with -EINVAL
	// for a missing or invalid table and the driver boots without one.
	Shdr table;
	std::string tableWhy;
	if (findTable(elf, table, tableWhy)) {
		out.hasResourceTable = true;
	} else {
		if (!tableWhy.empty())
			note(why, tableWhy);
		note(why, "no resource table found.");
	}

	if (out.hasResourceTable) {
		std::string error;
		const int ret = handleResources(Image{img.p + table.offset, table.size}, out, why, error);
		if (ret == 1) {
			// RSC_IGNORED leaks out of rproc_handle_resources() when the
			// last entry is an ignored vendor resource: rproc_fw_boot()
			// fails with it, rproc_boot() returns it and state_store()
			// returns it as a byte count. The `start` write "succeeds"
			// with 1 byte and the core stays offline. Callers get -1.
			note(why, "Failed to process resources: 1");
			note(why, "Boot failed: 1");
			out = LoadedFirmware{};
			return -1;
		}
		if (ret < 0) {
			why = error.empty() ? "" : error + "; ";
			why += format("Failed to process resources: %d", ret);
			out = LoadedFirmware{};
			return -ret;
		}
	}

	std::string segWhy;
	if (int err = loadSegments(elf, segWhy)) {
		why = segWhy + format("; Failed to load program segments: %d", -err);
		out = LoadedFirmware{};
		return err;
	}

	out.spec = decodeMarker(elf);
	return 0;
}

} // namespace ampsim
