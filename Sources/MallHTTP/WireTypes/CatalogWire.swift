import MallApplication
import MallCatalog

/// A product as the API shows it.
struct ProductBody: Encodable {
    var sku: String
    var title: String
    var category: String
    var description: String
    var listPrice: MoneyBody
    var weightGrams: Int
    var onSale: Bool

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

struct ProductPage: Encodable {
    var items: [ProductBody]
    var page: Int
    var pageSize: Int
    var total: Int
    /// The next page's cursor (`after=`), when this page is full.
    var next: String?
}

/// A product with the caller's price and the stock available.
struct ProductViewBody: Encodable {
    var product: ProductBody
    var yourPrice: MoneyBody?
    var available: Int

    init(_ view: ProductView) {
        product = ProductBody(view.product)
        yourPrice = view.yourPrice.map(MoneyBody.init)
        available = view.available
    }
}

/// `POST /admin/products` and `PUT /admin/products/{sku}`.
struct ProductRequest: Decodable {
    var sku: String?
    var title: String
    var category: String
    var description: String?
    var weightGrams: Int
    var price: MoneyBody

    func details(sku: String) -> ProductDetails {
        ProductDetails(sku: sku, title: title, category: category, description: description ?? "", weightGrams: weightGrams)
    }
}
