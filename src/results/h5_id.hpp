// Owns one HDF5 identifier of any kind (file, dataset, dataspace, type, property list,
// attribute, group) and releases it when it goes out of scope. Every HDF5 reader and writer of
// the project uses it.
#pragma once

#include <hdf5.h>

namespace threadx {

class H5Id {
 public:
  explicit H5Id(hid_t id = -1) : id_(id) {}
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  H5Id(H5Id&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  H5Id& operator=(H5Id&&) = delete;
  ~H5Id() {
    if (id_ >= 0) H5Idec_ref(id_);
  }
  [[nodiscard]] hid_t get() const { return id_; }
  [[nodiscard]] bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
};

}  // namespace threadx
