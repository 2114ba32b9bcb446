extension Collection where Element: Equatable {
    /// The element after `element`, wrapping to the first (the first, too, when `element` is not
    /// here); nil when the collection is empty. What a "cycle through these" key steps with.
    public func cycling(after element: Element) -> Element? {
        guard let first else { return nil }
        guard let i = firstIndex(of: element) else { return first }
        let j = index(after: i)
        return j == endIndex ? first : self[j]
    }
}

extension CaseIterable where Self: Equatable {
    /// The next case in ``allCases`` order, wrapping (for a "cycle" key).
    public var next: Self { Self.allCases.cycling(after: self) ?? self }
}
