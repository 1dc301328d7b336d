import Foundation
import Scheduling
import Testing

/// Cron schedules: when they fire, table by table, including month ends, leap days and
/// daylight saving time; and what a bad expression is told.
@Suite struct CronScheduleTests {
    static func instant(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    struct Case: CustomTestStringConvertible, Sendable {
        var expression: String
        var zone = "UTC"
        var after: String
        var fires: [String]
        var testDescription: String { "\(expression) in \(zone) after \(after)" }
    }

    static let cases: [Case] = [
        Case(expression: "*/15 * * * *", after: "2026-12-01T10:07:00Z", fires: ["2026-12-01T10:15:00Z", "2026-12-01T10:30:00Z", "2026-12-01T10:45:00Z", "2026-12-01T11:00:00Z"]),
        Case(expression: "30 */10 * * * *", after: "2026-12-01T10:00:30Z", fires: ["2026-12-01T10:10:30Z", "2026-12-01T10:20:30Z"]),
        Case(expression: "* * * * * *", after: "2026-12-31T23:59:59Z", fires: ["2027-01-01T00:00:00Z", "2027-01-01T00:00:01Z"]),
        Case(expression: "@hourly", after: "2026-12-01T10:00:00Z", fires: ["2026-12-01T11:00:00Z"]),
        Case(expression: "@weekly", after: "2026-12-01T10:00:00Z", fires: ["2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z"]),  // Sundays
        // Month ends: the 31st only in months that have one; `L` the last day of each.
        Case(expression: "0 0 31 * *", after: "2026-01-31T00:00:00Z", fires: ["2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"]),
        Case(expression: "0 12 L * *", after: "2028-01-01T00:00:00Z", fires: ["2028-01-31T12:00:00Z", "2028-02-29T12:00:00Z", "2028-03-31T12:00:00Z", "2028-04-30T12:00:00Z"]),
        Case(expression: "0 12 L 2 *", after: "2026-03-01T00:00:00Z", fires: ["2027-02-28T12:00:00Z", "2028-02-29T12:00:00Z"]),
        // Leap days: every fourth year, but not 2100.
        Case(expression: "0 0 29 2 *", after: "2026-03-01T00:00:00Z", fires: ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]),
        Case(expression: "0 0 29 FEB *", after: "2096-03-01T00:00:00Z", fires: ["2104-02-29T00:00:00Z"]),
        // Day-of-month and day-of-week both restricted: either fires (Friday or the 13th).
        Case(expression: "0 0 13 * FRI", after: "2026-11-01T00:00:00Z", fires: ["2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z", "2026-11-27T00:00:00Z", "2026-12-04T00:00:00Z"]),
        Case(expression: "0 9 * JAN-MAR MON-FRI", after: "2026-12-31T00:00:00Z", fires: ["2027-01-01T09:00:00Z", "2027-01-04T09:00:00Z"]),
        Case(expression: "0 0 * * 7", after: "2026-12-01T00:00:00Z", fires: ["2026-12-06T00:00:00Z"]),  // 7 is Sunday too
        Case(expression: "5/20 8 1 1 *", after: "2026-06-01T00:00:00Z", fires: ["2027-01-01T08:05:00Z", "2027-01-01T08:25:00Z", "2027-01-01T08:45:00Z", "2028-01-01T08:05:00Z"]),
        // New York springs forward at 02:00 EST on 2026-03-08 (to 03:00 EDT): a fixed 02:30
        // fires when the clocks jump; an every-hour schedule skips the missing times.
        Case(expression: "30 2 * * *", zone: "America/New_York", after: "2026-03-07T12:00:00Z", fires: ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]),
        Case(expression: "*/30 * * * *", zone: "America/New_York", after: "2026-03-08T06:00:00Z", fires: ["2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"]),
        Case(expression: "15 * * * *", zone: "America/New_York", after: "2026-03-08T06:00:00Z", fires: ["2026-03-08T06:15:00Z", "2026-03-08T07:15:00Z"]),
        // …and falls back at 02:00 EDT on 2026-11-01 (to 01:00 EST): a fixed 01:30 fires once,
        // at its first occurrence; an every-hour schedule fires in both 01:00 hours.
        Case(expression: "30 1 * * *", zone: "America/New_York", after: "2026-10-31T12:00:00Z", fires: ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
        Case(expression: "0,30 * * * *", zone: "America/New_York", after: "2026-11-01T04:45:00Z",
             fires: ["2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"]),
        // London: 01:00 GMT on 2026-03-29 does not exist (the clocks jump to 02:00 BST).
        Case(expression: "0 1 * * *", zone: "Europe/London", after: "2026-03-28T12:00:00Z", fires: ["2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"]),
        Case(expression: "0 9 * * MON-FRI", zone: "Asia/Tokyo", after: "2026-12-04T00:00:00Z", fires: ["2026-12-07T00:00:00Z"]),  // 09:00 JST, Monday
    ]

