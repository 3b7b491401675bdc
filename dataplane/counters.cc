#include "dataplane/counters.h"

namespace tundra {

namespace {
constexpr const char* kNames[] = {
#define X(enumerator, name, why) name,
#include "dataplane/drop_reasons.def"
#undef X
};
constexpr const char* kHelp[] = {
#define X(enumerator, name, why) why,
#include "dataplane/drop_reasons.def"
#undef X
};
}  // namespace

const char* DropReasonName(DropReason reason) { return kNames[static_cast<int>(reason)]; }
const char* DropReasonHelp(DropReason reason) { return kHelp[static_cast<int>(reason)]; }

}  // namespace tundra
