// gzip (RFC 1952) through zlib, for answers compressed once and sent many times.
#pragma once

#include <string>
#include <string_view>

namespace thx {

// The whole of `data` as one gzip member. Level 6 (zlib's default): the /metrics text is
// compressed once per cycle, so bytes on the wire matter more than the milliseconds.
std::string gzip_compress(std::string_view data, int level = 6);

}  // namespace thx
