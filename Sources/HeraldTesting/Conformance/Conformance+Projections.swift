import Foundation
import Herald
import Synchronization

extension EventStoreConformance {
    /// The tally projection the checks use: per counter stream, how many increments, their
    /// sum, the last version seen and how many arrived out of order; and one grand total.
    static func tally(version: Int = 1, failing: (@Sendable (Delivery) throws -> Void)? = nil) -> Projection {
        var streams = ProjectionTable(
            name: "streams",
            columns: [.init("stream", .text), .init("events", .integer), .init("amount", .integer),
                      .init("last_version", .integer), .init("out_of_order", .integer)],
            primaryKey: ["stream"], indexes: [["amount"]])
        if version >= 2 { streams.columns.append(.init("label", .text, nullable: true)) }
        let totals = ProjectionTable(name: "totals", columns: [.init("id", .text), .init("amount", .integer)], primaryKey: ["id"])
        return Projection(name: "tally", version: version, tables: [streams, totals], eventTypes: [TestIncremented.eventType], batchSize: 7) { delivery, rows in
            try failing?(delivery)
            let event = try delivery.decode(TestIncremented.self)
            let streamVersion = delivery.envelope.streamVersion
            let stream = delivery.envelope.stream.id
            let row = try await rows.row("streams", key: .text(stream))
            let last = try row?.integer("last_version") ?? 0
            var values: [String: ProjectionValue] = [
                "stream": .text(stream), "events": .integer((try row?.integer("events") ?? 0) + 1),
                "amount": .integer((try row?.integer("amount") ?? 0) + Int64(event.amount)), "last_version": .integer(streamVersion),
                "out_of_order": .integer((try row?.integer("out_of_order") ?? 0) + (streamVersion == last + 1 ? 0 : 1)),
            ]
            if version >= 2 { values["label"] = .text("v2:\(stream)") }
            try rows.upsert("streams", values)
            let total = try await rows.row("totals", key: .text("all"))
            try rows.upsert("totals", ["id": .text("all"), "amount": .integer((try total?.integer("amount") ?? 0) + Int64(event.amount))])
        }
    }

    /// The tally, folded from the log directly: what the projection's rows must equal.
    /// A projection of short texts, one row per stream, searched by title and body: a
    /// stream's second event changes its body (the kettle) or deletes its row ("gone").
    static func documents() -> Projection {
        let texts: [String: (title: String, body: String)] = [
            "creme": ("Crème brûlée set", "Ramekins and a torch"),
            "teapot": ("Glass teapot, 1 l", "Brews green leaves"),
            "tea": ("Jasmine green tea", "Loose leaf tea, 100 g"),
            "kettle": ("Kettle", "Boils water for tea"),
            "mug": ("Stoneware mug", "Holds tea; dishwasher-safe"),
            "gone": ("Vanishes", "Soon deleted"),
        ]
        let docs = ProjectionTable(
            name: "docs", columns: [.init("stream", .text), .init("title", .text), .init("body", .text), .init("events", .integer)],
            primaryKey: ["stream"], fullText: ["title", "body"])
        return Projection(name: "docs", version: 1, tables: [docs], eventTypes: [TestIncremented.eventType]) { delivery, rows in
            let stream = delivery.envelope.stream.id, version = delivery.envelope.streamVersion
            guard let text = texts[stream] else { return }
            if stream == "gone", version >= 2 { return try rows.delete("docs", key: .text(stream)) }
            let body = stream == "kettle" && version >= 2 ? "Boils fast" : text.body
            try rows.upsert("docs", ["stream": .text(stream), "title": .text(text.title), "body": .text(body), "events": .integer(version)])
        }
    }

    static func fold(_ h: Harness) async throws -> [String: (events: Int64, amount: Int64, last: Int64)] {
        var fold: [String: (events: Int64, amount: Int64, last: Int64)] = [:]
        for event in try await h.log(holding: 0) where event.eventType == TestIncremented.eventType {
            let amount = Int64(try JSONDecoder().decode(TestIncremented.self, from: event.payload).amount)
            let before = fold[event.stream.id] ?? (0, 0, 0)
            fold[event.stream.id] = (before.events + 1, before.amount + amount, event.streamVersion)
        }
        return fold
    }

