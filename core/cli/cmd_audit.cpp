// signet audit list   (--db URL | --config FILE) [--key K] [--decision D] [--after SEQ] [--limit N]
// signet audit verify (--db URL | --config FILE)
// signet audit export (--db URL | --config FILE) --jsonl [-o FILE]
//
// Reads the server's audit log (core/audit, docs/audit.md) without writing
// to it: the store is opened read-only, so these work beside a running
// server. `verify` walks the whole hash chain and names the first record
// that breaks it (exit 1).
#include <algorithm>
#include <filesystem>
#include <ostream>

#include "audit/audit.h"
#include "base/file.h"
#include "cli/command.h"

namespace signet::cli {
namespace {

// The store URL from --db, or from the server config's "audit": {"db": ...}
// (relative SQLite paths are relative to the config file's directory).
Result<std::string> StoreUrl(const std::string& db, const std::string& config) {
  if (!db.empty() && !config.empty()) {
    return InvalidArgument("give either --db or --config, not both");
  }
  if (!db.empty()) return db;
  if (config.empty()) {
    return InvalidArgument("name the audit store: --db URL or --config FILE (the server config)");
  }
  SIGNET_ASSIGN_OR_RETURN(Bytes text, ReadSmallFile(config, 16 << 20));
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false,
                                           /*ignore_comments=*/true);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(config + ": not a JSON object (the server config; comments allowed)");
  }
  std::string url;
  if (auto audit = j.find("audit"); audit != j.end()) {
    if (!audit->is_object()) return InvalidArgument(config + ": audit: not an object");
    if (auto u = audit->find("db"); u != audit->end()) {
      if (!u->is_string()) return InvalidArgument(config + ": audit.db: not a string");
      url = u->get<std::string>();
    }
  }
  std::string dir = std::filesystem::absolute(config).parent_path().string();
  return audit::ResolveStoreUrl(url, dir);
}

Result<std::unique_ptr<audit::Store>> OpenReadOnly(const std::string& db,
                                                   const std::string& config) {
  SIGNET_ASSIGN_OR_RETURN(std::string url, StoreUrl(db, config));
  audit::StoreOptions options;
  options.read_only = true;
  return audit::OpenStore(url, options);
}

std::string Identity(const audit::Record& r) {
  if (r.subject.empty()) return r.issuer.empty() ? "-" : r.issuer;
  return r.subject;
}

class AuditCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("audit", "Read the Signet server's audit log");
    sub->footer(kExitCodeHelp);
    sub->require_subcommand(1);
    list_ = sub->add_subcommand("list", "List audit records (oldest first)");
    verify_ = sub->add_subcommand(
        "verify", "Check the hash chain; print its head hash, or the first broken record");
    export_ = sub->add_subcommand("export", "Write every record, one JSON object per line");
    for (CLI::App* c : {list_, verify_, export_}) {
      c->add_option("--db", db_,
                    "Audit store: sqlite:PATH, PATH or postgresql://... (password: PGPASSWORD "
                    "or ~/.pgpass)");
      c->add_option("--config", config_, "Server config file: use its audit.db");
    }
    list_->add_option("--key", filter_.key, "Only records of this key name");
    list_->add_option("--decision", filter_.decision, "Only allow, deny or error");
    list_->add_option("--after", filter_.after_seq, "Only records after this sequence number");
    list_->add_option("--limit", filter_.limit, "At most this many records (0: all)")
        ->default_val(100);
    export_->add_flag("--jsonl", jsonl_, "JSON lines (the only format)")->required();
    export_->add_option("-o,--output", output_, "Write to this file (default: stdout)");
    return sub;
  }

  int Run(Context& ctx) override {
    auto store = OpenReadOnly(db_, config_);
    if (!store) return ReportError(ctx, "", store.error());
    if (list_->parsed()) return List(ctx, **store);
    if (verify_->parsed()) return Verify(ctx, **store);
    return Export(ctx, **store);
  }

 private:
  int List(Context& ctx, audit::Store& store) {
    if (!filter_.decision.empty() && filter_.decision != "allow" && filter_.decision != "deny" &&
        filter_.decision != "error") {
      return ReportError(ctx, "",
                         Error{ErrorCode::kInvalidArgument,
                               "--decision must be allow, deny or error, not " + filter_.decision});
    }
    auto records = store.List(filter_);
    if (!records) return ReportError(ctx, "", records.error());
    if (ctx.json) {
      for (const audit::Record& r : *records) PrintJson(ctx, r.ToJson());
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"SEQ", "TIME", "DECISION", "KEY", "FORMAT", "IDENTITY", "ARTIFACT", "REASON"});
    for (const audit::Record& r : *records) {
      rows.push_back({std::to_string(r.seq), r.time, r.decision, r.key.empty() ? "-" : r.key,
                      r.format.empty() ? "-" : r.format, Identity(r),
                      r.artifact.empty() ? "-" : r.artifact, r.reason});
    }
    std::vector<std::size_t> width(rows[0].size(), 0);
    for (const auto& row : rows) {
      for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    for (const auto& row : rows) {
      std::string line;
      for (std::size_t c = 0; c < row.size(); ++c) {
        std::string cell = row[c];
        // One record, one line: no control characters from a client's input.
        std::replace_if(
            cell.begin(), cell.end(),
            [](char ch) { return ch == '\n' || ch == '\r' || ch == '\t'; }, ' ');
        line += cell;
        if (c + 1 < row.size()) line += std::string(width[c] - cell.size() + 2, ' ');
      }
      *ctx.out << line << "\n";
    }
    return kExitOk;
  }

  int Verify(Context& ctx, audit::Store& store) {
    auto result = store.Verify();
    if (!result) return ReportError(ctx, "", result.error());
    if (result->ok) {
      if (ctx.json) {
        PrintJson(ctx, {{"ok", true}, {"records", result->records}, {"head", result->head_hash}});
      } else {
        *ctx.out << "audit chain ok: " << result->records << " records, head " << result->head_hash
                 << "\n";
      }
      return kExitOk;
    }
    std::string message = "audit chain broken at record " + std::to_string(result->first_bad_seq) +
                          ": " + result->reason;
    *ctx.err << "signet: error: " << message << "\n";
    if (ctx.json) {
      PrintJson(ctx, {{"ok", false},
                      {"records", result->records},
                      {"first_bad_seq", result->first_bad_seq},
                      {"reason", result->reason},
                      {"error",
                       {{"code", std::string(ErrorCodeName(ErrorCode::kVerificationFailed))},
                        {"message", message}}}});
    }
    return ExitCodeFor(ErrorCode::kVerificationFailed);
  }

  int Export(Context& ctx, audit::Store& store) {
    std::optional<AtomicFile> file;
    if (!output_.empty()) {
      auto created = AtomicFile::Create(output_, 0600);
      if (!created) return ReportError(ctx, output_, created.error());
      file.emplace(std::move(*created));
    }
    std::string buffer;
    auto flush = [&]() -> Status {
      if (file) {
        SIGNET_RETURN_IF_ERROR(file->Write(AsBytes(buffer)));
      } else {
        *ctx.out << buffer;
      }
      buffer.clear();
      return {};
    };
    std::int64_t count = 0;
    Status st = store.ForEach([&](const audit::Record& r) -> Status {
      buffer += r.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      buffer += '\n';
      ++count;
      if (buffer.size() >= (1 << 20)) return flush();
      return {};
    });
    if (st) st = flush();
    if (st && file) st = file->Commit();
    if (!st) return ReportError(ctx, output_, st.error());
    if (file && ctx.json) PrintJson(ctx, {{"ok", true}, {"output", output_}, {"records", count}});
    return kExitOk;
  }

  CLI::App* list_ = nullptr;
  CLI::App* verify_ = nullptr;
  CLI::App* export_ = nullptr;
  std::string db_;
  std::string config_;
  audit::ListFilter filter_;
  bool jsonl_ = false;
  std::string output_;
};

}  // namespace

std::unique_ptr<Command> MakeAuditCommand() { return std::make_unique<AuditCommand>(); }

}  // namespace signet::cli
