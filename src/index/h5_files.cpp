// HDF5 files: opening, creating (on disk or in memory) and taking an in-memory file's image
// (h5_util.hpp, "Files").
#include <cstdint>
#include <cstring>

#include "pbtnas/index/h5_util.hpp"

// Exported by libhdf5 (since 1.8.7) but declared only in its private headers.
extern "C" std::uint32_t H5_checksum_metadata(const void* data, std::size_t len, std::uint32_t initval);

namespace pbtnas::io::h5 {

namespace {
Handle file_access_plist() {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "cannot create a property list");
#if H5_VERSION_GE(1, 10, 7)
  check(H5Pset_file_locking(fapl, false, true), "cannot disable file locking");
#endif
  // The 1.8 file format: compact groups (much smaller files for many small tensors); readable
  // by HDF5 >= 1.8 and every h5py.
  check(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18), "cannot set the format");
  return fapl;
}
}  // namespace

Handle open_file_read(const std::string& path) {
  silence_errors();
  Handle fapl = file_access_plist();
  return Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose, "cannot open as HDF5");
}

namespace {
// Creates (truncating) `name` with file access list `fapl`, no object timestamps and a user block
// of `userblock` bytes.
Handle create_with(const std::string& name, hsize_t userblock, hid_t fapl) {
  Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose, "cannot create a property list");
  check(H5Pset_obj_track_times(fcpl, false), "cannot configure the file");
  if (userblock > 0) check(H5Pset_userblock(fcpl, userblock), "cannot reserve the user block");
  return Handle(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, fcpl, fapl), H5Fclose, "cannot create");
}
}  // namespace

Handle create_file(const std::string& path, hsize_t userblock) {
  silence_errors();
  Handle fapl = file_access_plist();
  return create_with(path, userblock, fapl);
}

Handle create_memory_file(const std::string& name, hsize_t userblock, std::size_t increment) {
  silence_errors();
  Handle fapl = file_access_plist();
  check(H5Pset_fapl_core(fapl, increment, false), "cannot configure an in-memory file");
  return create_with(name, userblock, fapl);
}

namespace {
// HDF5 1.10's H5Fget_file_image clears the "open for writing" flag of a version 2/3 superblock
// in the image it returns but leaves the superblock's checksum as it was computed with the flag
// set, so the image fails to open ("incorrect metadata checksum"). Here the flags are cleared
// (as in a closed file) and the checksum recomputed with HDF5's own metadata checksum (Jenkins
// lookup3), which the library exports; on an image that is already right this changes nothing.
void repair_superblock_checksum(char* image, std::size_t n) {
  static const unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (n < 12 || std::memcmp(image, kSignature, 8) != 0) fail("the file image has no HDF5 superblock");
  const int version = static_cast<unsigned char>(image[8]);
  if (version < 2) return;  // versions 0 and 1 carry no checksum
  const std::size_t offsets = static_cast<unsigned char>(image[9]);
  const std::size_t body = 12 + 4 * offsets;  // signature, version, sizes, flags, four addresses
  if (n < body + 4) fail("the file image's superblock is truncated");
  image[11] = 0;  // file consistency flags: none, as in a closed file
  const std::uint32_t sum = H5_checksum_metadata(image, body, 0);
  for (int i = 0; i < 4; ++i) image[body + i] = static_cast<char>((sum >> (8 * i)) & 0xff);
}
}  // namespace

std::vector<char> file_image(hid_t file, std::size_t front) {
  check(H5Fflush(file, H5F_SCOPE_LOCAL), "cannot flush the file");
  const ssize_t n = H5Fget_file_image(file, nullptr, 0);
  if (n < 0) fail("cannot take the file's image");
  std::vector<char> image(front + static_cast<std::size_t>(n));
  if (H5Fget_file_image(file, image.data() + front, static_cast<std::size_t>(n)) != n)
    fail("cannot take the file's image");
  repair_superblock_checksum(image.data() + front, static_cast<std::size_t>(n));
  return image;
}

}  // namespace pbtnas::io::h5
