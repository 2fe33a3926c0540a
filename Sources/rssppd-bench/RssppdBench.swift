// SPDX-License-Identifier: Apache-2.0
// Benchmarks. Build in release mode: `swift run -c release rssppd-bench <name>`.
// Each benchmark prints medians of repetitions and, where it has one, the ratio against a
// baseline measured in the same run. Results are recorded in docs/BENCHMARKS.md.
import ArgumentParser

@main
struct RssppdBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rssppd-bench",
        abstract: "rssppd benchmarks (release build)",
        subcommands: [SolverBench.self, SimSpeedBench.self, BalanceBench.self, LatencyBench.self, BPFBench.self]
    )
}
