// SPDX-License-Identifier: Apache-2.0
import ArgumentParser

struct SimSpeedBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simspeed", abstract: "(not yet available)")
    func run() throws { throw ValidationError("'simspeed' is not implemented yet") }
}
