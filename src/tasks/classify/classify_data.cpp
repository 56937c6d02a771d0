#include "pbtnas/tasks/classify/classify_data.hpp"

#include <cmath>
#include <stdexcept>

#include "pbtnas/tasks/cifar10.hpp"
#include "pbtnas/tasks/classify/classify.hpp"
#include "pbtnas/tasks/idx.hpp"
#include "pbtnas/tasks/image_files.hpp"
#include "pbtnas/tasks/node_cache.hpp"
#include "pbtnas/util/paths.hpp"
#include "pbtnas/util/raw_array.hpp"

namespace pbtnas::classify {
namespace {

[[noreturn]] void fail(const std::string& msg) { throw std::runtime_error("classify task: " + msg); }

std::string shape_text(const torch::Tensor& x) {
  return std::to_string(x.size(1)) + " x " + std::to_string(x.size(2)) + " x " + std::to_string(x.size(3)) +
         " (channels x height x width)";
}

struct Part {
  torch::Tensor x, y;
  std::vector<std::string> inputs, class_names;
  std::string origin, labels_origin;
};

Part from_arrays(const RawArray& images, const RawArray& labels, const std::string& layout) {
  if (images.stored_rows != labels.stored_rows)
    fail(images.origin + " holds " + std::to_string(images.stored_rows) + " images but " + labels.origin + " holds " +
         std::to_string(labels.stored_rows) + " labels; write one label per image");
  Part p;
  p.x = images_from_array(images, layout);
  p.y = labels_from_array(labels);
  p.origin = images.origin;
  p.labels_origin = labels.origin;
  return p;
}

Part read_part(const DataConfig& d, const std::string& file, std::int64_t limit,
               const std::vector<std::string>* classes) {
  const std::string path = join_path(d.dir, file);
  Part p;
  if (d.format == "hdf5") {
    const ArrayFileReader read = hdf5_array_reader();
    if (!read)
      throw std::logic_error("classify task: no HDF5 reader is installed; a program that reads HDF5 data sets calls "
                             "io::install_hdf5_array_reader() first");
    p = from_arrays(read(path, d.images_key, limit), read(path, d.labels_key, limit), d.layout);
  } else if (d.format == "numpy") {
    if (is_directory(path)) {
      p = from_arrays(read_npy(join_path(path, d.images_key + ".npy"), limit),
                      read_npy(join_path(path, d.labels_key + ".npy"), limit), d.layout);
      p.inputs = {join_path(path, d.images_key + ".npy"), join_path(path, d.labels_key + ".npy")};
      return p;
    }
    if (!is_regular_file(path))
      fail(path + " does not exist; format numpy reads a .npz file or a folder holding " + d.images_key + ".npy and " +
           d.labels_key + ".npy: check classify.data.train / test");
    p = from_arrays(read_npz(path, d.images_key, limit), read_npz(path, d.labels_key, limit), d.layout);
  } else {  // folder
    ImageFolderSet f = read_image_folder(path, limit, classes);
    p.x = f.images;
    p.y = f.labels;
    p.class_names = f.class_names;
    p.origin = p.labels_origin = path;
    p.inputs = std::move(f.files);
    return p;
  }
  p.inputs = {path};
  return p;
}

}  // namespace

ClassifyData load_classify_data(const DataConfig& d, bool pixels) {
  ClassifyData out;
  if (d.format == "idx") {
    const std::string ti = join_path(d.dir, d.train_images), tl = join_path(d.dir, d.train_labels);
    const std::string vi = join_path(d.dir, d.test_images), vl = join_path(d.dir, d.test_labels);
    IdxImages train = read_idx_images(ti, tl, d.train_limit, pixels);
    IdxImages test = read_idx_images(vi, vl, d.test_limit, pixels);
    if (pixels) {
      out.train_x = train.images.unsqueeze(1);
      out.test_x = test.images.unsqueeze(1);
    } else {  // shape only; the pixels are read if a cache misses them
      const auto placeholder = [](const std::vector<std::int64_t>& shape) {
        return torch::zeros({1}, torch::kUInt8).expand({shape[0], shape[1], shape[2]}).unsqueeze(1);
      };
      out.train_x = placeholder(train.shape);
      out.test_x = placeholder(test.shape);
      const std::int64_t train_limit = d.train_limit, test_limit = d.test_limit;
      out.read_train_x = [ti, train_limit] { return read_idx(ti, kIdxImagesMagic, train_limit).data.unsqueeze(1); };
      out.read_test_x = [vi, test_limit] { return read_idx(vi, kIdxImagesMagic, test_limit).data.unsqueeze(1); };
    }
    out.train_y = train.labels.to(torch::kInt64);
    out.test_y = test.labels.to(torch::kInt64);
    out.train_inputs = {ti};
    out.test_inputs = {vi};
    out.train_origin = ti;
    out.test_origin = vi;
    out.train_labels_origin = tl;
    out.test_labels_origin = vl;
    out.classes = d.classes > 0 ? d.classes : kClassifyClasses;
  } else if (d.format == "cifar10") {
    Cifar10Data train = read_cifar10_train(d.dir, d.train_limit);
    Cifar10Data test = read_cifar10_test(d.dir, d.test_limit);
    out.train_x = train.images;
    out.test_x = test.images;
    out.train_y = train.labels.to(torch::kInt64);
    out.test_y = test.labels.to(torch::kInt64);
    out.train_inputs = cifar10_train_paths(d.dir);
    out.test_inputs = {join_path(d.dir, "test_batch.bin")};
    out.train_origin = d.dir + "/data_batch_*.bin";
    out.test_origin = out.test_inputs[0];
    out.train_labels_origin = out.train_origin;
    out.test_labels_origin = out.test_origin;
    out.classes = d.classes > 0 ? d.classes : static_cast<int>(kCifar10Classes);
  } else {
    Part train = read_part(d, d.train, d.train_limit, nullptr);
    out.train_x = train.x;
    out.train_y = train.y;
    out.train_inputs = train.inputs;
    out.train_origin = train.origin;
    out.train_labels_origin = train.labels_origin;
    out.class_names = train.class_names;
    if (!d.test.empty()) {
      Part test = read_part(d, d.test, d.test_limit, train.class_names.empty() ? nullptr : &train.class_names);
      out.test_x = test.x;
      out.test_y = test.y;
      out.test_inputs = test.inputs;
      out.test_origin = test.origin;
      out.test_labels_origin = test.labels_origin;
    } else {
      out.separate_test = false;
    }
    if (d.classes > 0) {
      out.classes = d.classes;
    } else if (!out.class_names.empty()) {
      out.classes = static_cast<int>(out.class_names.size());
    } else {
      std::int64_t top = out.train_y.numel() > 0 ? out.train_y.max().item<std::int64_t>() : 0;
      if (out.separate_test && out.test_y.numel() > 0) top = std::max(top, out.test_y.max().item<std::int64_t>());
      out.classes = static_cast<int>(top + 1);
    }
    if (!out.class_names.empty() && d.classes > 0 && d.classes != static_cast<int>(out.class_names.size()))
      fail(out.train_origin + " has " + std::to_string(out.class_names.size()) + " class folders but classify.data.classes is " +
           std::to_string(d.classes) + "; leave classes at 0 (from the folders) or fix the folders");
  }
  if (out.train_x.size(0) < 1) fail(out.train_origin + " holds no images; point classify.data at a non-empty training set");
  if (out.separate_test && out.test_x.size(0) < 1)
    fail(out.test_origin + " holds no images; point classify.data at a non-empty test set");
  if (out.classes < 2)
    fail(out.train_origin + " has only one class (labels all 0); a classifier needs at least 2: check the labels or "
         "set classify.data.classes");
  const auto check_labels = [&](const torch::Tensor& y, const std::string& origin) {
    if (y.numel() == 0) return;
    const std::int64_t top = y.max().item<std::int64_t>();
    if (top >= out.classes)
      fail(origin + " holds the label " + std::to_string(top) + " but the task has " + std::to_string(out.classes) +
           " classes (0 .. " + std::to_string(out.classes - 1) + "); " +
           (d.format == "idx" || d.format == "cifar10"
                ? std::string("this format is read as 10-class: set classify.data.classes to the number of classes")
                : std::string("fix the labels, or set classify.data.classes to 0 (from the data) or the right count")));
  };
  check_labels(out.train_y, out.train_labels_origin);
  if (out.separate_test) {
    check_labels(out.test_y, out.test_labels_origin);
    if (out.train_x.sizes().slice(1) != out.test_x.sizes().slice(1))
      fail(out.train_origin + " holds images of " + shape_text(out.train_x) + " but " + out.test_origin + " holds " +
           shape_text(out.test_x) + "; use training and test images of one size and channel count");
  }
  if (out.class_names.empty())
    for (int c = 0; c < out.classes; ++c) out.class_names.push_back(std::to_string(c));
  return out;
}

InputNormalisation input_normalisation(const DataConfig& d, const ClassifyData& data, const std::string& cache_dir) {
  InputNormalisation n;
  const torch::Tensor& x = data.train_x;
  n.scale = x.scalar_type() == torch::kUInt8 ? 1.0 / 255.0 : 1.0;
  if (d.format == "idx") {
    n.fixed = true;
    n.mean.assign(static_cast<std::size_t>(x.size(1)), kFashionMnistMean);
    n.std.assign(static_cast<std::size_t>(x.size(1)), kFashionMnistStd);
    return n;
  }
  const auto compute = [&] {
    const std::int64_t c = x.size(1);
    torch::Tensor sum = torch::zeros({c}, torch::kFloat64), sq = torch::zeros({c}, torch::kFloat64);
    for (std::int64_t b = 0; b < x.size(0); b += 1024) {
      const torch::Tensor v = x.slice(0, b, std::min(x.size(0), b + 1024)).to(torch::kFloat64).mul_(n.scale);
      sum += v.sum({0, 2, 3});
      sq += v.pow(2).sum({0, 2, 3});
    }
    const double count = static_cast<double>(x.size(0) * x.size(2) * x.size(3));
    const torch::Tensor mean = sum / count;
    const torch::Tensor var = (sq / count - mean * mean).clamp_min(0.0);
    return torch::stack({mean, var.sqrt()}).contiguous();
  };
  torch::Tensor stats;
  if (cache_dir.empty()) {
    stats = compute();
  } else {
    const std::string key = cache_fingerprint(
        {"classify-stats-v1", d.format, d.layout, d.images_key, d.labels_key, std::to_string(d.train_limit),
         std::to_string(x.size(0))},
        data.train_inputs);
    stats = node_shared_tensor(cache_dir, "pbtnas-classify-stats-" + key + ".tensor", compute);
    if (stats.dim() != 2 || stats.size(0) != 2 || stats.size(1) != x.size(1))
      fail("the cached statistics " + cache_dir + "/pbtnas-classify-stats-" + key + ".tensor do not match " +
           data.train_origin + "; delete the file");
  }
  for (std::int64_t c = 0; c < x.size(1); ++c) {
    n.mean.push_back(stats[0][c].item<double>());
    const double s = stats[1][c].item<double>();
    n.std.push_back(s > 1e-12 && std::isfinite(s) ? s : 1.0);
  }
  return n;
}

torch::Tensor normalise_images(const torch::Tensor& images, const InputNormalisation& n) {
  if (n.fixed && images.size(1) == 1)  // exactly the historical arithmetic of format idx
    return images.to(torch::kFloat32).div_(255.0).sub_(n.mean[0]).div_(n.std[0]).contiguous();
  const auto c = images.size(1);
  const torch::Tensor mean = torch::tensor(n.mean, torch::kFloat64).to(torch::kFloat32).view({1, c, 1, 1});
  const torch::Tensor std = torch::tensor(n.std, torch::kFloat64).to(torch::kFloat32).view({1, c, 1, 1});
  torch::Tensor x = images.to(torch::kFloat32);
  if (n.scale != 1.0) x = x.mul_(static_cast<float>(n.scale));
  return x.sub_(mean).div_(std).contiguous();
}

}  // namespace pbtnas::classify
