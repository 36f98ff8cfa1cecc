// Plain-data encoding for messages between ranks and for checkpoints: values and arrays of
// trivially copyable types, back to back, in the machine's own byte order (every rank of a job
// runs the same binary on the same kind of machine).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace threadx {

class Writer {
 public:
  template <class T>
  Writer& put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    append(&v, sizeof(T));
    return *this;
  }
  template <class T>
  Writer& put_array(const T* v, std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<std::uint64_t>(n);
    if (n > 0) append(v, n * sizeof(T));
    return *this;
  }
  template <class T>
  Writer& put_array(std::span<const T> v) {
    return put_array(v.data(), v.size());
  }
  Writer& put_string(const std::string& s) { return put_array(s.data(), s.size()); }
  // n bytes as they are, without a length (the reader knows it: Reader::take).
  Writer& put_raw(const void* p, std::size_t n) {
    if (n > 0) append(p, n);
    return *this;
  }
  [[nodiscard]] std::size_t size() const { return bytes_.size(); }
  std::vector<std::byte> take() { return std::move(bytes_); }

 private:
  void append(const void* p, std::size_t n) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + n);
    std::memcpy(bytes_.data() + at, p, n);
  }
  std::vector<std::byte> bytes_;
};

// Reads what a Writer wrote; std::runtime_error "malformed <what>" when the bytes run out.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes, std::string what = "message from another rank")
      : bytes_(bytes), what_(std::move(what)) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> get_array() {
    const auto n = get<std::uint64_t>();
    if (n > (bytes_.size() - at_) / sizeof(T)) fail();
    std::vector<T> v(n);
    if (n > 0) std::memcpy(v.data(), bytes_.data() + at_, n * sizeof(T));
    at_ += n * sizeof(T);
    return v;
  }
  // The next n bytes, in place.
  std::span<const std::byte> take(std::size_t n) {
    need(n);
    const std::span<const std::byte> s = bytes_.subspan(at_, n);
    at_ += n;
    return s;
  }
  std::string get_string() {
    const std::vector<char> c = get_array<char>();
    return {c.begin(), c.end()};
  }
  [[nodiscard]] bool done() const { return at_ == bytes_.size(); }
  [[noreturn]] void fail() const { throw std::runtime_error("malformed " + what_); }

 private:
  void need(std::size_t n) const {
    if (n > bytes_.size() - at_) fail();
  }
  std::span<const std::byte> bytes_;
  std::string what_;
  std::size_t at_ = 0;
};

}  // namespace threadx
