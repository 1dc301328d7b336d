import MallCatalog

/// A product as the API shows it.
public struct ProductBody: Encodable, Sendable {
    public var sku: String
    public var title: String
    public var category: String
    public var description: String
    public var listPrice: MoneyBody
    public var weightGrams: Int
    public var onSale: Bool

    init(_ product: ProductSummary) {
        sku = product.sku
        title = product.title
        category = product.category
        description = product.description
        listPrice = MoneyBody(product.listPrice)
        weightGrams = product.weightGrams
        onSale = product.onSale
    }
}

public struct ProductPage: Encodable, Sendable {
    public var items: [ProductBody]
    public var page: Int
    public var pageSize: Int
    public var total: Int
    /// The next page's cursor (`after=`), when this page is full.
    public var next: String?

    public init(items: [ProductBody], page: Int, pageSize: Int, total: Int, next: String?) {
        self.items = items
        self.page = page
        self.pageSize = pageSize
        self.total = total
        self.next = next
    }
}

/// A product with the caller's price and the stock available.
public struct ProductViewBody: Encodable, Sendable {
    public var product: ProductBody
    public var yourPrice: MoneyBody?
    public var available: Int

    init(_ view: ProductView) {
        product = ProductBody(view.product)
        yourPrice = view.yourPrice.map(MoneyBody.init)
        available = view.available
    }
}

/// `POST /admin/products` and `PUT /admin/products/{sku}`.
public struct ProductRequest: Decodable, Sendable {
    public var sku: String?
    public var title: String
    public var category: String
    public var description: String?
    public var weightGrams: Int
    public var price: MoneyBody

    public func details(sku: String) -> ProductDetails {
        ProductDetails(sku: sku, title: title, category: category, description: description ?? "", weightGrams: weightGrams)
    }
}
