import Foundation

/// Words as full-text search reads them, the same on every store.
///
/// A text's words are its runs of letters and digits, lower-cased, accents folded: "Crème
/// brûlée, 2×" is `creme`, `brulee`, `2`. Herald writes each full-text column's words (its
/// *document*) into a column of its own beside it, and each store indexes that document
/// with its own engine — SQLite's FTS5, PostgreSQL's `tsvector` under a GIN index, a scan
/// in memory — so all three split text the same way and find the same rows.
public enum FullText {
    /// The words of `text`, in order, repeats kept.
    public static func words(in text: String) -> [String] {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
            .split { !($0.isLetter || $0.isNumber) }
            .map(String.init)
    }

    /// What the store indexes for `text`: its words, one space apart.
    static func document(of value: ProjectionValue) -> ProjectionValue {
        guard case .text(let text) = value else { return .text("") }
        return .text(words(in: text).joined(separator: " "))
    }

    /// The column that holds the document of a table's `index`th full-text column.
    static func documentColumn(_ index: Int) -> String { "herald_fts_\(index)" }
}

/// A full-text search: every term must be a word of one of the table's full-text columns
/// (``ProjectionTable/fullText``), whole, or, for a prefix term, at its start.
///
/// ```swift
/// ProjectionQuery("products").where(.matches(FullTextSearch("green tea*")))
///     .orderedByRelevance().page(size: 20)
/// ```
public struct FullTextSearch: Sendable, Hashable, CustomStringConvertible {
    public struct Term: Sendable, Hashable {
        /// One word as ``FullText/words(in:)`` reads it: letters and digits only, so nothing
        /// in it is the syntax of a store's own query language.
        public let word: String
        /// Matches every word that starts with ``word``.
        public var prefix: Bool

        /// `word`'s letters and digits, folded (`"Crème-brûlée"` is `cremebrulee`).
        public init(_ word: String, prefix: Bool = false) {
            self.word = FullText.words(in: word).joined()
            self.prefix = prefix
        }
    }

    /// The most terms a search may have.
    public static let maximumTerms = 16

    public var terms: [Term]

    public init(terms: [Term]) { self.terms = terms }

    /// Reads `text` as a shopper types it: its words (``FullText/words(in:)``), each one
    /// followed at once by `*` a prefix; repeats dropped, at most ``maximumTerms``.
    public init(_ text: String) {
        var terms: [Term] = []
        var word = ""
        func finish(prefix: Bool) {
            defer { word = "" }
            guard !word.isEmpty else { return }
            let parts = FullText.words(in: word)
            for (index, part) in parts.enumerated() {
                let term = Term(part, prefix: prefix && index == parts.count - 1)
                if !terms.contains(term) { terms.append(term) }
            }
        }
        for character in text {
            if character == "*" {
                finish(prefix: true)
            } else if character.isLetter || character.isNumber {
                word.append(character)
            } else {
                finish(prefix: false)
            }
        }
        finish(prefix: false)
        self.terms = Array(terms.prefix(Self.maximumTerms))
    }

    /// Whether it can match no row: it has no terms, or a term left without letters or
    /// digits. Every store answers such a search with nothing, without asking its index.
    public var findsNothing: Bool { terms.isEmpty || terms.contains { $0.word.isEmpty } }

    /// The terms as typed again: words one space apart, a prefix ending in `*`.
    public var description: String { terms.map { $0.word + ($0.prefix ? "*" : "") }.joined(separator: " ") }

    /// Whether the documents of a row (one per full-text column) hold every term.
    func matches(_ documents: [String]) -> Bool {
        guard !findsNothing else { return false }
        let words = documents.map { $0.split(separator: " ") }
        return terms.allSatisfy { term in
            words.contains { column in column.contains { term.prefix ? $0.hasPrefix(term.word) : $0 == term.word } }
        }
    }

    /// How well a row's documents match, for the in-memory store's relevance order: each
    /// term's occurrences, weighted by the column's rank (earlier columns weigh more) and
    /// damped by the column's length. Higher is better.
    func score(_ documents: [String]) -> Double {
        var score = 0.0
        for (index, document) in documents.enumerated() {
            let words = document.split(separator: " ")
            guard !words.isEmpty else { continue }
            let weight = FullTextWeights.sqlite[min(index, FullTextWeights.sqlite.count - 1)]
            let hits = terms.reduce(0) { sum, term in sum + words.count { term.prefix ? $0.hasPrefix(term.word) : $0 == term.word } }
            score += weight * Double(hits) / (1 + Double(words.count).squareRoot())
        }
        return score
    }
}

/// How much a word in each full-text column counts toward relevance, by the column's place
/// in ``ProjectionTable/fullText``.
public enum FullTextWeights {
    /// FTS5's `bm25()` column weights.
    public static let sqlite: [Double] = [10, 4, 2, 1]
    /// PostgreSQL's `setweight` labels.
    public static let postgres = ["A", "B", "C", "D"]
}
