/// The OpenAPI 3.1 description of every route, served at `/openapi.yaml`.
///
/// `OpenAPIRoutesTests` proves each route of ``MallServer/router()`` is here with its
/// method (and nothing else is), and `scripts/schemathesis.sh` checks live responses
/// against these schemas.
public enum OpenAPIDocument {
    /// One line of text that is not blank: what `String.validated(field:maxLength:)` accepts.
    /// Surrounding whitespace (Unicode White_Space, spelled out: regex `\s` differs between
    /// engines) is allowed, and trimmed by the server; inside, no control characters.
    /// Lengths count Unicode scalars, on the server as in JSON Schema.
    static let line = #"'^[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F\u2028\u2029]([^\x00-\x1F\x7F-\x9F\u2028\u2029]*[^\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00-\x1F\x7F-\x9F\u2028\u2029])?[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$'"#
    /// Text that may span lines (a description): no control characters but line breaks and tabs.
    static let multiline = #"'^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u2028\u2029]*$'"#
    /// A phone number: digits, spaces and `+ - ( )`, surrounding whitespace trimmed.
    static let phone = #"'^[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[0-9()+-]([0-9 ()+-]*[0-9()+-])?[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$'"#

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
    Unavailable:
      description: Storage unavailable; retry after the Retry-After seconds
      headers: {Retry-After: {schema: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}}}
      content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
    Overloaded:
      description: Password hashing (or storage) is busy; retry after the Retry-After seconds
      headers: {Retry-After: {schema: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}}}
      content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
  schemas:
    Problem:
      type: object
      required: [type, title, status, detail]
      properties:
        type: {type: string}
        title: {type: string}
        status: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        detail: {type: string}
        field: {type: string}
    Money:
      type: object
      required: [minorUnits, currency]
      properties:
        minorUnits: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        currency: {type: string}
    PositiveAmount:
      type: object
      description: An amount of more than zero in the shop's currency.
      required: [minorUnits, currency]
      properties:
        minorUnits: {type: integer, format: int64, minimum: 1, maximum: 9223372036854775807}
        currency: {type: string, enum: [USD]}
    AmountOrZero:
      type: object
      description: An amount of zero or more in the shop's currency.
      required: [minorUnits, currency]
      properties:
        minorUnits: {type: integer, format: int64, minimum: 0, maximum: 9223372036854775807}
        currency: {type: string, enum: [USD]}
    NullableMoney:
      oneOf: [{$ref: '#/components/schemas/Money'}, {type: 'null'}]
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
        sku: {type: string, pattern: '^[A-Za-z0-9_-]{1,64}$'}
        quantity: {type: integer, minimum: 1, maximum: 999, description: 'At most 20 units of a SKU per order by default (409 beyond; MALL_MAX_LINE_QUANTITY).'}
    ProductSummary:
      type: object
      required: [sku, title, category, description, listPrice, weightGrams, onSale]
      properties:
        sku: {type: string}
        title: {type: string}
        category: {type: string}
        description: {type: string}
        listPrice: {$ref: '#/components/schemas/Money'}
        weightGrams: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        onSale: {type: boolean}
    ProductPage:
      type: object
      required: [items, page, pageSize, total]
      properties:
        items: {type: array, items: {$ref: '#/components/schemas/ProductSummary'}}
        page: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        pageSize: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        total: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
    ProductView:
      type: object
      required: [product, available]
      properties:
        product: {$ref: '#/components/schemas/ProductSummary'}
        yourPrice: {$ref: '#/components/schemas/Money'}
        available: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
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
        quantity: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
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
        name: {type: string, minLength: 1, maxLength: 100, pattern: \#(line)}
        phone: {type: string, minLength: 1, maxLength: 32, pattern: \#(phone)}
        line1: {type: string, minLength: 1, maxLength: 200, pattern: \#(line)}
        city: {type: string, minLength: 1, maxLength: 100, pattern: \#(line)}
        postcode: {type: string, minLength: 1, maxLength: 16, pattern: \#(line)}
    PlaceOrder:
      type: object
      required: [address, paymentMethod, delivery]
      description: >-
        Give `lines`, or `fromCart` true (not both). Prices are always computed by the server.
        A member may have 5 orders awaiting payment at once by default (409 beyond;
        MALL_MAX_UNPAID_ORDERS).
      oneOf:
        - required: [lines]
          properties: {lines: {type: array}, fromCart: {enum: [false, null]}}
        - required: [fromCart]
          properties: {fromCart: {const: true}, lines: {type: 'null'}}
      examples:
        - lines: [{sku: cocoa, quantity: 1}]
          address: {name: Ada Lovelace, phone: '+44 20 7946 0000', line1: 12 St James's Square, city: London, postcode: SW1Y 4JH}
          paymentMethod: card
          delivery: standard
      properties:
        lines:
          anyOf:
            - {type: array, minItems: 1, maxItems: 100, items: {$ref: '#/components/schemas/StockLine'}}
            - {type: 'null'}
        fromCart: {type: [boolean, 'null']}
        address: {$ref: '#/components/schemas/Address'}
        paymentMethod: {type: string, enum: [card, wallet]}
        delivery: {type: string, enum: [standard, express]}
        couponCode: {type: [string, 'null'], minLength: 1, maxLength: 64}
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
        onHand: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        reserved: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        available: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
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
        sku: {type: [string, 'null'], pattern: '^[A-Za-z0-9_-]{1,64}$', description: Required when creating; ignored when updating.}
        title: {type: string, minLength: 1, maxLength: 200, pattern: \#(line)}
        category: {type: string, minLength: 1, maxLength: 64, pattern: \#(line)}
        description: {type: [string, 'null'], maxLength: 2000, pattern: \#(multiline)}
        weightGrams: {type: integer, minimum: 0, maximum: 100000}
        price: {$ref: '#/components/schemas/Price'}
    SubscriptionStatus:
      type: object
      required: [name, checkpoint, lag, retrying, dead, held]
      properties:
        name: {type: string}
        checkpoint: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        lag: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        retrying: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        dead: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        held: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
    DeadLetter:
      type: object
      required: [subscription, position, eventId, eventType, stream, attempts, heldBehind]
      properties:
        subscription: {type: string}
        position: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        eventId: {type: string}
        eventType: {type: string}
        stream: {type: string}
        attempts: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        lastError: {type: string}
        heldBehind: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
    DeadLetterSelection:
      type: object
      description: No field (or null) selects every dead letter.
      properties:
        subscription: {type: [string, 'null']}
        position: {type: [integer, 'null'], format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
        eventType: {type: [string, 'null']}
    Count:
      type: object
      required: [count]
      properties:
        count: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
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
      operationId: register
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
                name: {type: string, minLength: 1, maxLength: 100, pattern: \#(line)}
      responses:
        '201': {description: Registered, content: {application/json: {schema: {$ref: '#/components/schemas/Id'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
        '503': {$ref: '#/components/responses/Overloaded'}
  /sessions:
    post:
      operationId: logIn
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
        '503': {$ref: '#/components/responses/Overloaded'}
  /products:
    get:
      operationId: listProducts
      summary: Products on sale, by title or price; filter by category and words.
      description: >-
        An indexed query of the catalog's listing, which follows product changes within
        moments (it is a projection of their events). `q` finds the products whose title
        or description holds every word given (whole words, any case or accent).
      parameters:
        - {name: category, in: query, required: false, schema: {type: string}}
        - {name: q, in: query, required: false, schema: {type: string, maxLength: 200}}
        - {name: sort, in: query, required: false, schema: {type: string, enum: [title, price, '-price'], default: title}}
        - {$ref: '#/components/parameters/page'}
      responses:
        '200':
          description: One page
          content: {application/json: {schema: {$ref: '#/components/schemas/ProductPage'}}}
          links:
            GetProduct: {operationId: getProduct, parameters: {sku: '$response.body#/items/0/sku'}}
            SetCartLine: {operationId: setCartLine, parameters: {sku: '$response.body#/items/0/sku'}}
            RemoveCartLine: {operationId: removeCartLine, parameters: {sku: '$response.body#/items/0/sku'}}
        '400': {$ref: '#/components/responses/BadRequest'}
  /products/{sku}:
    get:
      operationId: getProduct
      summary: One product, with the caller's price when logged in.
      security: [{}, {member: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      responses:
        '400': {$ref: '#/components/responses/BadRequest'}
        '200': {description: The product, content: {application/json: {schema: {$ref: '#/components/schemas/ProductView'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
  /cart:
    get:
      operationId: getCart
      summary: The member's cart with a fresh, itemised quote.
      security: [{member: []}]
      responses:
        '200': {description: The cart, content: {application/json: {schema: {$ref: '#/components/schemas/CartView'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
  /cart/lines/{sku}:
    put:
      operationId: setCartLine
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
      operationId: removeCartLine
      summary: Remove a line.
      security: [{member: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      responses:
        '400': {$ref: '#/components/responses/BadRequest'}
        '200': {description: The cart, content: {application/json: {schema: {$ref: '#/components/schemas/CartView'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '409': {$ref: '#/components/responses/Conflict'}
  /coupons:
    get:
      operationId: listCoupons
      summary: The member's coupons.
      security: [{member: []}]
      responses:
        '200': {description: Coupons, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Coupon'}}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
    post:
      operationId: claimCoupon
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
      operationId: listOrders
      summary: The member's orders, newest first.
      description: >-
        A query of the order history, a projection that follows submissions within moments:
        an order just placed may show a moment later (its own URL shows it at once).
      security: [{member: []}]
      parameters: [{$ref: '#/components/parameters/page'}]
      responses:
        '200': {description: Orders, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/OrderSummary'}}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
    post:
      operationId: placeOrder
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
          links:
            GetOrder: {operationId: getOrder, parameters: {id: '$response.body#/id'}}
            CancelOrder: {operationId: cancelOrder, parameters: {id: '$response.body#/id'}}
            StartPayment: {operationId: startPayment, parameters: {id: '$response.body#/id'}}
            CompleteOrder: {operationId: completeOrder, parameters: {id: '$response.body#/id'}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
        '422': {$ref: '#/components/responses/Unprocessable'}
  /orders/{id}:
    get:
      operationId: getOrder
      summary: One of the member's orders, with its timeline.
      security: [{member: []}]
      parameters: [{$ref: '#/components/parameters/orderId'}]
      responses:
        '200': {description: The order, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '404': {$ref: '#/components/responses/NotFound'}
  /orders/{id}/cancel:
    post:
      operationId: cancelOrder
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
      operationId: completeOrder
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
      operationId: startPayment
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
                timestamp: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807, description: Unix seconds}
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
      operationId: addProduct
      summary: List a product.
      security: [{admin: []}]
      requestBody: {required: true, content: {application/json: {schema: {allOf: [{$ref: '#/components/schemas/ProductRequest'}, {required: [sku], properties: {sku: {type: string}}}]}}}}
      responses:
        '201':
          description: Listed
          content: {application/json: {schema: {$ref: '#/components/schemas/ProductSummary'}}}
          links:
            UpdateProduct: {operationId: updateProduct, parameters: {sku: '$response.body#/sku'}}
            DelistProduct: {operationId: delistProduct, parameters: {sku: '$response.body#/sku'}}
            GetStock: {operationId: getStock, parameters: {sku: '$response.body#/sku'}}
            ReceiveStock: {operationId: receiveStock, parameters: {sku: '$response.body#/sku'}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
  /admin/products/{sku}:
    put:
      operationId: updateProduct
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
      operationId: delistProduct
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
      operationId: getStock
      summary: Stock of a SKU.
      security: [{admin: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      responses:
        '400': {$ref: '#/components/responses/BadRequest'}
        '200': {description: Stock, content: {application/json: {schema: {$ref: '#/components/schemas/Stock'}}}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
  /admin/stock/{sku}/receipts:
    post:
      operationId: receiveStock
      summary: Goods arrived.
      security: [{admin: []}]
      parameters: [{$ref: '#/components/parameters/sku'}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [quantity], properties: {quantity: {type: integer, minimum: 1, maximum: 1000000000}}}
      responses:
        '201': {description: Received, content: {application/json: {schema: {$ref: '#/components/schemas/Stock'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '404': {$ref: '#/components/responses/NotFound'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
        '422': {$ref: '#/components/responses/Unprocessable'}
  /admin/orders/{id}:
    get:
      operationId: getAnyOrder
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
      operationId: shipOrder
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
      operationId: createCampaign
      summary: Start a coupon campaign (amountOff, or percentOffBasisPoints with an optional cap).
      security: [{admin: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              description: >-
                Exactly one of amountOff and percentOffBasisPoints (with an optional cap);
                a scope by categories or by skus, not both. validUntil after validFrom (else 422).
              required: [id, name, minimumSpend]
              oneOf:
                - required: [amountOff]
                  properties: {amountOff: {$ref: '#/components/schemas/PositiveAmount'}, percentOffBasisPoints: {type: 'null'}}
                - required: [percentOffBasisPoints]
                  properties: {percentOffBasisPoints: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}, amountOff: {type: 'null'}}
              not: {required: [categories, skus], properties: {categories: {type: array}, skus: {type: array}}}
              properties:
                id: {type: string, pattern: '^[A-Za-z0-9-]{1,64}$'}
                name: {type: string, minLength: 1, maxLength: 100, pattern: \#(line)}
                amountOff: {oneOf: [{$ref: '#/components/schemas/PositiveAmount'}, {type: 'null'}]}
                percentOffBasisPoints: {type: [integer, 'null'], minimum: 1, maximum: 10000}
                cap: {oneOf: [{$ref: '#/components/schemas/PositiveAmount'}, {type: 'null'}]}
                minimumSpend: {$ref: '#/components/schemas/AmountOrZero'}
                categories: {type: [array, 'null'], items: {type: string}}
                skus: {type: [array, 'null'], items: {type: string}}
                validFrom: {type: [string, 'null'], format: date-time}
                validUntil: {type: [string, 'null'], format: date-time}
                perMemberLimit: {type: [integer, 'null'], minimum: 1, maximum: 100}
      responses:
        '201':
          description: Created
          content: {application/json: {schema: {$ref: '#/components/schemas/Id'}}}
          links:
            IssueCoupon: {operationId: issueCoupon, parameters: {id: '$response.body#/id'}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
        '422': {$ref: '#/components/responses/Unprocessable'}
  /admin/coupon-campaigns/{id}/coupons:
    post:
      operationId: issueCoupon
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
              description: >-
                `kind` decides which fields count: productDiscount needs sku and rateBasisPoints;
                spendAndSave threshold and saving (saving below threshold, else 422);
                quantityDiscount minimumItems and rateBasisPoints; cheapestFree groupSize and
                freeItems (fewer free than the group, else 422). A scope by categories or by
                skus, not both. validUntil after validFrom (else 422).
              required: [id, name, kind]
              oneOf:
                - required: [sku, rateBasisPoints]
                  properties: {kind: {const: productDiscount}, sku: {type: string}, rateBasisPoints: {type: integer, minimum: 1, maximum: 10000}}
                - required: [threshold, saving]
                  properties: {kind: {const: spendAndSave}, threshold: {$ref: '#/components/schemas/PositiveAmount'}, saving: {$ref: '#/components/schemas/PositiveAmount'}}
                - required: [minimumItems, rateBasisPoints]
                  properties: {kind: {const: quantityDiscount}, minimumItems: {type: integer, minimum: 1, maximum: 1000}, rateBasisPoints: {type: integer, minimum: 1, maximum: 10000}}
                - required: [groupSize, freeItems]
                  properties: {kind: {const: cheapestFree}, groupSize: {type: integer, minimum: 2, maximum: 100}, freeItems: {type: integer, minimum: 1, maximum: 99}}
              not: {required: [categories, skus], properties: {categories: {type: array}, skus: {type: array}}}
              properties:
                id: {type: string, pattern: '^[A-Za-z0-9-]{1,64}$'}
                name: {type: string, minLength: 1, maxLength: 100, pattern: \#(line)}
                kind: {type: string, enum: [productDiscount, spendAndSave, quantityDiscount, cheapestFree]}
                sku: {type: [string, 'null']}
                rateBasisPoints: {type: [integer, 'null'], format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
                threshold: {$ref: '#/components/schemas/NullableMoney'}
                saving: {$ref: '#/components/schemas/NullableMoney'}
                repeating: {type: [boolean, 'null']}
                minimumItems: {type: [integer, 'null'], format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
                groupSize: {type: [integer, 'null'], format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
                freeItems: {type: [integer, 'null'], format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
                categories: {type: [array, 'null'], items: {type: string}}
                skus: {type: [array, 'null'], items: {type: string}}
                validFrom: {type: [string, 'null'], format: date-time}
                validUntil: {type: [string, 'null'], format: date-time}
      responses:
        '201': {description: Added, content: {application/json: {schema: {$ref: '#/components/schemas/Id'}}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '409': {$ref: '#/components/responses/Conflict'}
        '413': {$ref: '#/components/responses/TooLarge'}
        '422': {$ref: '#/components/responses/Unprocessable'}
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
                  orders: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
                  stocks: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
                  wallets: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
                  payments: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}
                  drifts:
                    type: array
                    items:
                      type: object
                      required: [rule, subject, detail]
                      properties:
                        rule: {type: string}
                        subject: {type: string}
                        detail: {type: string}
                  lag: {type: object, additionalProperties: {type: integer, format: int64, minimum: -9223372036854775808, maximum: 9223372036854775807}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
"""#
}
