/// The OpenAPI 3.1 description of every route, served at `/openapi.yaml`.
///
/// `OpenAPIRoutesTests` proves each route of ``MallServer/router()`` is here with its
/// method (and nothing else is), and `scripts/schemathesis.sh` checks live responses
/// against these schemas.
public enum OpenAPIDocument {
    public static let yaml = #"""
openapi: 3.1.0
info:
  title: Mall
  version: 0.1.0
  description: >
    The Mall e-commerce back end. Money is integer minor units with an ISO 4217 currency.
    Errors are application/problem+json (RFC 9457) and name the offending field.
servers:
  - url: http://127.0.0.1:8080
components:
  securitySchemes:
    member:
      type: http
      scheme: bearer
      description: A token from POST /sessions.
    admin:
      type: http
      scheme: bearer
      description: The admin token (configured, or printed once on first start).
  parameters:
    sku:
      name: sku
      in: path
      required: true
      schema: {type: string, pattern: '^[A-Za-z0-9_-]{1,64}$'}
    orderId:
      name: id
      in: path
      required: true
      schema: {type: string}
    page:
      name: page
      in: query
      required: false
      schema: {type: integer, minimum: 1, maximum: 10000}
  responses:
    BadRequest: {description: Malformed or out-of-range input, content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}}
    Unauthorized: {description: Missing or invalid bearer token, content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}}
    Forbidden: {description: Not the admin token, content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}}
    NotFound: {description: Not found, or not yours, content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}}
    Conflict: {description: Conflicts with the current state, content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}}
    TooLarge: {description: Request body too large, content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}}
    Unprocessable: {description: Against a business rule, content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}}
    Unavailable: {description: Storage unavailable; retry after the Retry-After seconds, content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}}
  schemas:
    Problem:
      type: object
      required: [type, title, status, detail]
      properties:
        type: {type: string}
        title: {type: string}
        status: {type: integer}
        detail: {type: string}
        field: {type: string}
    Money:
      type: object
      required: [minorUnits, currency]
      properties:
        minorUnits: {type: integer}
        currency: {type: string}
    PaymentStarted:
      type: object
      required: [paymentId, amount]
      properties:
        paymentId: {type: string}
        amount: {$ref: '#/components/schemas/Money'}
    StockLine:
      type: object
      required: [sku, quantity]
      properties:
        sku: {type: string}
        quantity: {type: integer}
    ProductSummary:
      type: object
      required: [sku, title, category, description, listPrice, weightGrams, onSale]
      properties:
        sku: {type: string}
        title: {type: string}
        category: {type: string}
        description: {type: string}
        listPrice: {$ref: '#/components/schemas/Money'}
        weightGrams: {type: integer}
        onSale: {type: boolean}
    ProductPage:
      type: object
      required: [items, page, pageSize, total]
      properties:
        items: {type: array, items: {$ref: '#/components/schemas/ProductSummary'}}
        page: {type: integer}
        pageSize: {type: integer}
        total: {type: integer}
    ProductView:
      type: object
      required: [product, available]
      properties:
        product: {$ref: '#/components/schemas/ProductSummary'}
        yourPrice: {$ref: '#/components/schemas/Money'}
        available: {type: integer}
    Adjustment:
      type: object
      required: [rule, kind, amount]
      properties:
        rule: {type: string}
        kind: {type: string, enum: [productPromotion, groupPromotion, memberPrice, coupon]}
        amount: {$ref: '#/components/schemas/Money'}
    QuoteLine:
      type: object
      required: [sku, title, quantity, unitListPrice, listAmount, adjustments, netAmount]
      properties:
        sku: {type: string}
        title: {type: string}
        quantity: {type: integer}
        unitListPrice: {$ref: '#/components/schemas/Money'}
        listAmount: {$ref: '#/components/schemas/Money'}
        adjustments: {type: array, items: {$ref: '#/components/schemas/Adjustment'}}
        netAmount: {$ref: '#/components/schemas/Money'}
    PriceQuote:
      type: object
      required: [currency, lines, discounts, listTotal, discountTotal, goodsTotal, freight, freightRule, total]
      properties:
        currency: {type: string}
        lines: {type: array, items: {$ref: '#/components/schemas/QuoteLine'}}
        discounts: {type: array, items: {$ref: '#/components/schemas/Adjustment'}}
        listTotal: {$ref: '#/components/schemas/Money'}
        discountTotal: {$ref: '#/components/schemas/Money'}
        goodsTotal: {$ref: '#/components/schemas/Money'}
        freight: {$ref: '#/components/schemas/Money'}
        freightRule: {type: string}
        total: {$ref: '#/components/schemas/Money'}
        couponCode: {type: string}
    CartView:
      type: object
      required: [lines]
      properties:
        lines: {type: array, items: {$ref: '#/components/schemas/StockLine'}}
        quote: {$ref: '#/components/schemas/PriceQuote'}
        problem: {type: string}
    Address:
      type: object
      required: [name, phone, line1, city, postcode]
      properties:
        name: {type: string, minLength: 1, maxLength: 100}
        phone: {type: string, minLength: 1, maxLength: 32}
        line1: {type: string, minLength: 1, maxLength: 200}
        city: {type: string, minLength: 1, maxLength: 100}
        postcode: {type: string, minLength: 1, maxLength: 16}
    PlaceOrder:
      type: object
      required: [address, paymentMethod, delivery]
      description: Give `lines`, or `fromCart` true. Prices are always computed by the server.
      properties:
        lines: {type: array, items: {$ref: '#/components/schemas/StockLine'}}
        fromCart: {type: boolean}
        address: {$ref: '#/components/schemas/Address'}
        paymentMethod: {type: string, enum: [card, wallet]}
        delivery: {type: string, enum: [standard, express]}
        couponCode: {type: string}
    TimelineEntry:
      type: object
      required: [at, event, detail]
      properties:
        at: {type: string, format: date-time}
        event: {type: string}
        detail: {type: string}
    Order:
      type: object
      required: [id, status, lines, quote, address, paymentMethod, delivery, submittedAt, timeline]
      properties:
        id: {type: string}
        status: {type: string, enum: [submitted, awaitingPayment, paid, shipped, completed, cancelled]}
        lines: {type: array, items: {$ref: '#/components/schemas/QuoteLine'}}
        quote: {$ref: '#/components/schemas/PriceQuote'}
        address: {$ref: '#/components/schemas/Address'}
        paymentMethod: {type: string}
        delivery: {type: string}
        submittedAt: {type: string, format: date-time}
        paymentDeadline: {type: string, format: date-time}
        paymentId: {type: string}
        cancellation:
          type: object
          required: [reason, detail]
          properties:
            reason: {type: string, enum: [customer, paymentDeadline, outOfStock, couponRejected]}
            detail: {type: string}
        timeline: {type: array, items: {$ref: '#/components/schemas/TimelineEntry'}}
    OrderSummary:
      type: object
      required: [id, status, total, submittedAt]
      properties:
        id: {type: string}
        status: {type: string}
        total: {$ref: '#/components/schemas/Money'}
        submittedAt: {type: string, format: date-time}
    Coupon:
      type: object
      required: [code, campaignId, status]
      properties:
        code: {type: string}
        campaignId: {type: string}
        status: {type: string, enum: [available, redeemed]}
        orderId: {type: string}
    Stock:
      type: object
      required: [sku, onHand, reserved, available]
      properties:
        sku: {type: string}
        onHand: {type: integer}
        reserved: {type: integer}
        available: {type: integer}
    Price:
      type: object
      description: A list price in the shop's currency.
      required: [minorUnits, currency]
      properties:
        minorUnits: {type: integer, minimum: 1, maximum: 100000000}
        currency: {type: string, enum: [USD]}
    ProductRequest:
      type: object
      required: [title, category, weightGrams, price]
      properties:
        sku: {type: string, pattern: '^[A-Za-z0-9_-]{1,64}$', description: Required when creating.}
        title: {type: string, minLength: 1, maxLength: 200, pattern: '^\S(.*\S)?$'}
        category: {type: string, minLength: 1, maxLength: 64, pattern: '^\S(.*\S)?$'}
        description: {type: string, maxLength: 2000}
        weightGrams: {type: integer, minimum: 0, maximum: 100000}
        price: {$ref: '#/components/schemas/Price'}
    SubscriptionStatus:
      type: object
      required: [name, checkpoint, lag, retrying, dead, held]
      properties:
        name: {type: string}
        checkpoint: {type: integer}
        lag: {type: integer}
        retrying: {type: integer}
        dead: {type: integer}
        held: {type: integer}
    DeadLetter:
      type: object
      required: [subscription, position, eventId, eventType, stream, attempts, heldBehind]
      properties:
        subscription: {type: string}
        position: {type: integer}
        eventId: {type: string}
        eventType: {type: string}
        stream: {type: string}
        attempts: {type: integer}
        lastError: {type: string}
        heldBehind: {type: integer}
    DeadLetterSelection:
      type: object
      description: No field selects every dead letter.
      properties:
        subscription: {type: string}
        position: {type: integer}
        eventType: {type: string}
    Count:
      type: object
      required: [count]
      properties:
        count: {type: integer}
    Id:
      type: object
      required: [id]
      properties:
        id: {type: string}
    Status:
      type: object
      required: [status]
      properties:
        status: {type: string}
