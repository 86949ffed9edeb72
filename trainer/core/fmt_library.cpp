// fmt's formatting engine, compiled once for the whole tree (the sgm_fmt library).
//
// Built against whichever fmt headers win the include path (LibTorch's own copy, ahead of the
// system's), so that its symbols match the headers every other file sees. Header-only fmt would
// instead emit this engine (format parsing, float formatting, locale support) into every file
// that formats a string: about 90 KB of code and 3 s of compile per file.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

// What fmt's headers declare but leave to the one compiled copy: the float-to-decimal
// conversion and the locale queries, for the character types the headers use.
template FMT_API auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template FMT_API auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<wchar_t>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API auto decimal_point_impl(locale_ref) -> wchar_t;

}  // namespace detail
FMT_END_NAMESPACE
