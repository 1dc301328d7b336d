import Foundation
import GRDB

/// How Herald's values are stored in SQLite columns.
enum SQLiteValues {
    /// Dates are integer microseconds since 1970: exact and ordered.
    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: TimeInterval(micros) / 1_000_000)
    }
}
