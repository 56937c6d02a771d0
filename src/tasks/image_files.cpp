#include "pbtnas/tasks/image_files.hpp"

#include <stb/stb_image.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace pbtnas {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& msg) { throw std::runtime_error(msg); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

// ---- .npy ----

struct NpyHeader {
  ElementType type = ElementType::U8;
  bool big_endian = false;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;
};

// The value text of key `key` in the header's Python dict literal.
std::string dict_value(const std::string& header, const std::string& key, const std::string& origin) {
  const std::size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) fail("NumPy data: " + origin + " has no '" + key + "' in its header; write it with np.save");
  std::size_t v = header.find(':', k);
  if (v == std::string::npos) fail("NumPy data: " + origin + " has a damaged header; write it again with np.save");
  ++v;
  while (v < header.size() && header[v] == ' ') ++v;
  std::size_t end = v;
  if (v < header.size() && header[v] == '(') {
    end = header.find(')', v);
    if (end == std::string::npos) fail("NumPy data: " + origin + " has a damaged header; write it again with np.save");
    ++end;
  } else if (v < header.size() && header[v] == '\'') {
    end = header.find('\'', v + 1);
    if (end == std::string::npos) fail("NumPy data: " + origin + " has a damaged header; write it again with np.save");
    ++end;
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  }
  return header.substr(v, end - v);
}

NpyHeader parse_header(const unsigned char* p, std::size_t n, const std::string& origin) {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (n < 10 || std::memcmp(p, magic, 6) != 0)
    fail("NumPy data: " + origin + " is not a .npy array (no \\x93NUMPY magic); write it with np.save or np.savez");
  const int major = p[6];
  std::size_t len = 0, start = 0;
  if (major == 1) {
    len = p[8] | (std::size_t(p[9]) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (n < 12) fail("NumPy data: " + origin + " is truncated; write it again");
    len = p[8] | (std::size_t(p[9]) << 8) | (std::size_t(p[10]) << 16) | (std::size_t(p[11]) << 24);
    start = 12;
  } else {
    fail("NumPy data: " + origin + " has .npy format version " + std::to_string(major) +
         "; versions 1 to 3 are read: write it with a current NumPy's np.save");
  }
  if (start + len > n) fail("NumPy data: " + origin + " is truncated in its header; write it again");
  const std::string header(reinterpret_cast<const char*>(p + start), len);
  NpyHeader h;
  h.data_offset = start + len;
  std::string descr = dict_value(header, "descr", origin);
  if (descr.size() < 4 || descr.front() != '\'')
    fail("NumPy data: " + origin + " has dtype " + descr + "; expected a plain numeric dtype (uint8, float32, int64, ...)");
  descr = descr.substr(1, descr.size() - 2);
  const char order = descr[0], kind = descr[1];
  const std::string bytes = descr.substr(2);
  h.big_endian = order == '>';
  const std::string code = std::string(1, kind) + bytes;
  if (code == "u1") h.type = ElementType::U8;
  else if (code == "i1") h.type = ElementType::I8;
  else if (code == "u2") h.type = ElementType::U16;
  else if (code == "i2") h.type = ElementType::I16;
  else if (code == "u4") h.type = ElementType::U32;
  else if (code == "i4") h.type = ElementType::I32;
  else if (code == "u8") h.type = ElementType::U64;
  else if (code == "i8") h.type = ElementType::I64;
  else if (code == "f4") h.type = ElementType::F32;
  else if (code == "f8") h.type = ElementType::F64;
  else
    fail("NumPy data: " + origin + " has dtype '" + descr +
         "'; expected an integer or float32/float64 array: convert it, e.g. x.astype('uint8') or y.astype('int64')");
  if (dict_value(header, "fortran_order", origin).rfind("False", 0) != 0)
    fail("NumPy data: " + origin + " is stored in Fortran order; save np.ascontiguousarray(x) instead");
  const std::string shape = dict_value(header, "shape", origin);
  std::string num;
  for (char c : shape) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      num += c;
    } else if (!num.empty()) {
      h.shape.push_back(std::stoll(num));
      num.clear();
    }
  }
  if (h.shape.empty()) fail("NumPy data: " + origin + " holds a scalar; expected one row per image or label");
  return h;
}

