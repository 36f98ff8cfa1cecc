# Turns a file into a C++ source that defines `std::string_view NAME()` returning its bytes, so a
# run-time asset (third_party/vega/vega.min.js) is part of the binary: nothing to find at run
# time, nothing the install can forget.
#   cmake -DIN=<file> -DOUT=<file.cpp> -DHEADER=<header declaring NAME> -DNAME=<qualified name>
#         -P embed_file.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
get_filename_component(name "${IN}" NAME)
file(WRITE "${OUT}.tmp" "// Generated from ${name} by cmake/embed_file.cmake: do not edit.
#include \"${HEADER}\"

#include <string_view>

namespace {
const unsigned char kBytes[${size} + 1] = {
${bytes}0};
}  // namespace

std::string_view ${NAME}() { return {reinterpret_cast<const char*>(kBytes), ${size}}; }
")
file(RENAME "${OUT}.tmp" "${OUT}")
