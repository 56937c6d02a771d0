#include "pbtnas/tasks/classify/classify_options.hpp"

#include "pbtnas/core/config_section.hpp"

namespace pbtnas {

void ClassifyConfig::validate() const {
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
}

ClassifyConfig ClassifyConfig::parse(ConfigSection s) {
  ClassifyConfig c;
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
  d.get("share", c.data.share);
  d.get("cache_dir", c.data.cache_dir);
  d.reject_unknown();
  s.reject_unknown();
  c.validate();
  return c;
}

}  // namespace pbtnas
