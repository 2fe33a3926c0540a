// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore

@main
struct Rssppd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rssppd",
        abstract: "Load- and state-aware receive side scaling for Linux.",
        version: RssppdVersion.string,
        subcommands: [Run.self, CheckConfig.self, Status.self, Top.self, Simulate.self, Watch.self, Table.self]
    )
}

enum RssppdVersion {
    static let string = "0.1.0"
}
