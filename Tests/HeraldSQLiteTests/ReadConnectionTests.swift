import Foundation
@testable import HeraldSQLite
import Testing

/// A read connection keeps its statements by their SQL, hashed by length and ending only:
/// statements that share both must still each run their own SQL.
@Suite("SQLite store: read connections")
struct ReadConnectionTests {
    @Test func statementsOfOneLengthAndEndingEachRunTheirOwnSQL() throws {
        let directory = try TemporaryDirectory()
        _ = try SQLiteEventStore(path: directory.file("read.sqlite"))  // lays out the file
        let connection = try ReadConnection(path: directory.file("read.sqlite"), busyTimeout: .seconds(1), memoryMap: 0)
        let ending = String(repeating: " ", count: 80) + "AS value"
        let first = "SELECT 1" + ending, second = "SELECT 2" + ending
        #expect(first.utf8.count == second.utf8.count)
        #expect(StatementKey(sql: first).hashValue == StatementKey(sql: second).hashValue, "the same bucket: the case under test")
        for _ in 0..<3 {
            #expect(try connection.value(first) as Int64? == 1)
            #expect(try connection.value(second) as Int64? == 2)
        }
    }

    @Test func moreStatementsThanItKeepsAllStillRun() throws {
        let directory = try TemporaryDirectory()
        _ = try SQLiteEventStore(path: directory.file("read.sqlite"))
        let connection = try ReadConnection(path: directory.file("read.sqlite"), busyTimeout: .seconds(1), memoryMap: 0)
        let count = ReadConnection.maximumStatements * 2 + 3
        for round in 0..<2 {
            for number in 0..<count {
                #expect(try connection.value("SELECT \(number)") as Int64? == Int64(number), "round \(round)")
            }
        }
    }
}
