// SPDX-License-Identifier: Apache-2.0
import ArgumentParser

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simulate", abstract: "(not yet available)")
    func run() async throws {
        throw ValidationError("'simulate' is not implemented yet")
    }
}
