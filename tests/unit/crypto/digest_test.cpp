// SHA-2 digests against the FIPS 180-2 appendix examples; streaming equals one-shot.
#include "crypto/digest.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "test_keys.h"

namespace signet {
namespace {

using signet::testing::TempDir;

struct Vector {
  DigestAlgorithm alg;
  std::string message;
  std::string hex;

  friend void PrintTo(const Vector& v, std::ostream* os) {
    *os << DigestName(v.alg) << " of " << v.message.size() << " bytes";
  }
};

const std::string k448Bits = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

const std::vector<Vector> kVectors = {
    {DigestAlgorithm::kSha256, "abc",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {DigestAlgorithm::kSha256, "",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {DigestAlgorithm::kSha256, k448Bits,
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {DigestAlgorithm::kSha384, "abc",
     "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
     "8086072ba1e7cc2358baeca134c825a7"},
    {DigestAlgorithm::kSha384, "",
     "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da"
     "274edebfe76f65fbd51ad2f14898b95b"},
    {DigestAlgorithm::kSha384, k448Bits,
     "3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6"
     "b0455a8520bc4e6f5fe95b1fe3c8452b"},
    {DigestAlgorithm::kSha512, "abc",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
    {DigestAlgorithm::kSha512, "",
     "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
     "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
    {DigestAlgorithm::kSha512, k448Bits,
     "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
     "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"},
};

class DigestVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(DigestVectors, OneShotMatchesFips180) {
  const Vector& v = GetParam();
  Bytes d = Digest(v.alg, AsBytes(v.message));
  EXPECT_EQ(d.size(), DigestSize(v.alg));
  EXPECT_EQ(HexEncode(d), v.hex);
}

TEST_P(DigestVectors, ByteAtATimeStreamingMatches) {
  const Vector& v = GetParam();
  auto hasher = Hasher::Create(v.alg);
  ASSERT_TRUE(hasher.has_value());
  for (char c : v.message) hasher->Update(AsBytes(std::string_view(&c, 1)));
  EXPECT_EQ(HexEncode(hasher->Finish()), v.hex);
}

TEST_P(DigestVectors, DigestFileMatches) {
  const Vector& v = GetParam();
  TempDir dir;
  auto in = InputFile::Open(dir.Write("m", v.message));
  ASSERT_TRUE(in.has_value());
  auto d = DigestFile(*in, v.alg);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(HexEncode(*d), v.hex);
}

INSTANTIATE_TEST_SUITE_P(Fips180, DigestVectors, ::testing::ValuesIn(kVectors));

TEST(Hasher, FinishResetsForReuse) {
  auto hasher = Hasher::Create(DigestAlgorithm::kSha256);
  ASSERT_TRUE(hasher.has_value());
  EXPECT_EQ(hasher->algorithm(), DigestAlgorithm::kSha256);
  hasher->Update(AsBytes("garbage"));
  hasher->Finish();
  hasher->Update(AsBytes("abc"));
  EXPECT_EQ(HexEncode(hasher->Finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hasher, UnevenStreamingOfAMillionAsMatchesFips180) {
  // FIPS 180-2 appendix B.3: one million repetitions of 'a'.
  const std::string block(1000, 'a');
  auto hasher = Hasher::Create(DigestAlgorithm::kSha256);
  ASSERT_TRUE(hasher.has_value());
  std::size_t left = 1000000;
  std::size_t step = 1;
  while (left > 0) {
    std::size_t n = std::min({left, step, block.size()});
    hasher->Update(AsBytes(std::string_view(block).substr(0, n)));
    left -= n;
    step = step * 3 + 1;
  }
  EXPECT_EQ(HexEncode(hasher->Finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(DigestFile, MultiChunkFileEqualsOneShot) {
  TempDir dir;
  Bytes data(kReadChunkSize * 2 + 333);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<std::uint8_t>(i * 7 + (i >> 11));
  auto in = InputFile::Open(dir.Write("big", data));
  ASSERT_TRUE(in.has_value());
  for (DigestAlgorithm alg :
       {DigestAlgorithm::kSha256, DigestAlgorithm::kSha384, DigestAlgorithm::kSha512}) {
    auto streamed = DigestFile(*in, alg);
    ASSERT_TRUE(streamed.has_value());
    EXPECT_EQ(*streamed, Digest(alg, data)) << DigestName(alg);
  }
}

}  // namespace
}  // namespace signet
