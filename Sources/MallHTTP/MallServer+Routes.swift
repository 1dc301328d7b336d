import Foundation
import Herald
import HTTPTypes
import Hummingbird
import MallApp
import MallCatalog
import MallEvents
import MallMembers
import MallOrdering
import MallPayment
import MallPricing

extension MallServer {
    func addHealthRoutes(to router: Router<MallRequestContext>) {
        router.get("/health/live") { _, _ in try JSON.response(["status": "live"]) }
        router.get("/health/ready") { _, _ in
            try await mall.checkReady()  // an unreachable store becomes 503 within 2 s
            return try JSON.response(["status": "ready"])
        }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
    }

    func addMemberRoutes(to router: Router<MallRequestContext>) {
        router.post("/members") { request, _ in
            let body = try await JSON.decode(RegisterRequest.self, from: request, limit: bodyLimit)
            let id = try await mall.members.register(email: body.email, password: body.password, name: body.name)
            return try JSON.response(RegisterResponse(id: id), status: .created)
        }
        router.post("/sessions") { request, _ in
            let body = try await JSON.decode(SessionRequest.self, from: request, limit: bodyLimit)
            let token = try await mall.members.logIn(email: body.email, password: body.password)
            let memberID = try await mall.members.memberID(forToken: token)
            return try JSON.response(SessionResponse(token: token, memberId: memberID), status: .created)
        }
        router.get("/coupons") { request, _ in
            let member = try await member(request)
            return try JSON.response(try await mall.pricing.wallet(memberID: member.id).coupons.map(CouponDTO.init))
        }
        router.post("/coupons") { request, _ in
            let member = try await member(request)
            let body = try await JSON.decode(ClaimCouponRequest.self, from: request, limit: bodyLimit)
            let code = try await mall.pricing.issueCoupon(campaignID: body.campaignId, to: member.id)
            return try JSON.response(CouponCodeResponse(code: code), status: .created)
        }
    }

