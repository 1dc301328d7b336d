/// Comparison whose time does not depend on where two secrets differ.
public enum ConstantTime {
    /// Whether `a` and `b` have the same UTF-8 bytes. Takes as long as the longer of the
    /// two, whatever their content; only their lengths show in its timing.
    public static func equals(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        // The lengths' whole difference: a byte of it would take lengths 256 apart for equal.
        var difference = UInt(bitPattern: left.count ^ right.count)
        for index in 0..<max(left.count, right.count) {
            difference |= UInt((index < left.count ? left[index] : 0) ^ (index < right.count ? right[index] : 0))
        }
        return difference == 0
    }
}