    @Test(arguments: cases)
    func firesWhenTheTableSays(_ example: Case) throws {
        let schedule = try CronSchedule(example.expression, timeZone: try #require(TimeZone(identifier: example.zone)))
        let fires = schedule.nextFires(after: Self.instant(example.after), count: example.fires.count)
        #expect(fires.map(Self.iso) == example.fires)
    }

    /// Against a brute-force walk of every minute (UTC, five fields): the same next fire.
    @Test func agreesWithAMinuteByMinuteWalk() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let expressions = ["*/7 * * * *", "15 3,15 * * *", "0 */6 * * 1-5", "45 23 * * SAT,SUN", "0 0 1,15 * *", "10-20/5 4 * * *"]
        var generator = SystemRandomNumberGenerator()
        for expression in expressions {
            let schedule = try CronSchedule(expression)
            for _ in 0..<20 {
                let start = Date(timeIntervalSince1970: (Double(UInt32.random(in: 1_700_000_000...1_900_000_000, using: &generator)) / 60).rounded(.down) * 60)
                var minute = start.addingTimeInterval(60)
                while !Self.matches(expression, calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: minute)) {
                    minute.addTimeInterval(60)
                }
                #expect(schedule.nextFire(after: start) == minute, "\(expression) after \(Self.iso(start))")
            }
        }
    }

    /// A tiny reading of the expressions above (plain lists, ranges and steps; weekday
    /// names), independent of `CronSchedule`'s parser.
    static func matches(_ expression: String, _ c: DateComponents) -> Bool {
        let names = ["SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6]
        func field(_ text: Substring, _ value: Int, _ low: Int, _ high: Int) -> Bool {
            text.split(separator: ",").contains { part in
                let pieces = part.split(separator: "/")
                let step = pieces.count > 1 ? Int(pieces[1])! : 1
                let bounds = pieces[0] == "*" ? [low, high] : pieces[0].split(separator: "-").map { Int($0) ?? names[String($0)]! }
                let (from, to) = (bounds[0], bounds.count > 1 ? bounds[1] : bounds[0])
                return value >= from && value <= to && (value - from) % step == 0
            }
        }
        let f = expression.split(separator: " ")
        return field(f[0], c.minute!, 0, 59) && field(f[1], c.hour!, 0, 23) && field(f[2], c.day!, 1, 31)
            && field(f[3], c.month!, 1, 12) && field(f[4], c.weekday! - 1, 0, 6)
    }

    @Test(arguments: [
        ("60 * * * *", "minute"), ("* 24 * * *", "hour"), ("* * 0 * *", "day-of-month"), ("* * * 13 *", "month"),
        ("* * * * 8", "day-of-week"), ("* * * *", "expression"), ("* * * * * * *", "expression"), ("*/0 * * * *", "minute"),
        ("5-1 * * * *", "minute"), ("a * * * *", "minute"), ("1,,2 * * * *", "minute"), ("61 * * * * *", "second"),
        ("0 0 31 2 *", "day-of-month"), ("0 0 30 FEB *", "day-of-month"), ("0 0 31 4,6,9,11 *", "day-of-month"), ("* * * JAN-FOO *", "month"),
        ("@fortnightly", "expression"),
    ])
    func aBadExpressionNamesItsField(_ expression: String, _ field: String) {
        let error = #expect(throws: CronExpressionError.self) { try CronSchedule(expression) }
        #expect(error?.field == field, "\(expression): \(error.map(String.init(describing:)) ?? "")")
        #expect(error?.allowed.isEmpty == false)
    }

    @Test func theRangesAreSaidInTheError() {
        let error = #expect(throws: CronExpressionError.self) { try CronSchedule("* 25 * * *") }
        #expect(error?.description.contains("0-23") == true, "\(error.map(String.init(describing:)) ?? "")")
    }
}
