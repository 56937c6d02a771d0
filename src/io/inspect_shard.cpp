// `pbtnas inspect shard_NNN.h5`: the members a worker wrote in one generation.
#include <cstdio>
#include <filesystem>

#include "pbtnas/index/file_util.hpp"
#include "pbtnas/index/h5_util.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/io/inspect.hpp"
#include "pbtnas/io/member_shard.hpp"

namespace pbtnas::io {

void inspect_shard(const std::string& path, std::ostream& out) {
  h5::Lock lock(h5::library_mutex());
  std::int64_t generation = 0, rank = 0, version = 0;
  std::vector<std::string> groups;
  {
    h5::Handle file = detail::open_checkpoint(path, kShardFormat);
    try {
      generation = h5::read_attr_int64(file, "generation");
      rank = h5::read_attr_int64(file, "rank");
      version = h5::read_attr_int64(file, "format_version");
      if (version >= 2) {  // members as columns
        for (std::int64_t id : h5::read_vector<std::int64_t>(file, "member_ids"))
          groups.push_back(member_group_name(static_cast<int>(id)));
      } else {  // a group per member
        H5G_info_t info;
        h5::check(H5Gget_info(file, &info), "cannot list the groups");
        for (hsize_t i = 0; i < info.nlinks; ++i) {
          char name[256] = {};
          if (H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) > 0)
            groups.emplace_back(name);
        }
      }
    } catch (const h5::Failure& e) {
      throw CheckpointError(path + " is damaged or incomplete (" + std::string(e.what()) + ")" +
                            detail::damaged_file_advice(path));
    }
  }
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  out << "pbtnas shard file  " << path << "\n";
  out << "  generation " << generation << "   written by worker rank " << rank << "   " << groups.size()
      << " members   format version " << version << "\n\n";
  out << "     id  tensors  last fitness  architecture\n";
  MemberReader reader(dir.string(), /*check_crc=*/false);  // checked by open_checkpoint above
  for (const auto& g : groups) {
    if (g.rfind("member_", 0) != 0 || g.size() == 7 || g.find_first_not_of("0123456789", 7) != std::string::npos)
      continue;  // not a member's group
    const int id = std::stoi(g.substr(7));
    const MemberFile m = reader.read({id, std::filesystem::path(path).filename().string(), g}, false);
    char row[64];
    std::snprintf(row, sizeof row, "  %5d  %7zu  %12.6g  ", m.id, m.state.size(),
                  m.fitness.empty() ? 0.0 : m.fitness.back());
    out << row;
    for (std::size_t i = 0; i < m.genome_options.size(); ++i) out << (i ? " " : "") << m.genome_options[i];
    out << "\n";
  }
  out << "\n(pbtnas inspect [--tensors] " << (dir / "member_NNN.h5").string()
      << " shows one member's tensors, read from this shard)\n";
}

}  // namespace pbtnas::io