RawArray array_of(const NpyHeader& h, const unsigned char* data, std::size_t available, const std::string& origin,
                  std::int64_t limit) {
  RawArray a;
  a.origin = origin;
  a.type = h.type;
  a.shape = h.shape;
  a.stored_rows = h.shape[0];
  if (limit > 0 && limit < a.shape[0]) a.shape[0] = limit;
  std::size_t count = 1;
  for (auto d : a.shape) count *= static_cast<std::size_t>(d);
  const std::size_t size = element_size(a.type);
  if (count * size > available)
    fail("NumPy data: " + origin + " is truncated (" + std::to_string(available) + " data bytes, the shape " +
         shape_text(h.shape) + " needs more); write it again");
  a.bytes.assign(data, data + count * size);
  if (h.big_endian && size > 1)
    for (std::size_t i = 0; i < count; ++i) std::reverse(a.bytes.begin() + i * size, a.bytes.begin() + (i + 1) * size);
  return a;
}

std::vector<unsigned char> read_range(std::ifstream& f, std::uint64_t offset, std::size_t n, const std::string& path) {
  std::vector<unsigned char> out(n);
  f.clear();
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n));
  if (static_cast<std::size_t>(f.gcount()) != n) fail("NumPy data: " + path + " is truncated; write it again");
  return out;
}

std::uint32_t le16(const unsigned char* p) { return p[0] | (std::uint32_t(p[1]) << 8); }
std::uint32_t le32(const unsigned char* p) {
  return p[0] | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}
std::uint64_t le64(const unsigned char* p) { return le32(p) | (std::uint64_t(le32(p + 4)) << 32); }

std::ifstream open_or_fail(const std::string& path, const std::string& what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(what + ": cannot open " + path + "; check classify.data.train / test and classify.data.dir");
  return f;
}

}  // namespace

RawArray parse_npy(const std::vector<unsigned char>& bytes, const std::string& origin, std::int64_t limit) {
  const NpyHeader h = parse_header(bytes.data(), bytes.size(), origin);
  return array_of(h, bytes.data() + h.data_offset, bytes.size() - h.data_offset, origin, limit);
}

RawArray read_npy(const std::string& path, std::int64_t limit) {
  std::ifstream f = open_or_fail(path, "NumPy data");
  f.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(f.tellg());
  const std::vector<unsigned char> head = read_range(f, 0, std::min<std::size_t>(size, 65536 + 12), path);
  const NpyHeader h = parse_header(head.data(), head.size(), path);
  std::size_t count = 1;
  for (std::size_t i = 1; i < h.shape.size(); ++i) count *= static_cast<std::size_t>(h.shape[i]);
  const std::int64_t rows = limit > 0 ? std::min(limit, h.shape[0]) : h.shape[0];
  const std::size_t want = std::min(size - h.data_offset, count * static_cast<std::size_t>(rows) * element_size(h.type));
  const std::vector<unsigned char> data = read_range(f, h.data_offset, want, path);
  return array_of(h, data.data(), data.size(), path, limit);
}

