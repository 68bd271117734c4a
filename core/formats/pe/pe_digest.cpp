#include "formats/pe/pe_digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "crypto/openssl_util.h"

namespace signet::pe {
namespace {

// Appends chunks to an AtomicFile on its own thread. The chunks live in a
// pool of kCopyBuffers buffers: Take() hands out a free one (waiting while
// all are queued or being written), Push() queues it for writing, and the
// writer puts it back once written. Push and Take report an earlier write
// failure; Finish() waits for the queue to drain. Destroying the writer
// without Finish() drops what is pending (the caller then discards the
// AtomicFile).
class QueuedWriter {
 public:
  QueuedWriter(AtomicFile* out, std::size_t chunk_size) : out_(out) {
    for (std::size_t i = 0; i < kCopyBuffers; ++i) free_.emplace_back(chunk_size);
    thread_ = std::thread([this] { Loop(); });
  }
  QueuedWriter(const QueuedWriter&) = delete;
  QueuedWriter& operator=(const QueuedWriter&) = delete;
  ~QueuedWriter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Result<Bytes> Take() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !free_.empty() || !status_; });
    if (!status_) return std::unexpected(status_.error());
    Bytes b = std::move(free_.back());
    free_.pop_back();
    return b;
  }

  Status Push(Bytes buffer, std::size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!status_) return status_;
    queue_.push_back({std::move(buffer), size});
    cv_.notify_all();
    return {};
  }

  Status Finish() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return (queue_.empty() && !writing_) || !status_; });
    return status_;
  }

 private:
  struct Pending {
    Bytes buffer;
    std::size_t size;
  };

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return !queue_.empty() || stop_; });
      if (stop_) return;
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      lock.unlock();
      Status st = out_->Write(ByteView(p.buffer.data(), p.size));
      lock.lock();
      writing_ = false;
      free_.push_back(std::move(p.buffer));
      if (!st) status_ = std::move(st);
      cv_.notify_all();
      if (!status_) return;
    }
  }

  AtomicFile* out_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Bytes> free_;
  std::deque<Pending> queue_;
  bool writing_ = false;
  bool stop_ = false;
  Status status_;
  std::thread thread_;
};

}  // namespace

Result<ImagePass> HashImage(const ReadIntoFn& read, const Layout& layout,
                            const std::vector<std::string>& digest_names, bool pad_to_8,
                            AtomicFile* copy_to, std::size_t chunk_size) {
  if (chunk_size == 0) return Internal("HashImage: chunk size 0");
  std::vector<EvpMdCtxPtr> contexts;
  for (const std::string& name : digest_names) {
    const EVP_MD* md = EVP_get_digestbyname(name.c_str());
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (md == nullptr) return InvalidArgument("unsupported digest algorithm " + name);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
      return Internal("cannot start a " + name + " digest: " + OpenSslErrors());
    }
    contexts.push_back(std::move(ctx));
  }
  // The two fields Authenticode leaves out, in file order.
  struct Range {
    std::uint64_t begin, end;
  };
  std::array<Range, 2> excluded = {Range{layout.checksum_offset, layout.checksum_offset + 4},
                                   Range{layout.cert_dir_offset, layout.cert_dir_offset + 8}};
  std::sort(excluded.begin(), excluded.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  auto feed = [&contexts](ByteView part) {
    for (auto& ctx : contexts) EVP_DigestUpdate(ctx.get(), part.data(), part.size());
  };

  std::optional<QueuedWriter> writer;
  if (copy_to != nullptr) writer.emplace(copy_to, chunk_size);
  Bytes own;  // the one buffer of a pass that does not copy
  Checksum checksum;
  const std::uint64_t image_end = layout.image_end();
  for (std::uint64_t start = 0; start < image_end;) {
    std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, image_end - start));
    Bytes taken;  // a pool buffer when copying
    if (writer) {
      SIGNET_ASSIGN_OR_RETURN(taken, writer->Take());
    } else if (own.size() < n) {
      own.resize(n);
    }
    const std::span<std::uint8_t> chunk((writer ? taken : own).data(), n);
    SIGNET_RETURN_IF_ERROR(read(start, chunk));
    const std::uint64_t end = start + n;
    const ByteView view(chunk.data(), n);
    std::uint64_t cur = start;
    checksum.Add(view, start);
    for (const Range& r : excluded) {
      if (r.end <= cur || r.begin >= end) continue;
      if (r.begin > cur) feed(view.subspan(cur - start, r.begin - cur));
      std::uint64_t skip_from = std::max(cur, r.begin);
      std::uint64_t skip_to = std::min(r.end, end);
      checksum.Subtract(view.subspan(skip_from - start, skip_to - skip_from), skip_from);
      cur = skip_to;
    }
    if (cur < end) feed(view.subspan(cur - start));
    if (writer) SIGNET_RETURN_IF_ERROR(writer->Push(std::move(taken), n));
    start = end;
  }
  if (writer) SIGNET_RETURN_IF_ERROR(writer->Finish());
  if (pad_to_8) {
    static constexpr std::uint8_t kZeros[8] = {};
    feed(ByteView(kZeros, PaddingFor(image_end)));
  }

  ImagePass out;
  out.checksum_sum = checksum.raw();
  for (std::size_t i = 0; i < contexts.size(); ++i) {
    Bytes d(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(contexts[i].get(), d.data(), &len) != 1) {
      return Internal("cannot finish a digest: " + OpenSslErrors());
    }
    d.resize(len);
    out.digests[digest_names[i]] = std::move(d);
  }
  return out;
}

}  // namespace signet::pe
