// SPDX-License-Identifier: Apache-2.0
import ArgumentParser

struct SolverBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "solver", abstract: "(not yet available)")
    func run() throws { throw ValidationError("'solver' is not implemented yet") }
}
