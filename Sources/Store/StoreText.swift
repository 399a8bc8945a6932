/// Text as SQLite sees it. GRDB binds a Swift String with length -1, so SQLite reads it up to its first
/// NUL: `gpu-7<NUL>evil` would be looked up (or stored) as `gpu-7`. Reports with NUL are refused before
/// they are written (Report.check, also in PreparedReport); lookups by a name from outside (a URL path)
/// use this so such a name finds nothing instead of another host.
enum StoreText {
    /// False when SQLite would not see all of `text` (it contains NUL); no stored name does.
    static func bindable(_ text: String) -> Bool { !text.utf8.contains(0) }
}
