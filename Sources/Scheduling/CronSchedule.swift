import Foundation

/// When a recurring job fires: a cron expression read in a time zone.
///
/// Five fields (`minute hour day-of-month month day-of-week`, firing at second 0) or six
/// (`second minute hour day-of-month month day-of-week`). Each field is `*`, a value, a
/// range `a-b`, a step `*/n`, `a-b/n` or `a/n`, or a comma list of these. Months may be
/// named `JAN`…`DEC`, days `SUN`…`SAT` (0 and 7 are Sunday); day-of-month `L` is the last
/// day of the month. `@yearly`, `@monthly`, `@weekly`, `@daily` (`@midnight`) and
/// `@hourly` stand for their usual expressions.
///
/// ```swift
/// let nightly = try CronSchedule("30 2 * * *", timeZone: TimeZone(identifier: "Europe/London")!)
/// nightly.nextFire(after: now)  // the next 02:30 in London
/// ```
///
/// As in Vixie cron:
/// - When both day-of-month and day-of-week are restricted, a day matching either fires.
/// - Daylight saving time. A schedule for fixed hours fires once per local time: a time
///   the clocks skip fires at the moment they jump, a time they repeat fires at its first
///   occurrence. A schedule for every hour (hour `*`) follows real time instead: it skips
///   the times that do not exist and fires again in the repeated hour.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    /// The expression as given.
    public let expression: String
    public let timeZone: TimeZone
    let seconds: [Int]
    let minutes: [Int]
    let hours: [Int]
    let daysOfMonth: Set<Int>
    let lastDayOfMonth: Bool
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let daysOfMonthRestricted: Bool
    let daysOfWeekRestricted: Bool
    let everyHour: Bool

    /// - Throws: ``CronExpressionError`` naming the field and what it allows.
    public init(_ expression: String, timeZone: TimeZone = TimeZone(identifier: "UTC")!) throws {
        self.expression = expression
        self.timeZone = timeZone
        let text = expression.trimmingCharacters(in: .whitespaces)
        let fields = (Self.macros[text.lowercased()] ?? text).split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let all: [String]
        switch fields.count {
        case 5: all = ["0"] + fields
        case 6: all = fields
        default:
            throw CronExpressionError(
                field: "expression", value: expression,
                allowed: "5 fields (minute hour day-of-month month day-of-week), 6 (second first), or @yearly, @monthly, @weekly, @daily, @hourly")
        }
        seconds = try CronField.second.values(all[0]).sorted()
        minutes = try CronField.minute.values(all[1]).sorted()
        hours = try CronField.hour.values(all[2]).sorted()
        lastDayOfMonth = all[3].uppercased() == "L"
        daysOfMonth = lastDayOfMonth ? [] : try CronField.dayOfMonth.values(all[3])
        months = try CronField.month.values(all[4])
        daysOfWeek = Set(try CronField.dayOfWeek.values(all[5]).map { $0 % 7 })
        daysOfMonthRestricted = !all[3].hasPrefix("*")
        daysOfWeekRestricted = !all[5].hasPrefix("*")
        everyHour = hours.count == 24

        // A day-of-month that no chosen month has never fires: say so now, not never.
        if !daysOfWeekRestricted, !lastDayOfMonth, !months.contains(where: { month in daysOfMonth.contains { $0 <= Self.longest(month) } }) {
            throw CronExpressionError(
                field: "day-of-month", value: all[3], allowed: "a day the chosen months have (\(all[4]) has at most \(months.map(Self.longest).max() ?? 31) days)")
        }
    }

    public var description: String { "\(expression) (\(timeZone.identifier))" }

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// The first time after `date` (strictly) at which the schedule fires; `nil` when it never
    /// does again (it always does within eight years when it fires at all).
    public func nextFire(after date: Date) -> Date? {
        let after = date.timeIntervalSince1970
        // Local wall-clock time as seconds since 1970 read as UTC. Start a day early: a
        // repeated hour's second occurrence has an earlier wall time than instants before it.
        let offset = timeZone.secondsFromGMT(for: date)
        var day = Int(((after + Double(offset)) / 86_400).rounded(.down)) - 1
        // No wall time below this happens after `date`, whatever the offset then.
        let offsets = [offset, timeZone.secondsFromGMT(for: date.addingTimeInterval(-86_400)), timeZone.secondsFromGMT(for: date.addingTimeInterval(86_400))]
        let earliestWall = Int((after + Double(offsets.min()!)).rounded(.down))
        for _ in 0..<(366 * 8 + 2) {
            defer { day += 1 }
            let (year, month, dayOfMonth) = Civil.date(fromDays: day)
            guard firesOn(year: year, month: month, day: dayOfMonth, weekday: Civil.weekday(ofDays: day)) else { continue }
            // Walking wall times upwards, first occurrences rise; a repeated time's second
            // occurrence may come before a later wall time's first one, never after it. So
            // the earliest fire is the first first-occurrence after `date`, or a second
            // occurrence met before it.
            var best: Double?
            walk: for hour in hours where day * 86_400 + hour * 3600 + 3599 >= earliestWall {
                for minute in minutes where day * 86_400 + hour * 3600 + minute * 60 + 59 >= earliestWall {
                    for second in seconds where day * 86_400 + hour * 3600 + minute * 60 + second >= earliestWall {
                        let wall = Double(day * 86_400 + hour * 3600 + minute * 60 + second)
                        for (instant, isSecond) in instants(ofWallTime: wall) where instant > after {
                            best = min(best ?? instant, instant)
                            if !isSecond { break walk }
                        }
                    }
                }
            }
            if let best { return Date(timeIntervalSince1970: best) }
        }
        return nil
    }

    /// The next `count` fire times after `date`.
    public func nextFires(after date: Date, count: Int) -> [Date] {
        var fires: [Date] = [], last = date
        while fires.count < count, let next = nextFire(after: last) {
            fires.append(next)
            last = next
        }
        return fires
    }

    func firesOn(year: Int, month: Int, day: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        let byMonthDay = lastDayOfMonth ? day == Civil.daysIn(month: month, year: year) : daysOfMonth.contains(day)
        let byWeekday = daysOfWeek.contains(weekday)
        return daysOfMonthRestricted && daysOfWeekRestricted ? byMonthDay || byWeekday : byMonthDay && byWeekday
    }

    /// The instants at which a wall-clock time happens in the time zone, each saying whether
    /// it is a repeated time's second occurrence: one normally; for a skipped time, the
    /// moment the clocks jump (none for an every-hour schedule); for a repeated time, the
    /// first occurrence and, for an every-hour schedule, the second.
    func instants(ofWallTime wall: Double) -> [(Double, Bool)] {
        let before = Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: wall - 86_400)))
        let after = Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: wall + 86_400)))
        let valid = Set([before, after]).filter { Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: wall - $0))) == $0 }
            .map { wall - $0 }.sorted()
        switch valid.count {
        case 0:
            guard !everyHour,
                let jump = timeZone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: wall - before - 86_400))
            else { return [] }
            return [(jump.timeIntervalSince1970, false)]
        case 1: return [(valid[0], false)]
        default: return everyHour ? [(valid[0], false), (valid[1], true)] : [(valid[0], false)]
        }
    }

    static func longest(_ month: Int) -> Int { Civil.daysIn(month: month, year: 2000) }
}

