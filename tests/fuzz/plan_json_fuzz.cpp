// Fuzz target for SigningPlan::FromJson (formats/format.h): the plan is what a
// remote client sends to the Signet server, so it is untrusted input.
//
// The input is parsed as JSON without exceptions (nlohmann::json with
// allow_exceptions=false); a plan that FromJson accepts must survive
// ToJson -> text -> parse -> FromJson unchanged, and CheckPlan must be
// consistent with the digest sizes. Aborts otherwise.
// Seed corpus: tests/fuzz/corpus/plan_json/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "formats/format.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool SamePlan(const signet::SigningPlan& a, const signet::SigningPlan& b) {
  return a.format == b.format && a.artifact == b.artifact && a.artifact_size == b.artifact_size &&
         a.content_digest_algorithm == b.content_digest_algorithm &&
         a.content_digest == b.content_digest && a.signature_algorithm == b.signature_algorithm &&
         a.to_be_signed == b.to_be_signed && a.to_be_signed_digest == b.to_be_signed_digest &&
         a.format_data == b.format_data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto plan = signet::SigningPlan::FromJson(j);
  if (!plan) return 0;

  // Strings from the parser are valid UTF-8, so dump() cannot throw here.
  const std::string text = plan->ToJson().dump();
  nlohmann::json reparsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  Check(!reparsed.is_discarded());
  auto again = signet::SigningPlan::FromJson(reparsed);
  Check(again.has_value());
  Check(SamePlan(*plan, *again));

  if (signet::CheckPlan(*plan, plan->format)) {
    Check(plan->content_digest.size() == signet::DigestSize(plan->content_digest_algorithm));
    Check(plan->to_be_signed_digest.size() == signet::DigestSize(plan->signature_algorithm.digest));
  }
  return 0;
}
