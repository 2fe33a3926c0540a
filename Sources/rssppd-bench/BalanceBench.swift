// SPDX-License-Identifier: Apache-2.0
import ArgumentParser

struct BalanceBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "balance", abstract: "(not yet available)")
    func run() throws { throw ValidationError("'balance' is not implemented yet") }
}
