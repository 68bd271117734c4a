// A main() for libFuzzer-API targets in ordinary builds: runs
// LLVMFuzzerTestOneInput once over every file named on the command line, or
// found (recursively, in sorted order, hidden entries skipped) in the
// directories named. This is how
// each target's seed corpus and past crashes are replayed as a ctest; under
// the ASan/UBSan build it is a real regression check.
//
//   der_reader_fuzz tests/fuzz/corpus/der_reader            # a corpus
//   der_reader_fuzz build-afl/fuzz/der_reader/default/crashes/id:000000...
//
// Exit status: 0 when every input ran (a crash aborts the process, as under a
// fuzzer); 2 when an argument is missing or names no input at all, so that a
// misplaced corpus fails the test instead of passing vacuously.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool ReadFile(const std::filesystem::path& path, std::vector<std::uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::size_t before = inputs.size();
      std::filesystem::recursive_directory_iterator it(arg, ec);
      for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        // Skip hidden entries: afl-fuzz keeps bookkeeping in queue/.state/.
        if (it->path().filename().string().starts_with(".")) {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file()) inputs.push_back(it->path());
      }
      if (ec || inputs.size() == before) {
        std::fprintf(stderr, "%s: no inputs in %s\n", argv[0], argv[i]);
        return 2;
      }
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "%s: %s: no such file or directory\n", argv[0], argv[i]);
      return 2;
    }
  }
  std::sort(inputs.begin(), inputs.end());
  std::vector<std::uint8_t> data;
  for (const auto& path : inputs) {
    if (!ReadFile(path, data)) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], path.c_str());
      return 2;
    }
    // Print before running, so the input that crashes is the last one named.
    std::fprintf(stderr, "running %s (%zu bytes)\n", path.c_str(), data.size());
    // Like libFuzzer: a heap buffer of exactly the input's size (so ASan
    // catches a read one past the end), never a null pointer.
    std::unique_ptr<std::uint8_t[]> exact(new std::uint8_t[data.size()]);
    std::copy(data.begin(), data.end(), exact.get());
    LLVMFuzzerTestOneInput(exact.get(), data.size());
  }
  std::fprintf(stderr, "%s: %zu inputs ran\n", argv[0], inputs.size());
  return 0;
}
