// Streaming SHA-256 (FIPS 180-4), for the data-file hashes recorded in results files. None of the
// project's libraries offers a hash, and linking a crypto library for one digest is not worth it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace threadx {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  // Lower-case hex digest; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void block(const unsigned char* p);
  std::array<std::uint32_t, 8> h_;
  std::array<unsigned char, 64> buf_{};
  std::size_t used_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace threadx
