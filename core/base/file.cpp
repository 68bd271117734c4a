#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace signet {
namespace {

std::string Describe(const std::string& what, const std::string& path, int err) {
  return what + " " + path + ": " + std::strerror(err);
}

// Maps errno of open()/stat() to an error code: missing or unreadable input is
// the user's to fix (2); an I/O error may pass (3).
std::unexpected<Error> IoError(const std::string& what, const std::string& path, int err) {
  ErrorCode code = (err == EIO || err == EAGAIN || err == EINTR) ? ErrorCode::kUnavailable
                                                                 : ErrorCode::kInvalidArgument;
  return MakeError(code, Describe(what, path, err));
}

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Checked before anything is allocated for a read.
Status CheckRange(const std::string& path, std::uint64_t size, std::uint64_t offset,
                  std::size_t length) {
  if (offset > size || length > size - offset) {
    return InvalidArgument(path + ": read of " + std::to_string(length) + " bytes at offset " +
                           std::to_string(offset) + " is beyond the end of the file (" +
                           std::to_string(size) + " bytes)");
  }
  return {};
}

Status WriteAll(int fd, ByteView data, const std::string& path) {
  const std::uint8_t* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write", path, errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

Result<Bytes> ReadSmallFile(const std::string& path, std::size_t max_size) {
  SIGNET_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(path));
  if (in.size() > max_size) {
    return InvalidArgument(path + " is too large (" + std::to_string(in.size()) +
                           " bytes, at most " + std::to_string(max_size) + " expected)");
  }
  return in.ReadAt(0, static_cast<std::size_t>(in.size()));
}

Result<InputFile> InputFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return IoError("cannot stat", path, err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(path + " is a directory, not a file");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(path + " is not a regular file");
  }
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  return InputFile(path, fd, static_cast<std::uint64_t>(st.st_size));
}

InputFile::InputFile(InputFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), size_(other.size_) {
  other.fd_ = -1;
}

InputFile& InputFile::operator=(InputFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    size_ = other.size_;
    other.fd_ = -1;
  }
  return *this;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status InputFile::Stream(const ChunkSink& sink, std::uint64_t offset, std::uint64_t length) const {
  if (length == UINT64_MAX) {
    if (offset > size_) return InvalidArgument(path_ + ": offset beyond end of file");
    length = size_ - offset;
  }
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(
      std::min<std::uint64_t>(kReadChunkSize, std::max<std::uint64_t>(length, 1))));
  std::uint64_t pos = offset;
  std::uint64_t left = length;
  while (left > 0) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
    ssize_t n = ::pread(fd_, buffer.data(), want, static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read", path_, errno);
    }
    if (n == 0) return InvalidArgument(path_ + ": file is shorter than expected (truncated?)");
    SIGNET_RETURN_IF_ERROR(sink(ByteView(buffer.data(), static_cast<std::size_t>(n))));
    pos += static_cast<std::uint64_t>(n);
    left -= static_cast<std::uint64_t>(n);
  }
  return {};
}

Result<Bytes> InputFile::ReadAt(std::uint64_t offset, std::size_t length) const {
  SIGNET_RETURN_IF_ERROR(CheckRange(path_, size_, offset, length));
  Bytes out(length);
  SIGNET_RETURN_IF_ERROR(ReadInto(offset, out));
  return out;
}

Status InputFile::ReadInto(std::uint64_t offset, std::span<std::uint8_t> out) const {
  const std::size_t length = out.size();
  SIGNET_RETURN_IF_ERROR(CheckRange(path_, size_, offset, length));
  std::size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read", path_, errno);
    }
    if (n == 0) return InvalidArgument(path_ + ": file is shorter than expected (truncated?)");
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Result<AtomicFile> AtomicFile::Create(const std::string& target, unsigned mode) {
  std::string dir = DirName(target);
  std::string temp = dir + "/." + BaseName(target) + ".signet-XXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return InvalidArgument("cannot create output in directory " + dir + " (for " + target +
                           "): " + std::strerror(err));
  }
  struct stat st {};
  mode_t final_mode;
  if (::stat(target.c_str(), &st) == 0) {
    final_mode = st.st_mode & 07777;
  } else {
    mode_t mask = ::umask(0);
    ::umask(mask);
    final_mode = static_cast<mode_t>(mode) & ~mask;
  }
  ::fchmod(fd, final_mode);
  return AtomicFile(target, std::string(name.data()), fd);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : target_(std::move(other.target_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(other.fd_),
      written_(other.written_),
      committed_(other.committed_) {
  other.fd_ = -1;
  other.committed_ = true;  // nothing left for the moved-from object to clean up
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

Status AtomicFile::Write(ByteView data) {
  if (fd_ < 0) return Internal("write to a closed AtomicFile");
  SIGNET_RETURN_IF_ERROR(WriteAll(fd_, data, temp_path_));
  const std::uint64_t before = written_;
  written_ += data.size();
#ifdef SYNC_FILE_RANGE_WRITE
  // Large outputs: start writing each completed 8 MiB back to disk now
  // (asynchronously), so that Commit()'s fsync does not wait for all of it
  // at the end. Advisory: an error here is found again by fsync.
  constexpr std::uint64_t kWritebackStep = 8 << 20;
  if (written_ / kWritebackStep != before / kWritebackStep) {
    const std::uint64_t end = written_ / kWritebackStep * kWritebackStep;
    ::sync_file_range(fd_, static_cast<off_t>(end - kWritebackStep),
                      static_cast<off_t>(kWritebackStep), SYNC_FILE_RANGE_WRITE);
  }
#endif
  return {};
}

Status AtomicFile::WriteAt(std::uint64_t offset, ByteView data) {
  if (fd_ < 0) return Internal("write to a closed AtomicFile");
  if (offset > written_ || data.size() > written_ - offset) {
    return Internal("AtomicFile::WriteAt past the bytes written to " + temp_path_);
  }
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write", temp_path_, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status AtomicFile::CopyFrom(const InputFile& in, std::uint64_t offset, std::uint64_t length) {
  return in.Stream([this](ByteView chunk) { return Write(chunk); }, offset, length);
}

Status AtomicFile::Commit() {
  if (fd_ < 0) return Internal("commit of a closed AtomicFile");
  if (::fsync(fd_) != 0) return IoError("cannot fsync", temp_path_, errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    return IoError("cannot close", temp_path_, errno);
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) {
    return IoError("cannot replace", target_, errno);
  }
  committed_ = true;
  int dir_fd = ::open(DirName(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

Status WriteFileAtomically(const std::string& target, ByteView data, unsigned mode) {
  SIGNET_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(target, mode));
  SIGNET_RETURN_IF_ERROR(out.Write(data));
  return out.Commit();
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace signet
