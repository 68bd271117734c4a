// File I/O: streaming reads at disk speed and atomic output.
//
// Artifacts are never read whole into memory: InputFile hands out large
// chunks (1 MiB) to a callback, or reads a range at an offset. Output goes
// through AtomicFile: a temp file in the target's directory, fsync, rename,
// fsync of the directory. Until Commit() succeeds the target is untouched,
// and an AtomicFile destroyed without Commit() removes its temp file.
//
// Not thread-safe; one object per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/bytes.h"
#include "base/error.h"

namespace signet {

inline constexpr std::size_t kReadChunkSize = 1 << 20;

// Reads a whole file that is known to be small (keys, certificates, secrets).
// Fails with kInvalidArgument when it is larger than `max_size` bytes.
Result<Bytes> ReadSmallFile(const std::string& path, std::size_t max_size = 1 << 20);

// An open, regular, readable file.
class InputFile {
 public:
  // Fails (naming the path) when it is missing, a directory, unreadable or not a regular file.
  static Result<InputFile> Open(const std::string& path);

  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::uint64_t size() const { return size_; }

  // Calls `sink` with consecutive chunks of the file from `offset` for
  // `length` bytes (to the end when length is UINT64_MAX). Stops early if the
  // sink returns an error. Fails if the file is shorter than asked.
  using ChunkSink = std::function<Status(ByteView chunk)>;
  Status Stream(const ChunkSink& sink, std::uint64_t offset = 0,
                std::uint64_t length = UINT64_MAX) const;

  // Reads exactly `length` bytes at `offset` (for headers).
  Result<Bytes> ReadAt(std::uint64_t offset, std::size_t length) const;
  // Reads exactly out.size() bytes at `offset` into `out` (a buffer the
  // caller reuses, e.g. a pool of chunks handed between threads). Safe to
  // call from several threads at once (pread).
  Status ReadInto(std::uint64_t offset, std::span<std::uint8_t> out) const;

 private:
  InputFile(std::string path, int fd, std::uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// Writes `target` atomically. Typical use:
//   SIGNET_ASSIGN_OR_RETURN(auto out, AtomicFile::Create("a.exe"));
//   SIGNET_RETURN_IF_ERROR(out.Write(bytes));
//   SIGNET_RETURN_IF_ERROR(out.Commit());
class AtomicFile {
 public:
  // Creates the temp file beside `target`. When `target` exists its
  // permission bits are carried over; otherwise `mode` (before umask) is used.
  static Result<AtomicFile> Create(const std::string& target, unsigned mode = 0644);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temp file unless committed

  [[nodiscard]] const std::string& target() const { return target_; }
  [[nodiscard]] const std::string& temp_path() const { return temp_path_; }
  [[nodiscard]] std::uint64_t bytes_written() const { return written_; }

  Status Write(ByteView data);
  // Overwrites bytes already written at `offset` (a header whose checksum is
  // known only once the rest is written). REQUIRES: offset + size <=
  // bytes_written(). Does not move the append position.
  Status WriteAt(std::uint64_t offset, ByteView data);
  // Copies `length` bytes of `in` from `offset` (streaming).
  Status CopyFrom(const InputFile& in, std::uint64_t offset, std::uint64_t length);
  // fsync, rename over the target, fsync the directory.
  Status Commit();

 private:
  AtomicFile(std::string target, std::string temp_path, int fd)
      : target_(std::move(target)), temp_path_(std::move(temp_path)), fd_(fd) {}
  std::string target_;
  std::string temp_path_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
  bool committed_ = false;
};

// Convenience: atomically replaces/creates `target` with `data`.
Status WriteFileAtomically(const std::string& target, ByteView data, unsigned mode = 0644);

// True when `path` names an existing file system entry.
bool PathExists(const std::string& path);

}  // namespace signet
