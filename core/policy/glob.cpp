// GlobMatch: the pattern language of policy rules (`*`, `?`, everything else
// literal). See policy.h.
//
// The matcher keeps one backtrack point: the position of the last `*` seen
// and the text position it was tried at. On a mismatch it lets that star
// swallow one more character and retries from there; earlier stars never
// need to be revisited, because a later star can absorb anything an earlier
// one could. The cost is thus O(len(pattern) * len(text)) in the worst case
// and linear for typical patterns, never exponential: "a*a*a*a*b" against a
// long run of 'a' is a quick "no" (tests/unit/policy/glob_test.cpp).
//
// `?` and the characters a `*` swallows are whole UTF-8 code points, so a
// `?` never matches half of "é". Bytes that are not valid UTF-8 count as one
// character each.
#include <cstddef>
#include <string_view>

#include "policy/policy.h"

namespace signet::policy {
namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The position after the code point that starts at `i` (i < text.size()).
std::size_t NextChar(std::string_view text, std::size_t i) {
  ++i;
  while (i < text.size() && IsContinuation(static_cast<unsigned char>(text[i]))) ++i;
  return i;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  // The last star: pattern position after it, and where in the text it
  // currently stops swallowing. npos: no star seen yet.
  std::size_t star_p = std::string_view::npos;
  std::size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char c = pattern[p];
      if (c == '*') {
        // Collapse a run of stars: they match what one star matches.
        while (p < pattern.size() && pattern[p] == '*') ++p;
        if (p == pattern.size()) return true;  // a trailing star takes the rest
        star_p = p;
        star_t = t;
        continue;
      }
      if (c == '?') {
        ++p;
        t = NextChar(text, t);
        continue;
      }
      if (c == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    // Mismatch (or pattern exhausted with text left): widen the last star.
    if (star_p == std::string_view::npos) return false;
    star_t = NextChar(text, star_t);
    p = star_p;
    t = star_t;
  }
  // Text consumed: the rest of the pattern must be stars only.
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace signet::policy