RawArray read_npz(const std::string& path, const std::string& name, std::int64_t limit) {
  const std::string member = name + ".npy";
  std::ifstream f = open_or_fail(path, "NumPy data");
  f.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(f.tellg());
  const std::size_t tail_n = static_cast<std::size_t>(std::min<std::uint64_t>(size, 65535 + 22));
  const std::vector<unsigned char> tail = read_range(f, size - tail_n, tail_n, path);
  std::size_t eocd = std::string::npos;
  for (std::size_t i = tail_n >= 22 ? tail_n - 22 + 1 : 0; i-- > 0;)
    if (le32(&tail[i]) == 0x06054b50) { eocd = i; break; }
  if (eocd == std::string::npos)
    fail("NumPy data: " + path + " is not a .npz (zip) archive; write it with np.savez(path, images=x, labels=y)");
  std::uint64_t cd_size = le32(&tail[eocd + 12]), cd_offset = le32(&tail[eocd + 16]);
  std::uint64_t entries = le16(&tail[eocd + 10]);
  if ((cd_offset == 0xFFFFFFFFu || entries == 0xFFFF) && eocd >= 20 && le32(&tail[eocd - 20]) == 0x07064b50) {
    const std::uint64_t z64 = le64(&tail[eocd - 20 + 8]);  // zip64 end of central directory record
    const std::vector<unsigned char> rec = read_range(f, z64, 56, path);
    entries = le64(&rec[32]);
    cd_size = le64(&rec[40]);
    cd_offset = le64(&rec[48]);
  }
  const std::vector<unsigned char> cd = read_range(f, cd_offset, static_cast<std::size_t>(cd_size), path);
  std::vector<std::string> names;
  std::size_t p = 0;
  for (std::uint64_t e = 0; e < entries && p + 46 <= cd.size(); ++e) {
    if (le32(&cd[p]) != 0x02014b50) fail("NumPy data: " + path + " has a damaged zip directory; write it again");
    const std::uint32_t method = le16(&cd[p + 10]);
    std::uint64_t csize = le32(&cd[p + 20]), usize = le32(&cd[p + 24]), local = le32(&cd[p + 42]);
    const std::size_t nlen = le16(&cd[p + 28]), xlen = le16(&cd[p + 30]), clen = le16(&cd[p + 32]);
    const std::string entry(reinterpret_cast<const char*>(&cd[p + 46]), nlen);
    // zip64 sizes and offset (extra field 0x0001, only the fields whose 32-bit value is all ones)
    for (std::size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
      const std::uint32_t id = le16(&cd[x]), len = le16(&cd[x + 2]);
      if (id == 1) {
        std::size_t q = x + 4;
        if (usize == 0xFFFFFFFFu) { usize = le64(&cd[q]); q += 8; }
        if (csize == 0xFFFFFFFFu) { csize = le64(&cd[q]); q += 8; }
        if (local == 0xFFFFFFFFu) { local = le64(&cd[q]); }
      }
      x += 4 + len;
    }
    p += 46 + nlen + xlen + clen;
    names.push_back(entry);
    if (entry != member) continue;
    const std::vector<unsigned char> lh = read_range(f, local, 30, path);
    if (le32(lh.data()) != 0x04034b50) fail("NumPy data: " + path + " has a damaged zip entry " + entry + "; write it again");
    const std::uint64_t data_at = local + 30 + le16(&lh[26]) + le16(&lh[28]);
    std::vector<unsigned char> raw = read_range(f, data_at, static_cast<std::size_t>(csize), path);
    const std::string origin = path + ":" + name;
    if (method == 0) return parse_npy(raw, origin, limit);
    if (method != 8)
      fail("NumPy data: " + origin + " is compressed with zip method " + std::to_string(method) +
           "; write the archive with np.savez or np.savez_compressed");
    std::vector<unsigned char> out(static_cast<std::size_t>(usize));
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("NumPy data: zlib could not start for " + origin);
    z.next_in = raw.data();
    z.avail_in = static_cast<uInt>(raw.size());  // npz members of > 4 GiB compressed are not supported
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    if (rc != Z_STREAM_END) fail("NumPy data: " + origin + " is damaged (deflate stream); write the archive again");
    return parse_npy(out, origin, limit);
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  fail("NumPy data: " + path + " has no array '" + name + "' (it holds: " + (list.empty() ? "nothing" : list) +
       "); save it as np.savez(path, " + name + "=...), or set classify.data.images_key / labels_key");
}

torch::Tensor images_from_array(const RawArray& a, const std::string& layout) {
  const auto& s = a.shape;
  if (s.size() != 3 && s.size() != 4)
    fail("image data: " + a.origin + " has shape " + shape_text(s) +
         "; expected N x H x W, N x H x W x C or N x C x H x W images");
  bool nhwc = false;
  if (s.size() == 4) {
    if (layout == "nhwc") {
      nhwc = true;
    } else if (layout == "nchw") {
      nhwc = false;
    } else if (s[3] <= 4 && s[1] > 4) {
      nhwc = true;
    } else if (s[1] <= 4 && s[3] > 4) {
      nhwc = false;
    } else {
      fail("image data: " + a.origin + " has shape " + shape_text(s) +
           ", which does not say where the channels are; set classify.data.layout to nhwc or nchw");
    }
  }
  std::vector<std::int64_t> sizes(s.begin(), s.end());
  torch::ScalarType st = torch::kUInt8;
  switch (a.type) {
    case ElementType::U8: st = torch::kUInt8; break;
    case ElementType::I8: st = torch::kInt8; break;
    case ElementType::I16: st = torch::kInt16; break;
    case ElementType::I32: st = torch::kInt32; break;
    case ElementType::I64: st = torch::kInt64; break;
    case ElementType::F32: st = torch::kFloat32; break;
    case ElementType::F64: st = torch::kFloat64; break;
    case ElementType::U16:
    case ElementType::U32:
    case ElementType::U64:
      st = torch::kInt64;
      break;
  }
  torch::Tensor t;
  if (a.type == ElementType::U16 || a.type == ElementType::U32 || a.type == ElementType::U64) {
    // torch 1.13 has no unsigned types above 8 bits: widen through int64 (values are pixels).
    const std::size_t n = a.bytes.size() / element_size(a.type);
    t = torch::empty({static_cast<std::int64_t>(n)}, torch::kInt64);
    auto* out = t.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned char* p = a.bytes.data() + i * element_size(a.type);
      std::uint64_t v = 0;
      std::memcpy(&v, p, element_size(a.type));  // little-endian host
      out[i] = static_cast<std::int64_t>(v);
    }
    t = t.view(sizes);
  } else {
    t = torch::empty(sizes, st);
    if (!a.bytes.empty()) std::memcpy(t.data_ptr(), a.bytes.data(), a.bytes.size());
  }
  if (s.size() == 3) t = t.unsqueeze(1);
  else if (nhwc) t = t.permute({0, 3, 1, 2});
  if (st != torch::kUInt8) t = t.to(torch::kFloat32);
  return t.contiguous();
}

