#include "pbtnas/tasks/classify/classify_options.hpp"

#include "pbtnas/core/config_section.hpp"

#include <stdexcept>
#include <vector>

namespace pbtnas::classify {

void ClassifyOptions::validate() const {
  const std::string w = "an integer in [1, " + std::to_string(kMaxWidth) + "]";
  check_range("classify.channels", channels, 1, kMaxWidth, w);
  check_range("classify.cells_per_stage", cells_per_stage, 1, 64, "an integer in [1, 64]");
  check_range("classify.batch_size", batch_size, 1, kMaxBatch, "an integer in [1, " + std::to_string(kMaxBatch) + "]");
  check_range("classify.eval_batch_size", eval_batch_size, 1, kMaxBatch,
              "an integer in [1, " + std::to_string(kMaxBatch) + "]");
  check_range("classify.lr", lr, 1e-12, 10.0, "a learning rate in (0, 10]");
  check_range("classify.weight_decay", weight_decay, 0.0, 10.0, "a value in [0, 10]");
  check_range("classify.samples_per_epoch", samples_per_epoch, 0, kMaxCount, "0 (whole split) or a count");
  check_range("classify.data.train_limit", data.train_limit, 0, kMaxCount, "0 (all) or a count");
  check_range("classify.data.test_limit", data.test_limit, 0, kMaxCount, "0 (all) or a count");
  check_range("classify.data.val_fraction", data.val_fraction, 1e-9, 0.5, "a fraction in (0, 0.5]");
  check_range("classify.data.test_fraction", data.test_fraction, 1e-9, 0.5, "a fraction in (0, 0.5]");
  check_range("classify.data.classes", data.classes, 0, 1000000, "0 (from the data) or a count >= 2");
  if (data.classes == 1)
    throw std::invalid_argument("'classify.data.classes' = 1 is out of range; expected 0 (from the data) or a count >= 2");
  const auto one_of = [](const std::string& key, const std::string& v, const std::vector<std::string>& ok) {
    for (const auto& o : ok)
      if (v == o) return;
    std::string list;
    for (const auto& o : ok) list += (list.empty() ? "" : ", ") + o;
    throw std::invalid_argument("'" + key + "' = '" + v + "' is not known; expected one of " + list);
  };
  one_of("classify.data.format", data.format, {"idx", "cifar10", "hdf5", "numpy", "folder"});
  one_of("classify.data.layout", data.layout, {"auto", "nhwc", "nchw"});
  const bool by_file = data.format == "hdf5" || data.format == "numpy" || data.format == "folder";
  if (by_file && data.train.empty())
    throw std::invalid_argument("'classify.data.train' is empty; format " + data.format +
                                " reads the training data from it: set it to the " +
                                (data.format == "folder" ? std::string("image folder (root/CLASS/*.png)")
                                                         : data.format == "hdf5" ? std::string(".h5 file")
                                                                                 : std::string(".npz file or folder of .npy files")));
  if (!by_file && (!data.train.empty() || !data.test.empty()))
    throw std::invalid_argument("'classify.data.train' / 'classify.data.test' are set but 'classify.data.format' is " +
                                data.format + ", which reads its files from classify.data.dir; set the format "
                                "(hdf5, numpy or folder) or remove the keys");
  if (data.images_key.empty() || data.labels_key.empty())
    throw std::invalid_argument("'classify.data.images_key' / 'labels_key' must not be empty; expected the "
                                "dataset or array names (default images and labels)");
}

ClassifyOptions ClassifyOptions::parse(ConfigSection s) {
  ClassifyOptions c;
  s.get("channels", c.channels);
  s.get("cells_per_stage", c.cells_per_stage);
  s.get("batch_size", c.batch_size);
  s.get("lr", c.lr);
  s.get("weight_decay", c.weight_decay);
  s.get("samples_per_epoch", c.samples_per_epoch);
  s.get("eval_batch_size", c.eval_batch_size);
  ConfigSection d = s.sub("data");
  d.get("dir", c.data.dir);
  d.get("train_images", c.data.train_images);
  d.get("train_labels", c.data.train_labels);
  d.get("test_images", c.data.test_images);
  d.get("test_labels", c.data.test_labels);
  d.get("train_limit", c.data.train_limit);
  d.get("test_limit", c.data.test_limit);
  d.get("val_fraction", c.data.val_fraction);
  d.get("format", c.data.format);
  d.get("train", c.data.train);
  d.get("test", c.data.test);
  d.get("images_key", c.data.images_key);
  d.get("labels_key", c.data.labels_key);
  d.get("layout", c.data.layout);
  d.get("test_fraction", c.data.test_fraction);
  d.get("classes", c.data.classes);
  d.get("share", c.data.share);
  d.get("cache_dir", c.data.cache_dir);
  d.reject_unknown();
  s.reject_unknown();
  c.validate();
  return c;
}

}  // namespace pbtnas::classify
