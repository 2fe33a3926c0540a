// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small, fast, seedable generator (xoshiro256**, seeded through SplitMix64), so a seed
/// reproduces a simulation exactly on every platform.
public struct SimRandom: Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&x); s1 = splitmix(&x); s2 = splitmix(&x); s3 = splitmix(&x)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    @inline(__always)
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in (0, 1]: safe to take the logarithm of.
    @inline(__always)
    public mutating func uniformPositive() -> Double {
        Double((next() >> 11) + 1) * 0x1.0p-53
    }

    /// Exponentially distributed with the given rate (mean 1/rate), by the ziggurat method.
    @inline(__always)
    public mutating func exponential(rate: Double) -> Double {
        ExponentialZiggurat.standard.sample(&self) / rate
    }

    /// Uniform integer in 0..<bound (bound > 0).
    @inline(__always)
    public mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Poisson-distributed count with the given mean (normal approximation above 500).
    public mutating func poisson(mean: Double) -> Int {
        guard mean > 0 else { return 0 }
        if mean > 500 {
            let z = sqrt(-2 * log(uniformPositive())) * cos(2 * Double.pi * uniform())
            return max(0, Int((mean + z * sqrt(mean)).rounded()))
        }
        let limit = exp(-mean)
        var k = 0
        var p = uniform()
        while p > limit {
            k += 1
            p *= uniform()
        }
        return k
    }
}

/// A stateless 64-bit mix of two values, for per-(flow, period) random choices that must not
/// depend on the order in which they are asked.
@inline(__always)
func mix64(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var z = a &* 0x9E37_79B9_7F4A_7C15 ^ (b &+ 0xD1B5_4A32_D192_ED03)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// Exact Exp(1) samples by the ziggurat method (Marsaglia and Tsang, "The ziggurat method for
/// generating random variables", J. Stat. Software 5(8), 2000): 256 layers of equal area
/// under e^-x; about 98.9% of samples cost one 64-bit draw, a multiply and a compare, the
/// rest a wedge test with exp() or, in the base layer, the tail r + Exp(1) (memoryless).
/// Keep one instance where it is used in a hot loop (a stored `let` is cheaper to reach than
/// the lazily initialised `standard`).
public struct ExponentialZiggurat: Sendable {
    /// Right edge of the base layer and the common area of every layer.
    static let r = 7.69711747013104972
    static let area = 3.949659822581572e-3
    /// Layer edges: x[0] is the base layer's virtual width (area / f(r)), x[1] = r, then
    /// decreasing to x[256] = 0. fx[i] = e^-x[i].
    private let x: [Double]
    private let fx: [Double]

    public static let standard = ExponentialZiggurat()

    public init() {
        var x = [Double](repeating: 0, count: 257)
        x[0] = Self.area / exp(-Self.r)
        x[1] = Self.r
        for i in 1..<255 { x[i + 1] = -log(exp(-x[i]) + Self.area / x[i]) }
        x[256] = 0
        self.x = x
        fx = x.map { exp(-$0) }
    }

    @inline(__always)
    public func sample(_ rng: inout SimRandom) -> Double {
        while true {
            let bits = rng.next()
            let i = Int(bits & 0xFF)
            let z = Double(bits >> 11) * 0x1.0p-53 * x[i]
            if z < x[i + 1] { return z }  // inside the layer's rectangle: under the curve
            if let v = slowPath(i: i, z: z, &rng) { return v }
        }
    }

    @inline(never)
    private func slowPath(i: Int, z: Double, _ rng: inout SimRandom) -> Double? {
        if i == 0 { return Self.r - log(rng.uniformPositive()) }  // the tail beyond r
        // The wedge between the layer's rectangle and the curve.
        let y = fx[i] + rng.uniform() * (fx[i + 1] - fx[i])
        return y < exp(-z) ? z : nil
    }
}