    func addShopRoutes(to router: Router<MallRequestContext>) {
        router.get("/products") { request, _ in
            let page = try request.page()
            let category = request.uri.queryParameters.get("category").flatMap { $0.isEmpty ? nil : $0 }
            let text = request.uri.queryParameters.get("q")
            let sort = try request.uri.queryParameters.get("sort").map { value in
                guard let sort = ProductSearch.Sort(rawValue: value) else {
                    throw InvalidInput(field: "sort", "one of \(ProductSearch.Sort.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return sort
            } ?? .title
            let search = ProductSearch(category: category, text: text, sort: sort, page: page)
            let (items, total) = try await mall.catalog.products(search)
            return try JSON.response(ProductPage(items: items, page: page, pageSize: CatalogService.pageSize, total: total))
        }
        router.get("/products/{sku}") { request, context in
            let member = try await optionalMember(request)
            return try JSON.response(try await mall.product(sku: try Self.sku(context), memberID: member?.id))
        }
        router.get("/cart") { request, _ in
            let member = try await member(request)
            return try JSON.response(try await mall.cart(memberID: member.id))
        }
        router.put("/cart/lines/{sku}") { request, context in
            let member = try await member(request)
            let body = try await JSON.decode(QuantityRequest.self, from: request, limit: bodyLimit)
            return try JSON.response(try await mall.setCartLine(memberID: member.id, sku: try Self.sku(context), quantity: body.quantity))
        }
        router.delete("/cart/lines/{sku}") { request, context in
            let member = try await member(request)
            try await mall.carts.remove(memberID: member.id, sku: try Self.sku(context))
            return try JSON.response(try await mall.cart(memberID: member.id))
        }
    }

    func addOrderRoutes(to router: Router<MallRequestContext>) {
        router.post("/orders") { request, _ in
            let member = try await member(request)
            let body = try await JSON.decode(PlaceOrder.self, from: request, limit: bodyLimit)
            let key = request.headers[HTTPField.Name("Idempotency-Key")!]
            let (order, created) = try await mall.placeOrder(memberID: member.id, body, idempotencyKey: key)
            // A retry under the same key gets the first response again (the order as it was
            // created, status 201), marked as a replay.
            var response = try JSON.response(OrderDTO(order), status: .created)
            if !created { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
            return response
        }
        router.get("/orders") { request, _ in
            let member = try await member(request)
            return try JSON.response(try await mall.ordering.orders(memberID: member.id, page: try request.page()).map(OrderSummaryDTO.init))
        }
        router.get("/orders/{id}") { request, context in
            let member = try await member(request)
            return try JSON.response(OrderDTO(try await mall.ordering.order(id: try context.parameters.require("id"), memberID: member.id)))
        }
        router.post("/orders/{id}/cancel") { request, context in
            let member = try await member(request)
            return try JSON.response(OrderDTO(try await mall.ordering.cancel(id: try context.parameters.require("id"), memberID: member.id)))
        }
        router.post("/orders/{id}/complete") { request, context in
            let member = try await member(request)
            return try JSON.response(OrderDTO(try await mall.ordering.complete(id: try context.parameters.require("id"), memberID: member.id)))
        }
        router.post("/orders/{id}/payments") { request, context in
            let member = try await member(request)
            let (payment, created) = try await mall.startPayment(orderID: try context.parameters.require("id"), memberID: member.id)
            // A repeat returns the payment already started (200), never a second one.
            return try JSON.response(PaymentStarted(paymentId: payment.id, amount: payment.amount), status: created ? .created : .ok)
        }
        router.post("/payment-gateway/callbacks") { request, _ in
            let body = try await JSON.decode(GatewayCallback.self, from: request, limit: bodyLimit)
            let payment = try await mall.payments.callback(try body.report(), signature: body.signature)
            return try JSON.response(CallbackResult(paymentId: payment.id, orderId: payment.orderID, status: payment.status.rawValue))
        }
    }

    func addAdminRoutes(to router: Router<MallRequestContext>) {
        let admin = router.group("/admin")
        admin.post("/products") { request, _ in
            try await requireAdmin(request)
            let body = try await JSON.decode(ProductRequest.self, from: request, limit: bodyLimit)
            guard let sku = body.sku else { throw InvalidInput(field: "sku", "is required") }
            let details = ProductDetails(sku: sku, title: body.title, category: body.category, description: body.description ?? "", weightGrams: body.weightGrams)
            return try JSON.response(try await mall.catalog.list(details, price: body.price), status: .created)
        }
        admin.put("/products/{sku}") { request, context in
            try await requireAdmin(request)
            let body = try await JSON.decode(ProductRequest.self, from: request, limit: bodyLimit)
            let sku = try Self.sku(context)
            if let given = body.sku, !Self.isSKU(given) { throw InvalidInput(field: "sku", "1 to 64 letters, digits, '-' or '_' (the path's SKU is the one updated)") }
            let details = ProductDetails(sku: sku, title: body.title, category: body.category, description: body.description ?? "", weightGrams: body.weightGrams)
            return try JSON.response(try await mall.catalog.update(details, price: body.price))
        }
        admin.delete("/products/{sku}") { request, context in
            try await requireAdmin(request)
            return try JSON.response(try await mall.catalog.delist(sku: try Self.sku(context)))
        }
        admin.post("/stock/{sku}/receipts") { request, context in
            try await requireAdmin(request)
            let sku = try Self.sku(context)
            _ = try await mall.catalog.product(sku: sku)  // stock only for products we sell
            let body = try await JSON.decode(StockReceipt.self, from: request, limit: bodyLimit)
            let stock = try await mall.inventory.receive(sku: sku, quantity: body.quantity)
            return try JSON.response(StockDTO(sku: sku, onHand: stock.onHand, reserved: stock.reserved, available: stock.available), status: .created)
        }
        admin.get("/stock/{sku}") { request, context in
            try await requireAdmin(request)
            let stock = try await mall.inventory.stock(sku: try Self.sku(context))
            return try JSON.response(StockDTO(sku: stock.sku, onHand: stock.onHand, reserved: stock.reserved, available: stock.available))
        }
        admin.post("/orders/{id}/ship") { request, context in
            try await requireAdmin(request)
            return try JSON.response(OrderDTO(try await mall.ordering.ship(id: try context.parameters.require("id"))))
        }
        admin.get("/orders/{id}") { request, context in
            try await requireAdmin(request)
            return try JSON.response(OrderDTO(try await mall.ordering.order(id: try context.parameters.require("id"), memberID: nil)))
        }
        admin.post("/coupon-campaigns") { request, _ in
            try await requireAdmin(request)
            let body = try await JSON.decode(CampaignRequest.self, from: request, limit: bodyLimit)
            let campaign = try await mall.pricing.createCampaign(id: body.id, name: body.name, terms: try body.terms())
            return try JSON.response(["id": campaign.id], status: .created)
        }
        admin.post("/coupon-campaigns/{id}/coupons") { request, context in
            try await requireAdmin(request)
            let body = try await JSON.decode(IssueCouponRequest.self, from: request, limit: bodyLimit)
            do {
                _ = try await mall.members.member(id: body.memberId)
            } catch MemberProblem.memberNotFound {
                throw RuleViolation(field: "memberId", "no member \(body.memberId)")  // the campaign exists; the body names no one
            }
            let code = try await mall.pricing.issueCoupon(campaignID: try context.parameters.require("id"), to: body.memberId)
            return try JSON.response(CouponCodeResponse(code: code), status: .created)
        }
        admin.post("/promotions") { request, _ in
            try await requireAdmin(request)
            let body = try await JSON.decode(PromotionRequest.self, from: request, limit: bodyLimit)
            try await mall.pricing.addPromotion(try body.promotion())
            return try JSON.response(["id": body.id], status: .created)
        }
        admin.put("/members/{id}/level") { request, context in
            try await requireAdmin(request)
            let body = try await JSON.decode(LevelRequest.self, from: request, limit: bodyLimit)
            let id = try context.parameters.require("id")
            try await mall.members.changeLevel(memberID: id, to: body.level)
            return try JSON.response(["id": id, "level": body.level.rawValue])
        }
        admin.get("/subscriptions") { request, _ in
            try await requireAdmin(request)
            return try JSON.response(try await mall.engine.subscriptionStatuses())
        }
        admin.get("/dead-letters") { request, _ in
            try await requireAdmin(request)
            return try JSON.response(try await mall.engine.deadLetters.list().map(DeadLetterDTO.init))
        }
        admin.post("/dead-letters/replay") { request, _ in
            try await requireAdmin(request)
            let body = try await JSON.decode(DeadLetterSelection.self, from: request, limit: bodyLimit)
            return try JSON.response(CountResponse(count: try await mall.engine.deadLetters.replay(body.filter)))
        }
        admin.post("/dead-letters/discard") { request, _ in
            try await requireAdmin(request)
            let body = try await JSON.decode(DeadLetterSelection.self, from: request, limit: bodyLimit)
            return try JSON.response(CountResponse(count: try await mall.engine.deadLetters.discard(body.filter)))
        }
        admin.get("/reconciliation") { request, _ in
            try await requireAdmin(request)
            return try JSON.response(try await mall.reconcile())
        }
    }
}
