#include "formats/cms/cms_format.h"
#include "formats/format.h"
#include "formats/pe/pe_format.h"
#include "formats/raw/raw_format.h"

namespace signet {

void RegisterBuiltinFormats(FormatRegistry& registry) {
  // Embedded formats (detected by magic bytes) come first; detached last.
  registry.Register(MakePeFormat());
  registry.Register(MakeCmsFormat());
  registry.Register(MakeRawFormat());
}

}  // namespace signet
