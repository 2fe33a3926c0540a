// SPDX-License-Identifier: Apache-2.0
import ArgumentParser

struct LatencyBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latency", abstract: "(not yet available)")
    func run() throws { throw ValidationError("'latency' is not implemented yet") }
}
