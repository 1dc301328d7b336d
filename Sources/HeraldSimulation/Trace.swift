import Foundation
import HeraldTesting
import Synchronization

/// What a simulation did, step by step: a hash over every step (each job the executor chose,
/// each time it moved the clock, each store call, fault and node event), and the latest
/// lines in words for a person reading a failure.
///
/// The same seed gives the same hash; a different hash means a different run. Lines are
/// stamped with simulated time only, so they repeat exactly too.
public final class Trace: Sendable {
    private struct State {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a's offset basis
        var lines: [String] = []
        var first = 0
        var count = 0
    }

    private let state = Mutex(State())
    /// How many lines are kept (the latest).
    public let capacity: Int
    let time: ManualClock

    init(capacity: Int, time: ManualClock) {
        self.capacity = capacity
        self.time = time
    }

    /// The hash of every step so far.
    public var hash: UInt64 { state.withLock { $0.hash } }

    /// Lines recorded so far (some may have left the window).
    public var lineCount: Int { state.withLock { $0.count } }

    /// Mixes a value into the hash.
    func mix(_ value: UInt64) {
        state.withLock { state in
            var hash = state.hash
            var value = value
            for _ in 0..<8 {
                hash = (hash ^ (value & 0xFF)) &* 0x0000_0100_0000_01B3
                value >>= 8
            }
            state.hash = hash
        }
    }

    /// Records a line (stamped with simulated time) and mixes it into the hash.
    func record(_ line: String) {
        let stamped = String(format: "%10.3f ", time.now().timeIntervalSince(Simulation.epoch)) + line
        state.withLock { state in
            var hash = state.hash
            for byte in stamped.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            state.hash = hash
            if state.lines.count < capacity {
                state.lines.append(stamped)
            } else {
                state.lines[state.first] = stamped
                state.first = (state.first + 1) % capacity
            }
            state.count += 1
        }
    }

    /// The kept lines, oldest first, each with its number in the run.
    public func lines() -> [(number: Int, line: String)] {
        state.withLock { state in
            let ordered = Array(state.lines[state.first...] + state.lines[..<state.first])
            let firstNumber = state.count - ordered.count + 1
            return ordered.enumerated().map { (firstNumber + $0.offset, $0.element) }
        }
    }
}
