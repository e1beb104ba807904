#include "exporter/compression.h"

#include <zlib.h>

#include <limits>
#include <stdexcept>

namespace thx {

std::string gzip_compress(std::string_view data, int level) {
  if (data.size() > std::numeric_limits<uInt>::max()) {
    throw std::length_error("gzip_compress: input larger than 4 GiB");
  }
  z_stream stream{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's; memory level 8 (default).
  if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip_compress: deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, data.size()) + 32, '\0');
  // zlib's interface takes non-const pointers; it does not write through next_in.
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  const std::size_t written = stream.total_out;
  deflateEnd(&stream);
  if (result != Z_STREAM_END) {
    throw std::runtime_error("gzip_compress: deflate did not finish");
  }
  out.resize(written);
  out.shrink_to_fit();  // kept for a whole cycle: without the bound's slack (10 times the answer)
  return out;
}

}  // namespace thx
