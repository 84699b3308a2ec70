#include "image.h"

#include <elf.h>

#include <cctype>
#include <cstring>
#include <map>

#include "device_model.h"

namespace standin {
namespace {

constexpr uint16_t EM_NVIDIA_CUDA = 190;
constexpr unsigned char STO_CUDA_ENTRY = 0x10;
// .nv.info record formats and attributes (the subset read here).
constexpr uint8_t EIFMT_SVAL = 4;
constexpr uint8_t EIATTR_MAX_THREADS = 0x05;
constexpr uint8_t EIATTR_KPARAM_INFO = 0x17;
constexpr uint8_t EIATTR_CBANK_PARAM_SIZE = 0x19;
constexpr uint8_t EIATTR_REGCOUNT = 0x2f;

uint32_t read_u32(const unsigned char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Walk the records of one .nv.info section: fn(attribute, value16, data, data_len).
template <class F>
void for_each_record(const unsigned char* d, size_t len, F fn) {
    size_t pos = 0;
    while (pos + 4 <= len) {
        uint8_t fmt = d[pos];
        uint8_t attr = d[pos + 1];
        uint16_t v = static_cast<uint16_t>(d[pos + 2] | (d[pos + 3] << 8));
        pos += 4;
        if (fmt == EIFMT_SVAL) {
            if (pos + v > len) return;
            fn(attr, v, d + pos, static_cast<size_t>(v));
            pos += v;
        } else {
            fn(attr, v, nullptr, 0);
        }
    }
}

CUresult parse_cubin(const unsigned char* b, ImageInfo* out, std::string* why) {
    Elf64_Ehdr eh;
    std::memcpy(&eh, b, sizeof eh);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_NVIDIA_CUDA ||
        eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum) {
        *why = "not a 64-bit CUDA ELF image";
        return cu::ERROR_INVALID_IMAGE;
    }
    // ELF ABI 8 (CUDA 12.8 and later) moved the SM number to bits 8..15 of e_flags.
    int sm = eh.e_ident[EI_ABIVERSION] >= 8 ? (eh.e_flags >> 8) & 0xff : eh.e_flags & 0xff;
    // A cubin runs on its own major architecture at an equal or higher minor version.
    if (sm / 10 != h100::CC_MAJOR || sm % 10 > h100::CC_MINOR) {
        *why = "cubin built for sm_" + std::to_string(sm) + ", the device is sm_" +
               std::to_string(h100::SM_VERSION);
        return cu::ERROR_NO_BINARY_FOR_GPU;
    }
    out->cubin = true;
    out->binary_version = sm;
    std::vector<Elf64_Shdr> sections(eh.e_shnum);
    std::memcpy(sections.data(), b + eh.e_shoff, eh.e_shnum * sizeof(Elf64_Shdr));
    const char* shstr = reinterpret_cast<const char*>(b + sections[eh.e_shstrndx].sh_offset);
    auto section_name = [&](const Elf64_Shdr& s) { return std::string(shstr + s.sh_name); };

    std::map<uint32_t, size_t> entry_by_symbol;
    for (const auto& s : sections) {
        if (s.sh_type != SHT_SYMTAB || s.sh_link >= sections.size()) continue;
        const char* strtab = reinterpret_cast<const char*>(b + sections[s.sh_link].sh_offset);
        size_t count = s.sh_entsize ? s.sh_size / s.sh_entsize : 0;
        for (size_t i = 0; i < count; ++i) {
            Elf64_Sym sym;
            std::memcpy(&sym, b + s.sh_offset + i * s.sh_entsize, sizeof sym);
            if (ELF64_ST_TYPE(sym.st_info) == STT_FUNC && (sym.st_other & STO_CUDA_ENTRY)) {
                entry_by_symbol[static_cast<uint32_t>(i)] = out->entries.size();
                EntryInfo e;
                e.name = strtab + sym.st_name;
                e.static_shared = 0;
                out->entries.push_back(e);
            }
        }
    }
    auto entry_named = [&](const std::string& name) -> EntryInfo* {
        for (auto& e : out->entries) {
            if (e.name == name) return &e;
        }
        return nullptr;
    };
    for (const auto& s : sections) {
        std::string name = section_name(s);
        const unsigned char* d = b + s.sh_offset;
        if (name == ".nv.info") {
            for_each_record(d, s.sh_size, [&](uint8_t attr, uint16_t, const unsigned char* v, size_t n) {
                if (attr == EIATTR_REGCOUNT && n >= 8) {
                    auto it = entry_by_symbol.find(read_u32(v));
                    if (it != entry_by_symbol.end()) {
                        out->entries[it->second].registers = static_cast<int>(read_u32(v + 4));
                    }
                }
            });
        } else if (name.rfind(".nv.info.", 0) == 0) {
            EntryInfo* e = entry_named(name.substr(9));
            if (!e) continue;
            std::map<uint32_t, std::pair<size_t, size_t>> params;  // ordinal -> (offset, size)
            for_each_record(d, s.sh_size, [&](uint8_t attr, uint16_t v16, const unsigned char* v, size_t n) {
                if (attr == EIATTR_KPARAM_INFO && n >= 12) {
                    uint32_t where = read_u32(v + 4);
                    uint32_t flags = read_u32(v + 8);
                    params[where & 0xffff] = {where >> 16, (flags >> 18) & 0x3fff};
                } else if (attr == EIATTR_CBANK_PARAM_SIZE) {
                    e->param_bytes = v16;
                } else if (attr == EIATTR_MAX_THREADS && n >= 12) {
                    e->max_threads = read_u32(v) * read_u32(v + 4) * read_u32(v + 8);
                }
            });
            e->params_known = true;
            for (const auto& [ordinal, p] : params) {
                (void)ordinal;
                e->param_offsets.push_back(p.first);
                e->param_sizes.push_back(p.second);
            }
        } else if (name.rfind(".nv.shared.", 0) == 0) {
            if (EntryInfo* e = entry_named(name.substr(11))) e->static_shared = static_cast<long>(s.sh_size);
        }
    }
    return cu::SUCCESS;
}

// PTX text without comments.
std::string strip_comments(const char* text) {
    std::string out;
    for (const char* p = text; *p;) {
        if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n') ++p;
        } else if (p[0] == '/' && p[1] == '*') {
            p += 2;
            while (*p && !(p[0] == '*' && p[1] == '/')) ++p;
            if (*p) p += 2;
        } else {
            out += *p++;
        }
    }
    return out;
}

size_t ptx_type_size(const std::string& t) {
    static const std::map<std::string, size_t> sizes = {
        {".b8", 1},  {".u8", 1},  {".s8", 1},  {".b16", 2}, {".u16", 2}, {".s16", 2},
        {".f16", 2}, {".b32", 4}, {".u32", 4}, {".s32", 4}, {".f32", 4}, {".b64", 8},
        {".u64", 8}, {".s64", 8}, {".f64", 8}};
    auto it = sizes.find(t);
    return it == sizes.end() ? 0 : it->second;
}

std::vector<std::string> tokens(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

// One `.param` declaration: its size and alignment, or false when unreadable.
bool ptx_param(const std::string& decl, size_t* size, size_t* align) {
    size_t elem = 0, count = 1, explicit_align = 0;
    auto t = tokens(decl);
    for (size_t i = 0; i < t.size(); ++i) {
        if (t[i] == ".align" && i + 1 < t.size()) {
            explicit_align = std::stoul(t[++i]);
        } else if (size_t s = ptx_type_size(t[i])) {
            elem = s;
        } else if (auto lb = t[i].find('['); lb != std::string::npos) {
            count = std::stoul(t[i].substr(lb + 1));
        }
    }
    if (elem == 0) return false;
    *size = elem * count;
    *align = explicit_align ? explicit_align : elem;
    return true;
}

CUresult parse_ptx(const char* text, ImageInfo* out, std::string* why) {
    std::string ptx = strip_comments(text);
    auto after = [&](const char* directive, size_t from = 0) -> size_t {
        for (size_t pos = ptx.find(directive, from); pos != std::string::npos;
             pos = ptx.find(directive, pos + 1)) {
            size_t end = pos + std::strlen(directive);
            bool starts = pos == 0 || std::isspace(static_cast<unsigned char>(ptx[pos - 1]));
            bool ends = end < ptx.size() && std::isspace(static_cast<unsigned char>(ptx[end]));
            if (starts && ends) return end;
        }
        return std::string::npos;
    };
    size_t v = after(".version");
    if (v == std::string::npos) {
        *why = "neither a cubin nor PTX (no .version directive)";
        return cu::ERROR_INVALID_IMAGE;
    }
    unsigned major = 0, minor = 0;
    if (std::sscanf(ptx.c_str() + v, " %u.%u", &major, &minor) != 2) {
        *why = "unreadable .version directive";
        return cu::ERROR_INVALID_PTX;
    }
    out->ptx_version = static_cast<int>(major * 10 + minor);
    if (out->ptx_version > h100::MAX_PTX_VERSION) {
        *why = "PTX ISA " + std::to_string(major) + "." + std::to_string(minor) +
               " is newer than a CUDA 13.0 driver accepts (9.0)";
        return cu::ERROR_UNSUPPORTED_PTX_VERSION;
    }
    size_t t = after(".target");
    unsigned sm = 0;
    if (t == std::string::npos || std::sscanf(ptx.c_str() + t, " sm_%u", &sm) != 1) {
        *why = "missing or unreadable .target directive";
        return cu::ERROR_INVALID_PTX;
    }
    if (sm > static_cast<unsigned>(h100::SM_VERSION)) {
        *why = "PTX for sm_" + std::to_string(sm) + ", the device is sm_" +
               std::to_string(h100::SM_VERSION);
        return cu::ERROR_INVALID_PTX;
    }
    out->binary_version = static_cast<int>(sm);
    for (size_t pos = after(".entry"); pos != std::string::npos; pos = after(".entry", pos)) {
        size_t name_start = ptx.find_first_not_of(" \t\r\n", pos);
        size_t name_end = ptx.find_first_of(" \t\r\n({", name_start);
        if (name_start == std::string::npos || name_end == std::string::npos) {
            *why = "unreadable .entry";
            return cu::ERROR_INVALID_PTX;
        }
        EntryInfo e;
        e.name = ptx.substr(name_start, name_end - name_start);
        size_t body = ptx.find('{', name_end);
        if (body == std::string::npos) {
            *why = "entry " + e.name + " has no body";
            return cu::ERROR_INVALID_PTX;
        }
        std::string head = ptx.substr(name_end, body - name_end);
        size_t open = head.find('('), close = head.find(')');
        e.params_known = true;
        if (open != std::string::npos && close != std::string::npos && close > open) {
            std::string list = head.substr(open + 1, close - open - 1);
            size_t offset = 0;
            for (size_t p = list.find(".param"); p != std::string::npos;) {
                size_t next = list.find(".param", p + 6);
                std::string decl = list.substr(p + 6, next == std::string::npos ? std::string::npos : next - p - 6);
                size_t size = 0, align = 1;
                if (!ptx_param(decl, &size, &align)) {
                    *why = "entry " + e.name + ": unreadable parameter '" + decl + "'";
                    return cu::ERROR_INVALID_PTX;
                }
                offset = (offset + align - 1) / align * align;
                e.param_offsets.push_back(offset);
                e.param_sizes.push_back(size);
                offset += size;
                p = next;
            }
            e.param_bytes = offset;
            head = head.substr(close + 1);
        }
        for (const char* bound : {".maxntid", ".reqntid"}) {
            size_t b = head.find(bound);
            if (b == std::string::npos) continue;
            unsigned x = 1, y = 1, z = 1;
            int n = std::sscanf(head.c_str() + b + std::strlen(bound), " %u , %u , %u", &x, &y, &z);
            if (n >= 1) e.max_threads = x * (n >= 2 ? y : 1) * (n >= 3 ? z : 1);
        }
        out->entries.push_back(e);
    }
    return cu::SUCCESS;
}

}  // namespace

CUresult parse_image(const void* image, ImageInfo* out, std::string* why) {
    if (!image) {
        *why = "null image";
        return cu::ERROR_INVALID_VALUE;
    }
    const auto* b = static_cast<const unsigned char*>(image);
    if (std::memcmp(b, "\x7f" "ELF", 4) == 0) return parse_cubin(b, out, why);
    if (read_u32(b) == 0xBA55ED50u) {
        *why = "fat binaries are not supported by the stand-in (load the sm_90 cubin or the PTX)";
        return cu::ERROR_INVALID_IMAGE;
    }
    return parse_ptx(static_cast<const char*>(image), out, why);
}

}  // namespace standin