torch::Tensor labels_from_array(const RawArray& a) {
  if (!is_integer(a.type))
    fail("label data: " + a.origin + " holds " + element_name(a.type) +
         " values; labels must be integers 0 .. classes-1: write y.astype('int64')");
  if (!(a.shape.size() == 1 || (a.shape.size() == 2 && a.shape[1] == 1)))
    fail("label data: " + a.origin + " has shape " + shape_text(a.shape) +
         "; expected one integer label per image (shape N), not one-hot rows: write y.argmax(1)");
  torch::Tensor t = torch::empty({a.shape[0]}, torch::kInt64);
  auto* out = t.data_ptr<std::int64_t>();
  const std::size_t size = element_size(a.type);
  const bool is_signed = a.type == ElementType::I8 || a.type == ElementType::I16 || a.type == ElementType::I32 ||
                         a.type == ElementType::I64;
  for (std::int64_t i = 0; i < a.shape[0]; ++i) {
    const unsigned char* p = a.bytes.data() + static_cast<std::size_t>(i) * size;
    std::uint64_t v = 0;
    std::memcpy(&v, p, size);
    std::int64_t x = static_cast<std::int64_t>(v);
    if (is_signed && size < 8 && (v >> (8 * size - 1)) & 1) x = static_cast<std::int64_t>(v | (~std::uint64_t{0} << (8 * size)));
    if (x < 0)
      fail("label data: " + a.origin + " holds the negative label " + std::to_string(x) + " at row " +
           std::to_string(i) + "; labels must be 0 .. classes-1");
    out[i] = x;
  }
  return t;
}

