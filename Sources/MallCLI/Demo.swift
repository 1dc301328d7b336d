import ArgumentParser
import Foundation
import Herald
import Logging
import MallApplication
import MallComposition
import MallOperations
import MallOrdering
import MallKernel
import MallOrderingEvents
import MallPayment
import Synchronization

/// `mall demo`: the shopping story (coupon, member price, a paid order, an unpaid one cancelled at its deadline, a failing subscriber recovered), in-process on a throwaway database.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the scripted shopping story in-process and print it step by step.")

    @Option(help: "Seconds the unpaid order may wait for payment.") var paymentWindow: Double = 2

    func run() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mall-demo-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        var configuration = MallConfiguration()
        configuration.database = path
        configuration.paymentWindow = try MallConfiguration.paymentWindow(String(paymentWindow), setting: "--payment-window")
        configuration.passwordCost = 6
        configuration.metrics = false
        configuration.tracing = false
        configuration.seedDemoCatalog = false  // the story seeds it, as its first step
        let quiet = Logger(label: "mall-demo", factory: { _ in SwiftLogNoOpLogHandler() })
        try await Mall.withMall(configuration, logger: quiet) { mall in try await Self.story(mall) }
    }

    private static func story(_ mall: Mall) async throws {
        _ = try await mall.establishGatewaySecret()  // this throwaway shop's own, as on a first start

        // A subscriber with a bug: it cannot send the receipt of one order until "fixed".
        let fixed = Mutex(false)
        let poisoned = Mutex<String?>(nil)
        let sent = Mutex<Set<String>>([])
        let receipts = Subscription(
            name: "demo.receipts", eventTypes: [OrderPaid.eventType],
            retryPolicy: try RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(20), maxDelay: .milliseconds(50)),
            pollInterval: .milliseconds(100),
            handler: .external(inbox: true) { delivery in
                let paid = try delivery.decode(OrderPaid.self)
                if paid.orderID == poisoned.withLock({ $0 }), !fixed.withLock({ $0 }) {
                    throw DemoFailure(detail: "mail template for \(paid.orderID) is broken")
                }
                say("   receipts: sent the receipt for \(paid.orderID) (\(paid.amount))")
                sent.withLock { _ = $0.insert(paid.orderID) }
            })
        let fast = try RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))
        let service = try mall.service(retryPolicy: fast, also: [receipts], schedulerPollInterval: .milliseconds(100))
        let running = Task { try await service.run() }
        defer { running.cancel() }

        say("1. The shop opens: the demo catalog is seeded (22 products, stock, 3 promotions, a welcome coupon campaign).")
        try await mall.seedDemoCatalogIfEmpty()
        try await eventually("the price list is built from the catalog's events") {
            (try? await mall.quote(lines: [StockLine(sku: "socks-wool", quantity: 1)], memberID: nil)) != nil
        }

        say("2. Ada registers, is made a gold member, and claims a welcome coupon.")
        let ada = try await mall.register(email: "ada@example.com", password: "correct horse battery", name: "Ada")
        try await mall.changeLevel(memberID: ada, to: .gold)
        let coupon = try await mall.issueCoupon(campaignID: "welcome", to: ada)
        try await eventually("Pricing hears Ada is gold") {
            let view = try await mall.product(sku: "book-ddd", memberID: ada)
            return view.yourPrice?.minorUnits == 4950
        }
        let book = try await mall.product(sku: "book-ddd", memberID: ada)
        say("   book-ddd lists at \(book.product.listPrice); Ada's gold member price is \(book.yourPrice!)")

        say("3. Ada orders a teapot and jasmine tea with her coupon; the server prices it:")
        let address = Address(name: "Ada Lovelace", phone: "+44 20 7946 0000", line1: "12 St James's Square", city: "London", postcode: "SW1Y 4JH")
        let first = try await mall.placeOrder(
            memberID: ada, PlaceOrder(lines: [StockLine(sku: "teapot", quantity: 1), StockLine(sku: "tea-jasmine", quantity: 2)],
                                     address: address, paymentMethod: "card", couponCode: coupon)).order
        printQuote(first.quote)
        try await waitFor(first.id, "awaitingPayment", in: mall)
        say("   stock reserved and coupon redeemed: order \(first.id) awaits payment")

        say("4. Ada pays; the gateway's callback arrives twice (a duplicate has no second effect).")
        poisoned.withLock { $0 = first.id }
        let payment = try await mall.startPayment(orderID: first.id, memberID: ada)
        let callback = try await mall.signedCallback(paymentID: payment.paymentID, outcome: .succeeded)
        try await mall.paymentCallback(callback)
        try await mall.paymentCallback(callback)
        try await waitFor(first.id, "paid", in: mall)
        say("   order \(first.id) is paid")

        say("5. The receipts subscriber fails on that order: 3 attempts, then a dead letter.")
        try await eventually("the receipt is dead-lettered") { try await !mall.deadLetters().isEmpty }
        for letter in try await mall.deadLetters() {
            say("   dead letter: \(letter.subscription) #\(letter.position) \(letter.eventType) after \(letter.attempts) attempts: \(letter.lastError ?? "")")
        }
        say("   the bug is fixed and the dead letter replayed:")
        fixed.withLock { $0 = true }
        try await mall.replayDeadLetters(.all)
        try await eventually("the replayed receipt is sent") { sent.withLock { $0.contains(first.id) } }

        say("6. The order ships (stock leaves the warehouse) and Ada confirms receipt.")
        try await mall.shipOrder(id: first.id)
        try await mall.completeOrder(id: first.id, memberID: ada)
        try await eventually("stock is committed") { try await mall.stock(sku: "teapot").reserved == 0 }
        let teapot = try await mall.stock(sku: "teapot")
        say("   teapot: \(teapot.onHand) on hand, \(teapot.reserved) reserved")

        say("7. Bob orders two pairs of socks and a camping stove with his coupon, and never pays.")
        let bob = try await mall.register(email: "bob@example.com", password: "tr0ub4dor&3 horse", name: "Bob")
        let bobsCoupon = try await mall.issueCoupon(campaignID: "welcome", to: bob)
        let socksBefore = try await mall.stock(sku: "socks-wool")
        let unpaid = try await mall.placeOrder(
            memberID: bob, PlaceOrder(lines: [StockLine(sku: "socks-wool", quantity: 2), StockLine(sku: "stove-camp", quantity: 1)],
                                     address: address, paymentMethod: "wallet", couponCode: bobsCoupon)).order
        try await waitFor(unpaid.id, "awaitingPayment", in: mall)
        let held = try await mall.stock(sku: "socks-wool")
        say("   socks: \(socksBefore.available) → \(held.available) available; coupon \(bobsCoupon) redeemed")
        let window = Double(mall.configuration.paymentWindow.components.seconds)
        say("   waiting for the \(window)-second payment deadline…")
        try await waitFor(unpaid.id, "cancelled", in: mall, timeout: window + 10)
        try await eventually("stock and coupon return") {
            let stockBack = try await mall.stock(sku: "socks-wool").available == socksBefore.available
            let couponBack = try await mall.coupons(memberID: bob).first { $0.code == bobsCoupon }?.status == "available"
            return stockBack && couponBack
        }
        say("   order \(unpaid.id) cancelled at its deadline; socks back to \(socksBefore.available) available, coupon \(bobsCoupon) available again")

        say("8. Timelines:")
        for id in [first.id, unpaid.id] {
            let order = try await mall.order(id: id, memberID: nil)
            say("   \(id): " + order.timeline.map(\.event).joined(separator: " → "))
        }

        let report = try await mall.reconcile(submittedGrace: .zero)
        say("9. Reconciliation: \(report.orders) orders, \(report.stocks) stocks checked; \(report.drifts.isEmpty ? "no drift" : "\(report.drifts.count) drift(s)").")
        for drift in report.drifts { say("   DRIFT \(drift)") }
        running.cancel()
        if !report.drifts.isEmpty { throw ExitCode(1) }
    }

    private static func printQuote(_ quote: QuoteBody) {
        for line in quote.lines {
            say("   \(line.quantity) × \(line.title) at \(line.unitListPrice) = \(line.listAmount)")
            for adjustment in line.adjustments { say("       − \(adjustment.amount)  \(adjustment.rule)") }
        }
        say("   goods \(quote.goodsTotal) + freight \(quote.freight) (\(quote.freightRule)) = total \(quote.total)")
    }

    /// Waits until the order's status is `status` (as the API writes it: `awaitingPayment`, `paid`…).
    private static func waitFor(_ orderID: String, _ status: String, in mall: Mall, timeout: Double = 10) async throws {
        try await eventually("order \(orderID) is \(status)", timeout: timeout) {
            try await mall.order(id: orderID, memberID: nil).status == status
        }
    }
}

struct DemoFailure: Error, CustomStringConvertible {
    var detail: String
    var description: String { detail }
}

/// Polls `condition` until it holds; the demo runs on the real clock.
func eventually(_ what: String, timeout: Double = 10, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw ValidationError("demo stalled: \(what) did not happen within \(timeout) s")
}

/// Prints a line at once, unbuffered, so the story reads live even through a pipe.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Prints a line on standard error, unbuffered: for what must not go where standard
/// output goes (a secret shown once).
func sayOnStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
