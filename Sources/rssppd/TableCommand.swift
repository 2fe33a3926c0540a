// SPDX-License-Identifier: Apache-2.0
import ArgumentParser

struct Table: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "table", abstract: "(not yet available)")
    func run() async throws {
        throw ValidationError("'table' is not implemented yet")
    }
}
