#include "pbtnas/util/raw_array.hpp"

#include <atomic>

namespace pbtnas {

std::size_t element_size(ElementType t) {
  switch (t) {
    case ElementType::U8:
    case ElementType::I8:
      return 1;
    case ElementType::U16:
    case ElementType::I16:
      return 2;
    case ElementType::U32:
    case ElementType::I32:
    case ElementType::F32:
      return 4;
    case ElementType::U64:
    case ElementType::I64:
    case ElementType::F64:
      return 8;
  }
  return 1;
}

bool is_integer(ElementType t) { return t != ElementType::F32 && t != ElementType::F64; }

const char* element_name(ElementType t) {
  switch (t) {
    case ElementType::U8: return "uint8";
    case ElementType::I8: return "int8";
    case ElementType::U16: return "uint16";
    case ElementType::I16: return "int16";
    case ElementType::U32: return "uint32";
    case ElementType::I32: return "int32";
    case ElementType::U64: return "uint64";
    case ElementType::I64: return "int64";
    case ElementType::F32: return "float32";
    case ElementType::F64: return "float64";
  }
  return "?";
}

namespace {
std::atomic<ArrayFileReader> g_hdf5_reader{nullptr};
}

void set_hdf5_array_reader(ArrayFileReader reader) { g_hdf5_reader.store(reader); }
ArrayFileReader hdf5_array_reader() { return g_hdf5_reader.load(); }

}  // namespace pbtnas
