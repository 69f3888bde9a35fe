// LoadRun is the controller of one loadgen run. On the calling thread it
// starts the reactor threads, then steps through the phases, each bounded
// in time: connect and join everything, settle (wait for the join
// announcements to stop), send, drain (until every expected delivery has
// arrived or --drain_timeout passes), stop. Then it tallies every
// receiver's ledger into a RunReport.
#ifndef CHATD_TOOLS_LOADGEN_LOAD_RUN_H_
#define CHATD_TOOLS_LOADGEN_LOAD_RUN_H_

#include "absl/status/statusor.h"
#include "tools/loadgen/load_config.h"
#include "tools/loadgen/run_report.h"

namespace chatd::loadgen {

// Runs the whole workload; fails only for setup errors (bad address).
absl::StatusOr<RunReport> RunLoad(const LoadConfig& config);

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_LOAD_RUN_H_
