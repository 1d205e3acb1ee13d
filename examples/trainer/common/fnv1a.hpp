// SPDX-License-Identifier: Apache-2.0
#pragma once
// FNV-1a, 64 bits: the checksum of checkpoints and the fingerprint of data sets. Not
// cryptographic; it detects corruption and accidental changes, which is what it is used for.

#include <cstddef>
#include <cstdint>

namespace longtail_train {

inline constexpr std::uint64_t kFnv1aOffset = 0xcbf29ce484222325ULL;

/// Continues hash `h` over `size` bytes at `data`.
inline std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t h = kFnv1aOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace longtail_train
