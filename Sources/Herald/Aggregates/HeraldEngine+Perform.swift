extension HeraldEngine {
    /// Runs a use case in a fresh unit of work and commits it; when a concurrent change to
    /// one of its aggregates makes the commit conflict, runs it again from the start.
    ///
    /// `body` loads, changes and saves; it must be safe to run more than once (it is,
    /// when all it does is through the unit of work it is given).
    ///
    /// ```swift
    /// try await engine.perform { work in
    ///     var stock = try await work.load(Stock.self, id: sku) ?? Stock(sku: sku)
    ///     try stock.receive(quantity)
    ///     try work.save(&stock)
    /// }
    /// ```
    /// - Throws: the last ``ConcurrencyConflict`` after `attempts` tries, or what `body` throws.
    public func perform<Result>(
        attempts: Int = 5, cause: UnitOfWork.Cause = .current, _ body: (UnitOfWork) async throws -> Result
    ) async throws -> Result {
        precondition(attempts >= 1, "perform needs at least one attempt")
        var attempt = 1
        while true {
            let work = unitOfWork(cause: cause)
            let result = try await body(work)
            do {
                try await work.commit()
                return result
            } catch is ConcurrencyConflict where attempt < attempts {
                attempt += 1
            }
        }
    }
}
