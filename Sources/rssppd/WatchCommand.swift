// SPDX-License-Identifier: Apache-2.0
import ArgumentParser

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "(not yet available)")
    func run() async throws {
        throw ValidationError("'watch' is not implemented yet")
    }
}
