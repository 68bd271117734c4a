// InputFile (streaming reads) and AtomicFile (all-or-nothing output).
#include "base/file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "test_keys.h"

namespace signet {
namespace {

using signet::testing::ReadFileBytes;
using signet::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Bytes Pattern(std::size_t size) {
  Bytes data(size);
  std::uint32_t x = 12345;
  for (auto& b : data) {
    x = x * 1103515245u + 12345u;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return data;
}

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(InputFile, MissingFileFailsNamingThePath) {
  TempDir dir;
  std::string path = dir.File("missing.bin");
  auto in = InputFile::Open(path);
  ASSERT_FALSE(in.has_value());
  EXPECT_EQ(in.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(in.error().message, HasSubstr(path));
  EXPECT_THAT(in.error().message, HasSubstr("No such file"));
}

TEST(InputFile, DirectoryIsRefused) {
  TempDir dir;
  auto in = InputFile::Open(dir.path());
  ASSERT_FALSE(in.has_value());
  EXPECT_EQ(in.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(in.error().message, HasSubstr(dir.path()));
  EXPECT_THAT(in.error().message, HasSubstr("directory"));
}

TEST(InputFile, ReportsPathAndSize) {
  TempDir dir;
  std::string path = dir.Write("a.txt", "hello");
  auto in = InputFile::Open(path);
  ASSERT_TRUE(in.has_value()) << in.error().message;
  EXPECT_EQ(in->path(), path);
  EXPECT_EQ(in->size(), 5u);
}

TEST(InputFile, StreamsAFileLargerThanOneChunk) {
  TempDir dir;
  const Bytes data = Pattern(kReadChunkSize + 12345);
  auto in = InputFile::Open(dir.Write("big.bin", data));
  ASSERT_TRUE(in.has_value());
  std::vector<std::size_t> chunk_sizes;
  Bytes seen;
  auto st = in->Stream([&](ByteView chunk) -> Status {
    chunk_sizes.push_back(chunk.size());
    seen.insert(seen.end(), chunk.begin(), chunk.end());
    return {};
  });
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_THAT(chunk_sizes, ElementsAre(kReadChunkSize, 12345u));
  EXPECT_EQ(seen, data);
}

TEST(InputFile, StreamsARangeAcrossTheChunkBoundary) {
  TempDir dir;
  const Bytes data = Pattern(3 * kReadChunkSize + 7);
  auto in = InputFile::Open(dir.Write("big.bin", data));
  ASSERT_TRUE(in.has_value());
  const std::uint64_t offset = kReadChunkSize - 100;
  const std::uint64_t length = kReadChunkSize + 200;  // from the first MiB into the third
  Bytes seen;
  auto st = in->Stream(
      [&](ByteView chunk) -> Status {
        EXPECT_LE(chunk.size(), kReadChunkSize);
        seen.insert(seen.end(), chunk.begin(), chunk.end());
        return {};
      },
      offset, length);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  ASSERT_EQ(seen.size(), length);
  EXPECT_TRUE(
      std::equal(seen.begin(), seen.end(), data.begin() + static_cast<std::ptrdiff_t>(offset)));
}

TEST(InputFile, StreamStopsAtTheSinksError) {
  TempDir dir;
  auto in = InputFile::Open(dir.Write("big.bin", Pattern(3 * kReadChunkSize)));
  ASSERT_TRUE(in.has_value());
  int calls = 0;
  auto st = in->Stream([&](ByteView) -> Status {
    ++calls;
    return Unavailable("sink is full");
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(st.error().message, "sink is full");
  EXPECT_EQ(calls, 1);
}

TEST(InputFile, StreamPastTheEndFails) {
  TempDir dir;
  std::string path = dir.Write("small.bin", "0123456789");
  auto in = InputFile::Open(path);
  ASSERT_TRUE(in.has_value());
  auto sink = [](ByteView) -> Status { return {}; };
  auto longer = in->Stream(sink, 5, 10);
  ASSERT_FALSE(longer.has_value());
  EXPECT_THAT(longer.error().message, HasSubstr(path));
  auto beyond = in->Stream(sink, 11);
  ASSERT_FALSE(beyond.has_value());
  EXPECT_THAT(beyond.error().message, HasSubstr("beyond"));
}

TEST(InputFile, StreamOfAnEmptyFileCallsNoSink) {
  TempDir dir;
  auto in = InputFile::Open(dir.Write("empty", ""));
  ASSERT_TRUE(in.has_value());
  int calls = 0;
  auto st = in->Stream([&](ByteView) -> Status {
    ++calls;
    return {};
  });
  EXPECT_TRUE(st.has_value());
  EXPECT_EQ(calls, 0);
}

TEST(InputFile, ReadAtReturnsTheRange) {
  TempDir dir;
  auto in = InputFile::Open(dir.Write("f", "0123456789"));
  ASSERT_TRUE(in.has_value());
  auto mid = in->ReadAt(3, 4);
  ASSERT_TRUE(mid.has_value());
  EXPECT_EQ(ToString(*mid), "3456");
  auto tail = in->ReadAt(10, 0);
  ASSERT_TRUE(tail.has_value());
  EXPECT_TRUE(tail->empty());
}

TEST(InputFile, ReadAtBeyondTheEndFails) {
  TempDir dir;
  std::string path = dir.Write("f", "0123456789");
  auto in = InputFile::Open(path);
  ASSERT_TRUE(in.has_value());
  for (auto [offset, length] : {std::pair<std::uint64_t, std::size_t>{8, 3},
                                {11, 0},
                                {0, 11},
                                {UINT64_MAX, 1},
                                {1, SIZE_MAX}}) {
    auto r = in->ReadAt(offset, length);
    ASSERT_FALSE(r.has_value()) << offset << "+" << length;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message, HasSubstr(path));
    EXPECT_THAT(r.error().message, HasSubstr("beyond the end"));
  }
}

TEST(InputFile, MoveKeepsTheFileOpen) {
  TempDir dir;
  auto opened = InputFile::Open(dir.Write("f", "abc"));
  ASSERT_TRUE(opened.has_value());
  InputFile moved(std::move(*opened));
  auto r = moved.ReadAt(0, 3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(ToString(*r), "abc");
}

TEST(ReadSmallFile, RefusesFilesOverTheLimit) {
  TempDir dir;
  std::string path = dir.Write("f", std::string(100, 'a'));
  EXPECT_TRUE(ReadSmallFile(path, 100).has_value());
  auto r = ReadSmallFile(path, 99);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr(path));
  EXPECT_THAT(r.error().message, HasSubstr("too large"));
}

TEST(AtomicFile, CommitReplacesTheTarget) {
  TempDir dir;
  std::string target = dir.Write("out.bin", "old content");
  auto out = AtomicFile::Create(target);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  ASSERT_TRUE(out->Write(AsBytes("new ")).has_value());
  ASSERT_TRUE(out->Write(AsBytes("content")).has_value());
  EXPECT_EQ(out->bytes_written(), 11u);
  // Until Commit, the target is untouched.
  EXPECT_EQ(ToString(ReadFileBytes(target)), "old content");
  ASSERT_TRUE(out->Commit().has_value());
  EXPECT_EQ(ToString(ReadFileBytes(target)), "new content");
  EXPECT_THAT(dir.List(), ElementsAre("out.bin"));
}

TEST(AtomicFile, CreatesANewTarget) {
  TempDir dir;
  std::string target = dir.File("new.bin");
  ASSERT_TRUE(WriteFileAtomically(target, AsBytes("data")).has_value());
  EXPECT_EQ(ToString(ReadFileBytes(target)), "data");
  EXPECT_THAT(dir.List(), ElementsAre("new.bin"));
}

TEST(AtomicFile, DestroyedWithoutCommitLeavesTargetIdenticalAndNoTempFile) {
  TempDir dir;
  const Bytes original = Pattern(4096);
  std::string target = dir.Write("artifact.exe", original);
  std::string temp;
  {
    auto out = AtomicFile::Create(target);
    ASSERT_TRUE(out.has_value());
    temp = out->temp_path();
    ASSERT_TRUE(out->Write(AsBytes("half-written garbage")).has_value());
    EXPECT_TRUE(PathExists(temp));
    EXPECT_EQ(dir.List().size(), 2u);  // the target and the temp file beside it
  }
  EXPECT_FALSE(PathExists(temp));
  EXPECT_EQ(ReadFileBytes(target), original);
  EXPECT_THAT(dir.List(), ElementsAre("artifact.exe"));
}

TEST(AtomicFile, DestroyedWithoutCommitCreatesNoTarget) {
  TempDir dir;
  {
    auto out = AtomicFile::Create(dir.File("never.p7s"));
    ASSERT_TRUE(out.has_value());
    ASSERT_TRUE(out->Write(AsBytes("x")).has_value());
  }
  EXPECT_TRUE(dir.List().empty());
}

TEST(AtomicFile, MovedFromDoesNotRemoveTheTempFile) {
  TempDir dir;
  std::string target = dir.File("moved.bin");
  auto out = AtomicFile::Create(target);
  ASSERT_TRUE(out.has_value());
  AtomicFile moved(std::move(*out));
  ASSERT_TRUE(moved.Write(AsBytes("payload")).has_value());
  ASSERT_TRUE(moved.Commit().has_value());
  EXPECT_EQ(ToString(ReadFileBytes(target)), "payload");
}

TEST(AtomicFile, PreservesPermissionBitsOfAnExistingTarget) {
  TempDir dir;
  std::string target = dir.Write("script.sh", "#!/bin/sh\n");
  ASSERT_EQ(::chmod(target.c_str(), 0750), 0);
  ASSERT_TRUE(WriteFileAtomically(target, AsBytes("#!/bin/sh\necho signed\n"), 0644).has_value());
  EXPECT_EQ(ModeOf(target), 0750u);
  ASSERT_EQ(::chmod(target.c_str(), 0600), 0);
  ASSERT_TRUE(WriteFileAtomically(target, AsBytes("again"), 0644).has_value());
  EXPECT_EQ(ModeOf(target), 0600u);
}

TEST(AtomicFile, NewTargetGetsTheRequestedModeMinusUmask) {
  TempDir dir;
  mode_t old_mask = ::umask(022);
  std::string target = dir.File("new.bin");
  auto st = WriteFileAtomically(target, AsBytes("x"), 0664);
  ::umask(old_mask);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(ModeOf(target), 0644u);
}

TEST(AtomicFile, CreateInAMissingDirectoryNamesTheDirectory) {
  TempDir dir;
  std::string missing_dir = dir.File("no-such-dir");
  auto out = AtomicFile::Create(missing_dir + "/out.p7s");
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(out.error().message, HasSubstr(missing_dir));
  EXPECT_TRUE(dir.List().empty());
}

TEST(AtomicFile, RelativeTargetUsesTheCurrentDirectory) {
  // A target without a slash lives in "."; the temp file must go there too.
  auto out = AtomicFile::Create("signet-relative-target.tmp");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->temp_path().rfind("./.signet-relative-target.tmp.signet-", 0), 0u)
      << out->temp_path();
}

TEST(InputFile, ReadIntoFillsTheCallersBufferOrFailsBeforeReading) {
  TempDir dir;
  auto in = InputFile::Open(dir.Write("f", "0123456789"));
  ASSERT_TRUE(in.has_value());
  std::vector<std::uint8_t> buf(4, 'x');
  ASSERT_TRUE(in->ReadInto(3, buf).has_value());
  EXPECT_EQ(std::string(buf.begin(), buf.end()), "3456");
  std::vector<std::uint8_t> big(8, 'x');
  auto past = in->ReadInto(5, big);
  ASSERT_FALSE(past.has_value());
  EXPECT_EQ(past.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(std::string(big.begin(), big.end()), "xxxxxxxx");
}

TEST(AtomicFile, WriteAtPatchesWrittenBytesOnly) {
  TempDir dir;
  std::string target = dir.File("out.bin");
  auto out = AtomicFile::Create(target);
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(out->Write(AsBytes("header....body")).has_value());
  ASSERT_TRUE(out->WriteAt(6, AsBytes("ABCD")).has_value());
  EXPECT_EQ(out->bytes_written(), 14u);
  auto past = out->WriteAt(12, AsBytes("xyz"));
  ASSERT_FALSE(past.has_value());
  EXPECT_EQ(past.error().code, ErrorCode::kInternal);
  ASSERT_TRUE(out->Write(AsBytes("!")).has_value());  // appends after the patch
  ASSERT_TRUE(out->Commit().has_value());
  EXPECT_EQ(ToString(ReadFileBytes(target)), "headerABCDbody!");
}

TEST(AtomicFile, LargeOutputIsWrittenWhole) {
  // Crosses several 8 MiB writeback steps, with unaligned writes.
  TempDir dir;
  std::string target = dir.File("big.bin");
  auto out = AtomicFile::Create(target);
  ASSERT_TRUE(out.has_value());
  std::vector<std::uint8_t> chunk(3 * 1024 * 1024 + 17);
  for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<std::uint8_t>(i * 7);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(out->Write(chunk).has_value());
  ASSERT_TRUE(out->Commit().has_value());
  Bytes back = ReadFileBytes(target);
  ASSERT_EQ(back.size(), 6 * chunk.size());
  EXPECT_TRUE(std::equal(chunk.begin(), chunk.end(),
                         back.end() - static_cast<std::ptrdiff_t>(chunk.size())));
}

TEST(PathExists, DistinguishesPresentAndAbsent) {
  TempDir dir;
  EXPECT_TRUE(PathExists(dir.path()));
  EXPECT_TRUE(PathExists(dir.Write("x", "1")));
  EXPECT_FALSE(PathExists(dir.File("y")));
}

}  // namespace
}  // namespace signet
