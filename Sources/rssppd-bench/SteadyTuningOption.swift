// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore

/// `--steady-tuning smoothing=0.2,cooldown=5`: overrides of `SteadyPolicy.Tuning` for tuning
/// studies with the simulator benchmarks. Unknown names and bad values are validation errors.
enum SteadyTuningOption {
    static let help: ArgumentHelp = "Comma-separated NAME=VALUE overrides of steady's tuning (\(names.joined(separator: ", ")))."

    private static let doubles: [String: WritableKeyPath<SteadyPolicy.Tuning, Double> & Sendable] = [
        "smoothing": \.smoothing, "changeSigmas": \.changeSigmas, "startSpread": \.startSpread,
        "stopSpread": \.stopSpread, "minGain": \.minGain, "moveBudget": \.moveBudget,
        "urgentBudget": \.urgentBudget, "coldStartBudget": \.coldStartBudget,
        "scaleDownMargin": \.scaleDownMargin,
    ]
    private static let ints: [String: WritableKeyPath<SteadyPolicy.Tuning, Int> & Sendable] = [
        "cooldown": \.cooldown, "scaleDownDelay": \.scaleDownDelay, "scaleUpDelay": \.scaleUpDelay,
        "drainEpochs": \.drainEpochs, "candidates": \.candidates,
    ]
    static var names: [String] { (Array(doubles.keys) + Array(ints.keys)).sorted() }

    static func parse(_ text: String?) throws -> SteadyPolicy.Tuning {
        var tuning = SteadyPolicy.Tuning()
        guard let text, !text.isEmpty else { return tuning }
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--steady-tuning: '\(item)' is not NAME=VALUE") }
            if let key = doubles[parts[0]] {
                guard let v = Double(parts[1]), v.isFinite, v >= 0 else {
                    throw ValidationError("--steady-tuning: \(parts[0]) needs a number >= 0, got '\(parts[1])'")
                }
                tuning[keyPath: key] = v
            } else if let key = ints[parts[0]] {
                guard let v = Int(parts[1]), v >= 0 else {
                    throw ValidationError("--steady-tuning: \(parts[0]) needs an integer >= 0, got '\(parts[1])'")
                }
                tuning[keyPath: key] = v
            } else {
                throw ValidationError("--steady-tuning: unknown name '\(parts[0])' (known: \(names.joined(separator: ", ")))")
            }
        }
        return tuning
    }
}
