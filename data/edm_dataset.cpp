// EDM's dataset layout (dataset_tool.py): image files under numbered folders, in a zip or a
// directory, and dataset.json with the labels by file name. Streamed: a zip is indexed and its
// entries read as the images are.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/image_set.h"
#include "data/image_stream.h"
#include "data/json_integer.h"
#include "data/zip_archive.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace fs = std::filesystem;
namespace {

bool is_image_name(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

// The files of the dataset by their '/'-separated name relative to its root: entries of a zip
// (indexed, read one at a time) or the files under a directory.
struct Source {
  std::map<std::string, ZipEntry> zip_entries;  // name -> where it lies
  fs::path dir;                                 // when a directory
  std::string path;

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    if (!dir.empty()) {
      for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).generic_string());
      }
    } else {
      for (const auto& [name, entry] : zip_entries) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  bool has(const std::string& name) const {
    return dir.empty() ? zip_entries.count(name) != 0 : fs::is_regular_file(dir / name);
  }
  std::string bytes(const std::string& name) const {
    return dir.empty() ? read_zip_entry(path, zip_entries.at(name))
                       : read_file_bytes((dir / name).string());
  }
  std::string what(const std::string& name) const {
    return path + (dir.empty() ? ":" : "/") + name;
  }
};

// dataset.json's labels by file name; empty when there are none ("labels": null or no file).
std::map<std::string, std::int64_t> labels_of(const Source& source) {
  if (!source.has("dataset.json")) return {};
  return parse_edm_labels(source.bytes("dataset.json"), source.what("dataset.json"));
}

}  // namespace

std::map<std::string, std::int64_t> parse_edm_labels(const std::string& text,
                                                     const std::string& what) {
  std::map<std::string, std::int64_t> labels;
  const auto refuse = [&](const std::string& why) {
    throw core::UsageError(core::printable(what) +
                           ": not EDM's {\"labels\": [[name, label], ...]} (" + why + ")");
  };
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object() || !j.contains("labels") || j.at("labels").is_null()) return labels;
    for (const auto& entry : j.at("labels")) {
      const nlohmann::json& label = entry.at(1);
      const std::optional<std::int64_t> value = json_int64(label);
      if (!value || *value < 0)
        refuse("label " + core::printable(label.dump()) + " is not an integer >= 0");
      labels[entry.at(0).get<std::string>()] = *value;
    }
  } catch (const nlohmann::json::exception& e) {
    refuse(e.what());
  }
  return labels;
}

ImageStream stream_edm_dataset(const std::string& path, std::int64_t resolution,
                               std::int64_t channels) {
  if (channels != 1 && channels != 3) throw core::UsageError("--channels must be 1 or 3");
  auto source = std::make_shared<Source>();
  source->path = path;
  if (fs::is_directory(path)) {
    source->dir = path;
  } else if (fs::is_regular_file(path) && is_zip(path)) {
    for (ZipEntry& e : index_zip(path)) {
      if (!e.name.empty() && e.name.back() != '/') source->zip_entries[e.name] = std::move(e);
    }
  } else {
    throw core::UsageError(path + ": neither a directory nor a zip (EDM dataset_tool output)");
  }
  const std::map<std::string, std::int64_t> labels = labels_of(*source);
  std::vector<std::string> members, names;
  std::vector<std::int32_t> image_labels;
  std::int64_t num_classes = 0;
  for (const std::string& name : source->names()) {
    if (!is_image_name(name)) continue;
    members.push_back(name);
    names.push_back(source->what(name));
    if (!labels.empty()) {
      const auto it = labels.find(name);
      if (it == labels.end())
        throw core::UsageError(source->what("dataset.json") + ": no label for " + name);
      image_labels.push_back(static_cast<std::int32_t>(it->second));
      num_classes = std::max(num_classes, it->second + 1);
    }
  }
  if (members.empty()) throw core::UsageError("no PNG or JPEG images in " + path);
  std::string description =
      fmt::format("EDM dataset {} ({} images, {}){}", path, members.size(),
                  labels.empty() ? "unlabelled" : fmt::format("{} classes", num_classes),
                  resolution > 0 ? fmt::format(", resized to {}", resolution) : "");
  return stream_encoded(
      std::move(names),
      [source, members](std::int64_t i, const std::string&) {
        return source->bytes(members[static_cast<std::size_t>(i)]);
      },
      std::move(image_labels), num_classes, resolution, channels, std::move(description));
}

ImageSet read_edm_dataset(const std::string& path, std::int64_t resolution, std::int64_t channels) {
  return read_whole(stream_edm_dataset(path, resolution, channels));
}

}  // namespace sgm::data
