import Foundation
import Herald
import HeraldSQLite
@_spi(Operations) import MallApplication
import MallOperations
import MallKernel
import MallOrdering

/// `mall-bench --stages`: what each stage of an order costs, in process, on a real SQLite
/// file, one stage at a time (so nothing else runs alongside and the numbers add up):
///
/// - `stage_place_order_us`: the use case behind `POST /orders` without HTTP — a session
///   lookup, pricing, the order's commit;
/// - `stage_<subscription>_us`: one subscription draining the events those orders caused,
///   per order (`ordering.process` and `inventory.reservations` do the work; the others
///   only read past events they do not want).
///
/// Microseconds of wall time per order; the host's speed swings, so compare keys of one run.
enum StageBench {
    static func run(orders: Int, members memberCount: Int) async throws -> [(String, Double)] {
        let file = TemporarySQLiteFile("mall-bench-stages")
        defer { file.remove() }
        var configuration = MallConfiguration()
        configuration.database = file.path
        configuration.passwordCost = 4
        configuration.maxUnpaidOrdersPerMember = 10_000  // the benchmark's members never pay
        let engine = HeraldEngine(store: try SQLiteEventStore(path: file.path), registry: .mall, logger: quietLogger)
        let mall = Mall(engine: engine, configuration: configuration)
        try await mall.prepareProjections()
        let workers = try mall.subscriptions().map(engine.worker(for:))
        let projectors = try mall.projections().map(engine.projectionWorker(for:))
        func settle() async throws {
            for _ in 0..<100 {
                var handled = 0
                for worker in workers { handled += try await worker.drain().handled }
                for projector in projectors { handled += try await projector.drain().handled }
                if handled == 0 { return }
            }
        }
        _ = try await mall.seedDemoCatalogIfEmpty()
        var tokens: [String] = []
        for index in 0..<memberCount {
            let email = "stage-\(index)@example.com"
            _ = try await mall.register(email: email, password: "correct horse", name: "Stage \(index)")
            tokens.append(try await mall.members.logIn(email: email, password: "correct horse"))
        }
        for sku in MallBench.skus { try await mall.receiveStock(sku: sku, quantity: 1_000_000) }
        try await settle()

        var results: [(String, Double)] = []
        let address = Address(name: "Bench", phone: "+1 555 0100", line1: "1 Loop Road", city: "Localhost", postcode: "12345")
        let start = ContinuousClock.now
        for index in 0..<orders {
            let memberID = try await mall.memberID(forToken: tokens[index % tokens.count])
            let request = PlaceOrder(
                lines: [StockLine(sku: MallBench.skus[index % MallBench.skus.count], quantity: 1)], address: address, paymentMethod: "card")
            _ = try await mall.placeOrder(memberID: memberID, request)
        }
        results.append(("stage_place_order_us", (ContinuousClock.now - start).seconds * 1e6 / Double(orders)))
        // In pipeline order, so each drains what the one before produced.
        let order = ["inventory.reservations", "ordering.process"]
        for worker in workers.sorted(by: { (order.firstIndex(of: $0.subscription.name) ?? 9) < (order.firstIndex(of: $1.subscription.name) ?? 9) }) {
            let begin = ContinuousClock.now
            try await worker.drain()
            results.append(("stage_\(worker.subscription.name)_us", (ContinuousClock.now - begin).seconds * 1e6 / Double(orders)))
        }
        let waiting = try await mall.orders(memberID: try await mall.memberID(forToken: tokens[0]))
        guard waiting.allSatisfy({ $0.status == "awaitingPayment" }) else { throw BenchError("stage run: orders did not reach awaiting payment") }
        results.append(("stage_total_us", results.map(\.1).reduce(0, +)))
        return results
    }
}