/// An expression that cannot be read, with the field at fault and what it allows.
public struct CronExpressionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `second`, `minute`, `hour`, `day-of-month`, `month`, `day-of-week`, or `expression`.
    public var field: String
    public var value: String
    public var allowed: String

    public var description: String { "cron \(field) '\(value)': allowed \(allowed)" }
}

/// One field of a cron expression: its range and names.
struct CronField {
    let name: String
    let range: ClosedRange<Int>
    let names: [String: Int]

    static let second = CronField(name: "second", range: 0...59, names: [:])
    static let minute = CronField(name: "minute", range: 0...59, names: [:])
    static let hour = CronField(name: "hour", range: 0...23, names: [:])
    static let dayOfMonth = CronField(name: "day-of-month", range: 1...31, names: [:])
    static let month = CronField(
        name: "month", range: 1...12,
        names: Dictionary(uniqueKeysWithValues: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].enumerated().map { ($1, $0 + 1) }))
    static let dayOfWeek = CronField(
        name: "day-of-week", range: 0...7,
        names: Dictionary(uniqueKeysWithValues: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"].enumerated().map { ($1, $0) }))

    var allowed: String {
        let named = names.isEmpty ? "" : " or names (\(names.sorted { $0.value < $1.value }.map(\.key).joined(separator: ",")))"
        return "\(range.lowerBound)-\(range.upperBound)\(named), as *, a value, a-b, */n, a-b/n, a/n or a comma list"
    }

    func values(_ text: String) throws -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            values.formUnion(try self.part(String(part), of: text))
        }
        return values
    }

    private func part(_ part: String, of text: String) throws -> [Int] {
        func refuse() -> CronExpressionError { CronExpressionError(field: name, value: text, allowed: allowed) }
        let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(pieces.count) else { throw refuse() }
        var step = 1
        if pieces.count == 2 {
            guard let given = Int(pieces[1]), given >= 1, given <= range.upperBound else { throw refuse() }
            step = given
        }
        let base = pieces[0]
        let low: Int, high: Int
        if base == "*" {
            (low, high) = (range.lowerBound, range.upperBound == 7 ? 6 : range.upperBound)  // `*` in day-of-week: 0-6
        } else if let dash = base.firstIndex(of: "-") {
            guard let from = value(base[..<dash]), let to = value(base[base.index(after: dash)...]), from <= to else { throw refuse() }
            (low, high) = (from, to)
        } else {
            guard let single = value(base) else { throw refuse() }
            (low, high) = (single, pieces.count == 2 ? range.upperBound : single)  // `a/n`: from a to the end
        }
        return Array(stride(from: low, through: high, by: step))
    }

    private func value(_ text: Substring) -> Int? {
        let value = Int(text) ?? names[text.uppercased()]
        return value.flatMap { range.contains($0) ? $0 : nil }
    }
}

/// Proleptic Gregorian calendar arithmetic on days since 1970-01-01, without Foundation's
/// calendar: the schedule walks day by day and needs nothing but dates and weekdays.
enum Civil {
    /// Year, month (1-12) and day (1-31) of a day counted from 1970-01-01.
    static func date(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468  // days from 0000-03-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// 0 for Sunday … 6 for Saturday (1970-01-01 was a Thursday).
    static func weekday(ofDays days: Int) -> Int { ((days % 7) + 11) % 7 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