paths:
  /health/live:
    get:
      summary: The process is up.
      responses:
        '200': {description: Live, content: {application/json: {schema: {$ref: '#/components/schemas/Status'}}}}
  /health/ready:
    get:
      summary: The store is reachable and migrated.
      responses:
        '200': {description: Ready, content: {application/json: {schema: {$ref: '#/components/schemas/Status'}}}}
        '503': {$ref: '#/components/responses/Unavailable'}
  /openapi.yaml:
    get:
      summary: This document.
      responses:
        '200': {description: The OpenAPI document, content: {application/yaml: {schema: {type: string}}}}
  /members:
    post:
      summary: Register a member.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [email, password, name]
              properties:
                email: {type: string, format: email}
                password: {type: string, minLength: 8, maxLength: 128}
                name: {type: string, minLength: 1, maxLength: 100}
      responses:
        '201': {description: Registered, content: {application/json: {schema: {$ref: '#/components/schemas/Id'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /sessions:
    post:
      summary: Log in; returns a bearer token.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [email, password]
              properties:
                email: {type: string}
                password: {type: string}
      responses:
        '201':
          description: Logged in
          content:
            application/json:
              schema:
                type: object
                required: [token, memberId]
                properties:
                  token: {type: string}
                  memberId: {type: string}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /products:
    get:
      summary: Products on sale, by title; filter by category and text.
      parameters:
        - {name: category, in: query, required: false, schema: {type: string}}
        - {name: q, in: query, required: false, schema: {type: string}}
        - {$ref: '#/components/parameters/page'}
      responses:
        '200': {description: One page, content: {application/json: {schema: {$ref: '#/components/schemas/ProductPage'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
  /products/{sku}:
    get:
      summary: One product, with the caller's price when logged in.
      security: [{}, {member: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      responses:
        '200': {description: The product, content: {application/json: {schema: {$ref: '#/components/schemas/ProductView'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
  /cart:
    get:
      summary: The member's cart with a fresh, itemised quote.
      security: [{member: []}]
      responses:
        '200': {description: The cart, content: {application/json: {schema: {$ref: '#/components/schemas/CartView'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
  /cart/lines/{sku}:
    put:
      summary: Set a line's quantity.
      security: [{member: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [quantity]
              properties:
                quantity: {type: integer, minimum: 1, maximum: 999}
      responses:
        '200': {description: The cart, content: {application/json: {schema: {$ref: '#/components/schemas/CartView'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
        '422': {$ref: '#/components/responses/Unprocessable'}
    delete:
      summary: Remove a line.
      security: [{member: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      responses:
        '200': {description: The cart, content: {application/json: {schema: {$ref: '#/components/schemas/CartView'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '409': {$ref: '#/components/responses/Conflict'}
  /coupons:
    get:
      summary: The member's coupons.
      security: [{member: []}]
      responses:
        '200': {description: Coupons, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Coupon'}}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
    post:
      summary: Claim a coupon of a campaign (within its per-member limit).
      security: [{member: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [campaignId]
              properties:
                campaignId: {type: string}
      responses:
        '201':
          description: Claimed
          content: {application/json: {schema: {type: object, required: [code], properties: {code: {type: string}}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
        '422': {$ref: '#/components/responses/Unprocessable'}
  /orders:
    get:
      summary: The member's orders, newest first.
      security: [{member: []}]
      parameters: [{$ref: '#/components/parameters/page'}]
      responses:
        '200': {description: Orders, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/OrderSummary'}}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
    post:
      summary: Submit an order. With Idempotency-Key, a retry returns the first response.
      description: >-
        A retry under the same Idempotency-Key with the same body creates nothing and gets the
        first response again: status 201 and the order as it was when created (not its current
        state; GET /orders/{id} has that), with the header `Idempotent-Replayed: true`. The
        same key with a different body is 409.
      security: [{member: []}]
      parameters:
        - {name: Idempotency-Key, in: header, required: false, schema: {type: string, minLength: 1, maxLength: 128, pattern: '^[!-~]+$'}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/PlaceOrder'}
      responses:
        '201':
          description: Submitted (or, for a retry, the first response again)
          headers:
            Idempotent-Replayed: {description: 'true when this is the replayed first response of a retry', schema: {type: string, enum: ['true']}}
          content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
        '422': {$ref: '#/components/responses/Unprocessable'}
  /orders/{id}:
    get:
      summary: One of the member's orders, with its timeline.
      security: [{member: []}]
      parameters: [{$ref: '#/components/parameters/orderId'}]
      responses:
        '200': {description: The order, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
  /orders/{id}/cancel:
    post:
      summary: Cancel before payment.
      security: [{member: []}]
      parameters: [{$ref: '#/components/parameters/orderId'}]
      responses:
        '200': {description: The order, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
  /orders/{id}/complete:
    post:
      summary: Confirm receipt of a shipped order.
      security: [{member: []}]
      parameters: [{$ref: '#/components/parameters/orderId'}]
      responses:
        '200': {description: The order, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
  /orders/{id}/payments:
    post:
      summary: Start paying an order that awaits payment.
      security: [{member: []}]
      parameters: [{$ref: '#/components/parameters/orderId'}]
      responses:
        '201':
          description: Payment started
          content:
            application/json:
              schema: {$ref: '#/components/schemas/PaymentStarted'}
        '200':
          description: The order's payment was started already and has not failed; it is returned, nothing new is created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/PaymentStarted'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
  /payment-gateway/callbacks:
    post:
      summary: The gateway reports a payment's outcome. Idempotent.
      description: >-
        `signature` is the hex HMAC-SHA256, under the install's gateway secret, of
        "<timestamp>.<paymentId>.<outcome>.<amount.minorUnits>.<amount.currency>".
        A bad signature, a timestamp more than 5 minutes from the server's clock, or an
        amount or currency other than the payment's is refused with 401 and changes nothing.
        `mall gateway sign --payment ID --outcome succeeded` prints such a body.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [paymentId, outcome, amount, timestamp, signature]
              properties:
                paymentId: {type: string}
                outcome: {type: string, enum: [succeeded, failed]}
                amount: {$ref: '#/components/schemas/Money'}
                timestamp: {type: integer, format: int64, description: Unix seconds}
                signature: {type: string, pattern: '^[0-9a-fA-F]{64}$'}
      responses:
        '200':
          description: Recorded (or already recorded)
          content:
            application/json:
              schema:
                type: object
                required: [paymentId, orderId, status]
                properties:
                  paymentId: {type: string}
                  orderId: {type: string}
                  status: {type: string}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /admin/products:
    post:
      summary: List a product.
      security: [{admin: []}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/ProductRequest'}}}}
      responses:
        '201': {description: Listed, content: {application/json: {schema: {$ref: '#/components/schemas/ProductSummary'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /admin/products/{sku}:
    put:
      summary: Update a product's details and price.
      security: [{admin: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/ProductRequest'}}}}
      responses:
        '200': {description: Updated, content: {application/json: {schema: {$ref: '#/components/schemas/ProductSummary'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
    delete:
      summary: Delist a product.
      security: [{admin: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      responses:
        '200': {description: Delisted, content: {application/json: {schema: {$ref: '#/components/schemas/ProductSummary'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
  /admin/stock/{sku}:
    get:
      summary: Stock of a SKU.
      security: [{admin: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      responses:
        '200': {description: Stock, content: {application/json: {schema: {$ref: '#/components/schemas/Stock'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
  /admin/stock/{sku}/receipts:
    post:
      summary: Goods arrived.
      security: [{admin: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [quantity], properties: {quantity: {type: integer, minimum: 1}}}
      responses:
        '201': {description: Received, content: {application/json: {schema: {$ref: '#/components/schemas/Stock'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /admin/orders/{id}:
    get:
      summary: Any order.
      security: [{admin: []}]
      parameters: [{$ref: '#/components/parameters/orderId'}]
      responses:
        '200': {description: The order, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '404': {$ref: '#/components/responses/NotFound'}
  /admin/orders/{id}/ship:
    post:
      summary: Ship a paid order (its stock is committed).
      security: [{admin: []}]
      parameters: [{$ref: '#/components/parameters/orderId'}]
      responses:
        '200': {description: Shipped, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
  /admin/coupon-campaigns:
    post:
      summary: Start a coupon campaign (amountOff, or percentOffBasisPoints with an optional cap).
      security: [{admin: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [id, name, minimumSpend]
              properties:
                id: {type: string, pattern: '^[A-Za-z0-9-]{1,64}$'}
                name: {type: string, minLength: 1, maxLength: 100, pattern: '^\S(.*\S)?$'}
                amountOff: {$ref: '#/components/schemas/Money'}
                percentOffBasisPoints: {type: integer, minimum: 1, maximum: 10000}
                cap: {$ref: '#/components/schemas/Money'}
                minimumSpend: {$ref: '#/components/schemas/Money'}
                categories: {type: array, items: {type: string}}
                skus: {type: array, items: {type: string}}
                validFrom: {type: string, format: date-time}
                validUntil: {type: string, format: date-time}
                perMemberLimit: {type: integer, minimum: 1, maximum: 100}
      responses:
        '201': {description: Created, content: {application/json: {schema: {$ref: '#/components/schemas/Id'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /admin/coupon-campaigns/{id}/coupons:
    post:
      summary: Issue a coupon of the campaign to a member.
      security: [{admin: []}]
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [memberId], properties: {memberId: {type: string}}}
      responses:
        '201':
          description: Issued
          content: {application/json: {schema: {type: object, required: [code], properties: {code: {type: string}}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
        '422': {$ref: '#/components/responses/Unprocessable'}
  /admin/promotions:
    post:
      summary: Add a promotion; multi-product promotions apply in the order added.
      security: [{admin: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [id, name, kind]
              properties:
                id: {type: string}
                name: {type: string}
                kind: {type: string, enum: [productDiscount, spendAndSave, quantityDiscount, cheapestFree]}
                sku: {type: string}
                rateBasisPoints: {type: integer}
                threshold: {$ref: '#/components/schemas/Money'}
                saving: {$ref: '#/components/schemas/Money'}
                repeating: {type: boolean}
                minimumItems: {type: integer}
                groupSize: {type: integer}
                freeItems: {type: integer}
                categories: {type: array, items: {type: string}}
                skus: {type: array, items: {type: string}}
                validFrom: {type: string, format: date-time}
                validUntil: {type: string, format: date-time}
      responses:
        '201': {description: Added, content: {application/json: {schema: {$ref: '#/components/schemas/Id'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /admin/members/{id}/level:
    put:
      summary: Change a member's level.
      security: [{admin: []}]
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [level], properties: {level: {type: string, enum: [regular, silver, gold]}}}
      responses:
        '200':
          description: Changed
          content: {application/json: {schema: {type: object, required: [id, level], properties: {id: {type: string}, level: {type: string}}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /admin/subscriptions:
    get:
      summary: Every subscription's checkpoint, lag, retrying, dead and held counts.
      security: [{admin: []}]
      responses:
        '200': {description: Statuses, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/SubscriptionStatus'}}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
  /admin/dead-letters:
    get:
      summary: Dead letters.
      security: [{admin: []}]
      responses:
        '200': {description: Dead letters, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/DeadLetter'}}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
  /admin/dead-letters/replay:
    post:
      summary: Replay the selected dead letters.
      security: [{admin: []}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/DeadLetterSelection'}}}}
      responses:
        '200': {description: How many, content: {application/json: {schema: {$ref: '#/components/schemas/Count'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /admin/dead-letters/discard:
    post:
      summary: Discard the selected dead letters.
      security: [{admin: []}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/DeadLetterSelection'}}}}
      responses:
        '200': {description: How many, content: {application/json: {schema: {$ref: '#/components/schemas/Count'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /admin/reconciliation:
    get:
      summary: Check every cross-context rule; report drift.
      security: [{admin: []}]
      responses:
        '200':
          description: The report
          content:
            application/json:
              schema:
                type: object
                required: [orders, stocks, wallets, payments, drifts, lag]
                properties:
                  orders: {type: integer}
                  stocks: {type: integer}
                  wallets: {type: integer}
                  payments: {type: integer}
                  drifts:
                    type: array
                    items:
                      type: object
                      required: [rule, subject, detail]
                      properties:
                        rule: {type: string}
                        subject: {type: string}
                        detail: {type: string}
                  lag: {type: object, additionalProperties: {type: integer}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
"""#
}