    static func checkRowsEqualFold(_ h: Harness, _ projection: Projection, _ what: String) async throws {
        let fold = try await fold(h)
        let rows = try await h.engine.rows(projection, ProjectionQuery("streams").ordered(by: "stream"))
        try checkEqual(rows.map { try $0.text("stream") }, fold.keys.sorted(), "\(what): one row per stream")
        for row in rows {
            let expected = try required(fold[try row.text("stream")], "a row of a stream the log has")
            try checkEqual(try row.integer("events"), expected.events, "\(what): events of \(try row.text("stream"))")
            try checkEqual(try row.integer("amount"), expected.amount, "\(what): amount of \(try row.text("stream"))")
            try checkEqual(try row.integer("last_version"), expected.last, "\(what): last version of \(try row.text("stream"))")
            try checkEqual(try row.integer("out_of_order"), 0, "\(what): stream order of \(try row.text("stream"))")
        }
        let total = try await h.engine.rows(projection, ProjectionQuery("totals")).first
        try checkEqual(try total?.integer("amount") ?? 0, fold.values.reduce(0) { $0 + $1.amount }, "\(what): grand total")
    }

    public static let projections: [ConformanceTest] = [
        ConformanceTest(name: "a projection's rows equal a fold of the log, also after passes that failed halfway") { make in
            let h = try await Harness(make)
            let projection = tally()
            try await h.engine.prepare(projection)
            try await h.increment(["a", "b", "c"], times: 5)
            // A pass that dies in the middle of a batch (an outage mid-handler): nothing of it commits.
            let dying = try h.engine.projectionWorker(for: tally(failing: { delivery in
                if delivery.envelope.position == 9 { throw StoreError.unavailable("the process died here") }
            }))
            _ = try? await dying.drain()
            try await h.increment(["a", "d"], times: 3)
            let worker = try h.engine.projectionWorker(for: projection)
            try await worker.drain()
            try await checkRowsEqualFold(h, projection, "after a failed pass")
            try await h.increment(["e"], times: 2)
            try await worker.drain()
            try await checkRowsEqualFold(h, projection, "after more events")
        },
        ConformanceTest(name: "a rebuild fills fresh tables with the same rows and swaps them in") { make in
            let h = try await Harness(make)
            let projection = tally()
            try await h.increment(["a", "b"], times: 6)
            let worker = try h.engine.projectionWorker(for: projection)
            try await worker.drain()
            let before = try await h.engine.rows(projection, ProjectionQuery("streams").ordered(by: "stream"))
            let progress = ProgressLog()
            try await h.engine.rebuild(projection) { progress.append($0) }
            let state = try await h.engine.prepare(projection)
            try checkEqual(state.serving.number, 2, "the rebuilt generation serves")
            try check(state.building == nil, "no build left over")
            try checkEqual(try await h.engine.rows(projection, ProjectionQuery("streams").ordered(by: "stream")), before, "same rows")
            try check(progress.last?.position == progress.last?.head, "progress reached the head: \(progress.all)")
            // The worker of the replaced generation carries on, on the new tables.
            try await h.increment(["a", "c"], times: 2)
            try await worker.drain()
            try await checkRowsEqualFold(h, projection, "after the rebuild")
            let checkpoints = try await h.store.checkpoints()
            try check(checkpoints["tally@g1"] == nil, "the old generation's checkpoint is gone: \(checkpoints)")
        },
        ConformanceTest(name: "a rebuild drops the old generation's partitions: their checkpoints, leases and nodes") { make in
            let h = try await Harness(make)
            let projection = tally()
            try await h.increment(["a", "b"], times: 3)
            try await h.engine.projectionWorker(for: projection).drain()
            // The old generation as a partitioned projection's nodes leave it.
            let stood = try required(try await h.store.checkpoints()["tally@g1"], "the first generation's checkpoint")
            let partitions = (0..<3).map { Partitioning.checkpointName(subscription: "tally@g1", partition: $0, count: 3) }
            try await h.store.replaceCheckpoints(of: "tally@g1", expecting: ["tally@g1": stood], with: partitions, at: stood)
            let now = Date(), later = Date().addingTimeInterval(600)
            _ = try await h.store.heartbeat(group: "tally@g1", node: "node-a", now: now, expiresAt: later)
            _ = try await h.store.acquireLease(subscription: "tally@g1", partition: 0, owner: "node-a", now: now, expiresAt: later)
            try await h.store.replaceCheckpoints(of: "tally@g10", expecting: [:], with: ["tally@g10"], at: 0)  // not the first's

            try await h.engine.rebuild(projection)
            let left = try await h.store.checkpoints().keys.filter { $0.hasPrefix("tally@g1") }.sorted()
            try checkEqual(left, ["tally@g10"], "the first generation's partition checkpoints are gone, and only theirs")
            let leases = try await h.store.leases(subscription: "tally@g1")
            try check(leases.isEmpty, "its leases are gone: \(leases)")
            let nodes = try await h.store.heartbeat(group: "tally@g1", node: "node-b", now: now, expiresAt: later)
            try checkEqual(nodes, ["node-b"], "its nodes are gone")
            try await checkRowsEqualFold(h, projection, "after the rebuild")
        },
        ConformanceTest(name: "commits changing one projection's rows at once (its partitions, several nodes) all go through, each counted once") { make in
            let h = try await Harness(make)
            let projection = tally()
            let state = try await h.engine.prepare(projection)
            let totals = try required(state.serving.tables["totals"], "the totals table")
            let before = try await h.engine.version(of: projection)
            let store = h.store
            // Each commit holds the projection's row until it ends; two that each held it
            // shared, then wanted it for their count, would deadlock. (Three writers: on
            // PostgreSQL each waiting commit holds back the server-wide read horizon of the
            // suites running beside it.)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<3 {
                    group.addTask {
                        for round in 0..<10 {
                            var changeset = Changeset(recordedAt: Date())
                            changeset.projectionFence = ProjectionFence(projection: "tally", generation: state.serving.number)
                            changeset.projectionWrites = [
                                .upsert(table: totals, columns: ["id", "amount"], values: [.text("writer \(writer)"), .integer(Int64(round))], key: ["id"]),
                            ]
                            _ = try await store.commit(changeset)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let after = try await h.engine.version(of: projection)
            try checkEqual(after.changes - before.changes, 30, "every commit counted once")
            let rows = try await h.engine.rows(projection, ProjectionQuery("totals"))
            try checkEqual(try rows.map { try $0.integer("amount") }, Array(repeating: 9, count: 3), "each writer's last row")
        },
        ConformanceTest(name: "a projection's version moves with its rows and its generation, not with events it does not take") { make in
            let h = try await Harness(make)
            let projection = tally()
            var unknown: (any Error)?
            do { _ = try await h.engine.version(of: projection) } catch { unknown = error }
            try check(unknown as? ProjectionError == .unknownProjection("tally"), "a projection never prepared has no version: \(String(describing: unknown))")
            try await h.engine.prepare(projection)
            let empty = try await h.engine.version(of: projection)
            try checkEqual(empty, ProjectionVersion(generation: 1, changes: 0), "a new projection")
            let worker = try h.engine.projectionWorker(for: projection)
            try await h.increment(["a", "b"], times: 3)
            try checkEqual(try await h.engine.version(of: projection), empty, "new events not handled yet leave the version")
            try await worker.drain()
            let handled = try await h.engine.version(of: projection)
            try check(handled.generation == 1 && handled.changes > 0, "handled rows move the version: \(empty) → \(handled)")
            // Events of a type the projection does not take: its checkpoint moves past them, its rows and version stay.
            let checkpointBefore = try await h.store.checkpoints()["tally@g1"] ?? 0
            let work = h.engine.unitOfWork()
            for index in 0..<3 { try work.append(TestReminder(note: "\(index)"), to: StreamID(type: "Other", id: "o\(index)")) }
            try await work.commit()
            try await worker.drain()
            let checkpointAfter = try await h.store.checkpoints()["tally@g1"] ?? 0
            try check(checkpointAfter > checkpointBefore, "the checkpoint moved past the other events: \(checkpointBefore) → \(checkpointAfter)")
            try checkEqual(try await h.engine.version(of: projection), handled, "events the projection does not take leave the version")
            try await h.engine.rebuild(projection)
            let rebuilt = try await h.engine.version(of: projection)
            try checkEqual(rebuilt.generation, 2, "a rebuild serves another generation")
            try check(rebuilt != handled, "a rebuild moves the version")
        },
        ConformanceTest(name: "a row rewritten within a batch (changed columns, none, set to null, deleted and added again) ends as the log says") { make in
            let h = try await Harness(make)
            // Per stream: how many events; "odd" after an odd version, NULL after an even
            // one; a note that never changes; every third version deletes the row first.
            let table = ProjectionTable(
                name: "marks", columns: [.init("stream", .text), .init("events", .integer), .init("parity", .text, nullable: true), .init("note", .text)],
                primaryKey: ["stream"], indexes: [["parity", "stream"]])
            let projection = Projection(name: "marks", version: 1, tables: [table], eventTypes: [TestIncremented.eventType], batchSize: 50) { delivery, rows in
                let stream = delivery.envelope.stream.id, version = delivery.envelope.streamVersion
                let row = try await rows.row("marks", key: .text(stream))
                if version % 3 == 0 { try rows.delete("marks", key: .text(stream)) }
                try rows.upsert("marks", [
                    "stream": .text(stream), "events": .integer((try row?.integer("events") ?? 0) + 1),
                    "parity": version % 2 == 1 ? .text("odd") : .null, "note": .text("n"),
                ])
                // Written again unchanged: nothing more to write, the same row.
                try rows.upsert("marks", try required(try await rows.row("marks", key: .text(stream)), "the row just written").values)
            }
            try await h.increment(["a", "b"], times: 4)
            let worker = try h.engine.projectionWorker(for: projection)
            try await worker.drain()
            try await h.increment(["a"], times: 3)
            try await worker.drain()
            let rows = try await h.engine.rows(projection, ProjectionQuery("marks").ordered(by: "stream"))
            try checkEqual(try rows.map { try $0.text("stream") }, ["a", "b"], "one row per stream")
            try checkEqual(try rows.map { try $0.integer("events") }, [7, 4], "every event counted once")
            try checkEqual(rows.map { $0.values["parity"] }, [.text("odd"), .null], "the last version's parity, NULL included")
            try checkEqual(try rows.map { try $0.text("note") }, ["n", "n"], "an unchanged column kept")
            try checkEqual(try await h.engine.count(projection, ProjectionQuery("marks").where(.equals("parity", .text("odd")))), 1, "the index follows")
        },
        ConformanceTest(name: "a projection never shows rows of a transaction that has not committed") { make in
            let h = try await Harness(make)
            try await h.increment(["a"], times: 1)
            let inside = Rendezvous(parties: 2), release = Rendezvous(parties: 2)
            let projection = tally(failing: { _ in })
            let blocking = Projection(name: "tally", version: 1, tables: projection.tables, eventTypes: projection.eventTypes) { delivery, rows in
                try await projection.handler(delivery, rows)
                try await inside.arrive("the handler staged its rows")
                try await release.arrive("the check looked")
            }
            try await h.engine.prepare(blocking)
            let worker = try h.engine.projectionWorker(for: blocking)
            let draining = Task { try await worker.drain() }
            try await inside.arrive("the check waits for the handler")
            try checkEqual(try await h.engine.count(blocking, ProjectionQuery("streams")), 0, "staged rows are not visible before the commit")
            try await release.arrive("the check lets the handler go")
            _ = try await draining.value
            try checkEqual(try await h.engine.count(blocking, ProjectionQuery("streams")), 1, "visible after the commit")
        },
        ConformanceTest(name: "a new version of a projection is built from the log and swapped in; queries wait for it") { make in
            let h = try await Harness(make)
            try await h.increment(["a", "b"], times: 3)
            let first = tally(version: 1)
            try await h.engine.projectionWorker(for: first).drain()
            let second = tally(version: 2)
            let state = try await h.engine.prepare(second)
            try checkEqual(state.serving.version, 1, "version 1 serves until version 2 is built")
            let early = try await checkThrows(ProjectionError.self, "a version 2 query before the build") {
                try await h.engine.rows(second, ProjectionQuery("streams"))
            }
            try checkEqual(early, .notReady(projection: "tally", serving: 1, declared: 2), "names both versions")
            try await h.engine.projectionWorker(for: second).drain()
            let labels = try await h.engine.rows(second, ProjectionQuery("streams").ordered(by: "stream")).map { try $0.text("label") }
            try checkEqual(labels, ["v2:a", "v2:b"], "version 2's rows")
            _ = try await checkThrows(ProjectionError.self, "old code's query after the swap") { try await h.engine.rows(first, ProjectionQuery("streams")) }
        },
        ConformanceTest(name: "full-text search finds the same rows on every store: whole words, any case and accent, prefixes, kept through updates, deletes and a rebuild") { make in
            let h = try await Harness(make)
            let projection = documents()
            try await h.increment(["creme", "teapot", "tea", "kettle", "mug", "gone"], times: 1)
            try await h.increment(["kettle", "gone"], times: 1)  // the kettle's text changes, "gone" is deleted
            try await h.engine.projectionWorker(for: projection).drain()
            func found(_ text: String, _ query: (ProjectionQuery) -> ProjectionQuery = { $0.ordered(by: "stream") }) async throws -> [String] {
                try await h.engine.rows(projection, query(ProjectionQuery("docs").where(.matches(FullTextSearch(text))))).map { try $0.text("stream") }
            }
            try checkEqual(try await found("creme"), ["creme"], "accents folded in the text")
            try checkEqual(try await found("CRÈME  Brûlée"), ["creme"], "and in the search, any case")
            try checkEqual(try await found("tea"), ["mug", "tea"], "whole words only: not teapot, not the kettle's old text")
            try checkEqual(try await found("tea*"), ["mug", "tea", "teapot"], "a prefix")
            try checkEqual(try await found("green tea"), ["tea"], "every word, in any column")
            try checkEqual(try await found("dishwasher safe"), ["mug"], "words split at punctuation")
            try checkEqual(try await found("1"), ["teapot"], "digits are words")
            try checkEqual(try await found("boils fast"), ["kettle"], "the text after an update")
            try checkEqual(try await found("water tea"), [], "an update's old words are gone")
            try checkEqual(try await found("vanishes"), [], "a deleted row is gone")
            try checkEqual(try await found("*!?"), [], "a search without words finds nothing")
            // Terms built by hand keep only their letters and digits: a store's query syntax
            // in them is no syntax, and a term left empty matches nothing.
            let crafted = FullTextSearch(terms: [.init("tea\" OR \"creme"), .init("green | crème")])
            try checkEqual(crafted.terms.map(\.word), ["teaorcreme", "greencreme"], "syntax folded away")
            try checkEqual(try await h.engine.rows(projection, ProjectionQuery("docs").where(.matches(crafted))).count, 0, "and found as the words they are")
            try checkEqual(try await h.engine.rows(projection, ProjectionQuery("docs").where(.matches(FullTextSearch(terms: [.init("tea"), .init("!!")]))))
                .count, 0, "a term left empty matches nothing")
            try checkEqual(try await found("tea*", { $0.orderedByRelevance() }).first, "tea", "relevance: in the title and the body, the best")
            try checkEqual(try await h.engine.count(projection, ProjectionQuery("docs").where(.matches(FullTextSearch("tea*"))).where(.equals("stream", .text("mug")))),
                           1, "count, with another condition")
            try checkEqual(try await found("tea*", { $0.ordered(by: "stream").page(size: 1, offset: 1) }), ["tea"], "a page")
            try await h.engine.rebuild(projection)
            try checkEqual(try await found("tea*"), ["mug", "tea", "teapot"], "the same after a rebuild")
            try checkEqual(try await found("boils fast"), ["kettle"], "the updated text after a rebuild")
            _ = try await checkThrows(ProjectionError.self, "a search of a table without full-text columns") {
                try await h.engine.rows(tally(), ProjectionQuery("streams").where(.matches(FullTextSearch("tea"))))
            }
        },
        ConformanceTest(name: "projection queries filter, order, page and count alike on every store") { make in
            let h = try await Harness(make)
            for (id, times) in [("apple", 1), ("apricot", 2), ("banana", 3), ("cherry", 4), ("date", 5)] { try await h.increment([id], times: times) }
            let projection = tally()
            try await h.engine.projectionWorker(for: projection).drain()
            func skus(_ query: ProjectionQuery) async throws -> [String] { try await h.engine.rows(projection, query).map { try $0.text("stream") } }
            let streams = ProjectionQuery("streams")
            try checkEqual(try await skus(streams.where(.hasPrefix("stream", "ap")).ordered(by: "stream")), ["apple", "apricot"], "prefix")
            try checkEqual(try await skus(streams.where(.contains("stream", "an")).ordered(by: "stream")), ["banana"], "contains")
            try checkEqual(try await skus(streams.where(.atLeast("events", .integer(3))).ordered(by: "events", ascending: false)),
                           ["date", "cherry", "banana"], "range, descending")
            try checkEqual(try await skus(streams.where(.greaterThan("events", .integer(1))).where(.lessThan("events", .integer(5)))
                .ordered(by: "stream").page(size: 2, offset: 1)), ["banana", "cherry"], "two conditions, a page")
            try checkEqual(try await skus(streams.where(.equals("events", .integer(4)))), ["cherry"], "equals")
            try checkEqual(try await skus(streams.where(.oneOf("stream", [.text("date"), .text("apple"), .text("fig")])).ordered(by: "stream")),
                           ["apple", "date"], "one of several values")
            try checkEqual(try await skus(streams.where(.oneOf("stream", []))), [], "one of no values")
            try checkEqual(try await h.engine.count(projection, streams.where(.atMost("events", .integer(2)))), 2, "count")
            let early = ProjectionQuery.Condition.inRows("stream", table: "streams", select: "stream", where: [.atMost("events", .integer(3))])
            try checkEqual(try await skus(streams.where(.atLeast("events", .integer(2))).where(early).where(.hasPrefix("stream", "b"))
                .ordered(by: "stream")), ["banana"], "in rows of a table, between other conditions")
            try checkEqual(try await h.engine.count(projection, streams.where(early)), 3, "count in rows of a table")
            try checkEqual(try await skus(streams.where(.inRows("stream", table: "totals", select: "id", where: []))), [], "in rows of another table")
            try checkEqual(try await skus(streams.where(.inRows("out_of_order", table: "streams", select: "out_of_order", where: [])).ordered(by: "stream")),
                           ["apple", "apricot", "banana", "cherry", "date"], "in rows whose selected values repeat: each row once")
            _ = try await checkThrows(ProjectionError.self, "in rows of an unknown table") {
                try await h.engine.rows(projection, streams.where(.inRows("stream", table: "nope", select: "id", where: [])))
            }
            _ = try await checkThrows(ProjectionError.self, "in rows, an unknown column of the other table") {
                try await h.engine.rows(projection, streams.where(.inRows("stream", table: "totals", select: "id", where: [.equals("nope", .integer(1))])))
            }
            try checkEqual(try await skus(streams.where(.contains("stream", "%")).ordered(by: "stream")), [], "LIKE wildcards are literal")
            // Keyset pages: after (events, stream) = (2, "apricot"), ascending and descending.
            try checkEqual(try await skus(streams.where(.after(["events", "stream"], [.integer(2), .text("apricot")]))
                .ordered(by: "events").ordered(by: "stream").page(size: 2)), ["banana", "cherry"], "the page after a row")
            try checkEqual(try await skus(streams.where(.after(["events", "stream"], [.integer(3), .text("banana")], descending: true))
                .ordered(by: "events", ascending: false).ordered(by: "stream", ascending: false)), ["apricot", "apple"], "the page after a row, descending")
            try checkEqual(try await skus(streams.where(.after(["stream"], [.text("banana")])).where(.hasPrefix("stream", "c"))
                .ordered(by: "stream")), ["cherry"], "after a row, with another condition")
            try checkEqual(try await h.engine.count(projection, streams.where(.after(["events", "stream"], [.integer(4), .text("a")]))), 2,
                           "a tie on the first column is broken by the next: (4, cherry) and (5, date)")
            _ = try await checkThrows(ProjectionError.self, "after, with fewer values than columns") {
                try await h.engine.rows(projection, streams.where(.after(["events", "stream"], [.integer(1)])))
            }
            _ = try await checkThrows(ProjectionError.self, "an unknown column") { try await h.engine.rows(projection, streams.where(.equals("nope", .integer(1)))) }
            _ = try await checkThrows(ProjectionError.self, "a value of the wrong type") {
                try await h.engine.rows(projection, streams.where(.equals("events", .text("four"))))
            }
        },
    ]
}

/// Progress reports of a rebuild, across tasks.
final class ProgressLog: Sendable {
    private let entries = Mutex<[ProjectionRebuildProgress]>([])
    func append(_ entry: ProjectionRebuildProgress) { entries.withLock { $0.append(entry) } }
    var all: [ProjectionRebuildProgress] { entries.withLock { $0 } }
    var last: ProjectionRebuildProgress? { all.last }
}
