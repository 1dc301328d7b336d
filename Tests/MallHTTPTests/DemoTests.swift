import Foundation
import TestSupport
import Testing

/// `mall demo`, run as a user runs it, tells its whole story.
@Suite struct DemoTests {
    @Test func theDemoRunsToTheEndAndReachesEveryMilestone() async throws {
        let demo = Process()
        demo.executableURL = try MallServerProcess.executable()
        demo.arguments = ["demo", "--payment-window", "1"]
        let text = try await demo.runCapturingOutput()
        #expect(demo.terminationStatus == 0, "the demo exits cleanly:\n\(text)")

        let milestones = [
            "1. The shop opens: the demo catalog is seeded (22 products",
            "Ada's gold member price is USD 49.50",  // member price
            "Coupon C-",  // the coupon in the itemised quote
            "stock reserved and coupon redeemed",
            "is paid",
            "dead letter: demo.receipts",  // a failing subscriber…
            "receipts: sent the receipt for",  // …recovered from dead letters
            "teapot: 39 on hand, 0 reserved",  // shipping committed the stock
            "cancelled at its deadline; socks back to 10 available",  // the deadline returns stock…
            "available again",  // …and the coupon
            "OrderSubmitted → OrderAwaitingPayment → OrderPaid → OrderShipped → OrderCompleted",
            "OrderSubmitted → OrderAwaitingPayment → OrderCancelled",
            "9. Reconciliation: 2 orders, 22 stocks checked; no drift.",
        ]
        var rest = Substring(text)
        for milestone in milestones {
            guard let found = rest.range(of: milestone) else {
                Issue.record("missing, or out of order: \(milestone)\n\(text)")
                return
            }
            rest = rest[found.upperBound...]
        }
    }
}
