// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore
import Foundation

@main
struct Rssppd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rssppd",
        abstract: "Load- and state-aware receive side scaling for Linux.",
        version: RssppdVersion.string,
        subcommands: [Run.self, CheckConfig.self, Status.self, Top.self, Simulate.self, Watch.self, Table.self]
    )

    /// Like ArgumentParser's default, except that a command line that does not parse exits with
    /// status 2 (a user mistake, as for every other bad input) instead of EX_USAGE (64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                let message = fullMessage(for: error)
                if !message.isEmpty { writeStandardError(message + "\n") }
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

enum RssppdVersion {
    static let string = "0.1.0"
}
