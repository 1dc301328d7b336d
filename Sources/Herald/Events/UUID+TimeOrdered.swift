import Foundation

extension UUID {
    /// A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.
    ///
    /// Herald gives events time-ordered ids so the log's unique event-id index grows at
    /// its right edge instead of touching a random page on every commit.
    /// The random bits come from `random` (the system's generator by default; a seeded one
    /// makes a simulation's ids repeat with its seed).
    public static func timeOrdered(at date: Date, random: any RandomSource = SystemRandomSource()) -> UUID {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let random = (random.nextBits(), random.nextBits())
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * UInt64(index))) }
        for index in 6..<16 { bytes[index] = UInt8(truncatingIfNeeded: (index < 14 ? random.0 : random.1) >> (8 * UInt64(index % 8))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)  // version 7
        bytes[8] = 0x80 | (bytes[8] & 0x3F)  // RFC 9562 variant
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