ImageFolderSet read_image_folder(const std::string& root, std::int64_t limit, const std::vector<std::string>* classes) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    fail("image folder: " + root + " is not a folder; set classify.data.train / test to a folder root/CLASS/*.png");
  std::vector<std::string> dirs;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && name[0] != '.' && e.is_directory()) dirs.push_back(name);
  }
  std::sort(dirs.begin(), dirs.end());
  if (dirs.empty())
    fail("image folder: " + root + " has no class folders; put the images of each class in root/CLASS/ "
         "(e.g. " + root + "/cat/0001.png)");
  ImageFolderSet out;
  out.class_names = classes ? *classes : dirs;
  std::vector<std::vector<std::string>> files(dirs.size());
  std::vector<std::int64_t> label_of(dirs.size());
  for (std::size_t c = 0; c < dirs.size(); ++c) {
    const auto it = std::find(out.class_names.begin(), out.class_names.end(), dirs[c]);
    if (it == out.class_names.end())
      fail("image folder: " + root + "/" + dirs[c] + " is a class the training folder does not have; the test "
           "folder's classes must be training classes: rename or remove it");
    label_of[c] = it - out.class_names.begin();
    for (const auto& e : fs::directory_iterator(fs::path(root) / dirs[c], ec)) {
      const std::string ext = lower(e.path().extension().string());
      const std::string name = e.path().filename().string();
      if (name.empty() || name[0] == '.' || !e.is_regular_file()) continue;
      if (ext == ".png" || ext == ".jpg" || ext == ".jpeg") files[c].push_back(e.path().string());
    }
    std::sort(files[c].begin(), files[c].end());
    if (files[c].empty())
      fail("image folder: the class folder " + root + "/" + dirs[c] +
           " holds no .png or .jpg images; add images or remove the folder");
  }
  // Round-robin over the classes, so that a limit keeps every class.
  std::vector<std::pair<std::size_t, std::size_t>> order;
  for (std::size_t r = 0;; ++r) {
    bool any = false;
    for (std::size_t c = 0; c < dirs.size(); ++c)
      if (r < files[c].size()) {
        order.emplace_back(c, r);
        any = true;
      }
    if (!any) break;
  }
  if (limit > 0 && static_cast<std::size_t>(limit) < order.size()) order.resize(static_cast<std::size_t>(limit));
  int w0 = 0, h0 = 0, channels = 1;
  std::string first;
  for (const auto& [c, r] : order) {
    const std::string& path = files[c][r];
    int w = 0, h = 0, comp = 0;
    if (!stbi_info(path.c_str(), &w, &h, &comp))
      fail("image folder: " + path + " cannot be decoded (" + stbi_failure_reason() +
           "); replace the file or remove it");
    if (first.empty()) {
      first = path;
      w0 = w;
      h0 = h;
    } else if (w != w0 || h != h0) {
      fail("image folder: " + path + " is " + std::to_string(w) + "x" + std::to_string(h) + " but " + first + " is " +
           std::to_string(w0) + "x" + std::to_string(h0) + "; all images must have one size: resize them first "
           "(e.g. mogrify -resize " + std::to_string(w0) + "x" + std::to_string(h0) + "! */*.png)");
    }
    channels = std::max(channels, comp);
  }
  const auto n = static_cast<std::int64_t>(order.size());
  out.images = torch::empty({n, h0, w0, channels}, torch::kUInt8);
  out.labels = torch::empty({n}, torch::kInt64);
  const std::size_t per_image = static_cast<std::size_t>(w0) * h0 * channels;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto [c, r] = order[static_cast<std::size_t>(i)];
    const std::string& path = files[c][r];
    int w = 0, h = 0, comp = 0;
    std::unique_ptr<unsigned char, void (*)(void*)> px(stbi_load(path.c_str(), &w, &h, &comp, channels), stbi_image_free);
    if (!px) fail("image folder: " + path + " cannot be decoded (" + stbi_failure_reason() + "); replace the file or remove it");
    std::memcpy(out.images.data_ptr<std::uint8_t>() + static_cast<std::size_t>(i) * per_image, px.get(), per_image);
    out.labels[i] = label_of[c];
    out.files.push_back(path);
  }
  out.images = out.images.permute({0, 3, 1, 2}).contiguous();
  return out;
}

}  // namespace pbtnas
