import Synchronization

/// The source of randomness for retry jitter and the random part of event ids. Inject a
/// seeded source in tests and simulations.
public protocol RandomSource: Sendable {
    /// A uniformly distributed value in `0 ..< 1`.
    func nextUnit() -> Double
    /// 64 uniformly distributed bits. The default builds them from two ``nextUnit()``s.
    func nextBits() -> UInt64
}

extension RandomSource {
    public func nextBits() -> UInt64 {
        (UInt64(nextUnit() * 4_294_967_296) << 32) | UInt64(nextUnit() * 4_294_967_296)
    }
}

/// The system's cryptographically secure generator.
public struct SystemRandomSource: RandomSource {
    public init() {}
    public func nextUnit() -> Double { Double.random(in: 0..<1) }
    public func nextBits() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }
}

/// A deterministic generator (SplitMix64): the same seed gives the same sequence. The one
/// seeded generator of the project: retry jitter in tests, and any run (a benchmark's
/// catalog, a crash test's schedule) that must be repeatable.
public final class SeededRandomSource: RandomSource, RandomNumberGenerator {
    private let state: Mutex<UInt64>

    public init(seed: UInt64) { state = Mutex(seed) }

    /// The next raw 64-bit value.
    public func next() -> UInt64 {
        state.withLock { state in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    public func nextUnit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
    public func nextBits() -> UInt64 { next() }
}
