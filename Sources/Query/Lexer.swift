/// One token of an expression, with the character offset where it starts.
struct Token: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        case name(String)
        case string(String)
        case int(Int64)
        case op(QueryOp)
        case keyword(Keyword)
        case lparen, rparen, comma, end
    }

    enum Keyword: String, Hashable, Sendable, CaseIterable {
        case and, or, not, `in`, known, has, profile, covers, devices, `true`, `false`
    }

    var kind: Kind
    var position: Int
    /// The source text, for messages.
    var text: String

    /// How a message names this token: `end of input`, or the text in quotes.
    var shown: String {
        if case .end = kind { return "end of input" }
        let clipped = text.count > 40 ? String(text.prefix(40)) + "…" : text
        if case .string = kind { return clipped }
        return "'\(clipped)'"
    }
}

/// Splits an expression into tokens. Names are ASCII letters or `_` followed by letters, digits and
/// `_ . - /` (dotted vocabulary names, label keys such as `topology.example.io/zone`). Keywords are
/// case-insensitive. Strings take double or single quotes with `\\`, `\"`, `\'`, `\n`, `\t` escapes.
/// Integers are decimal or `0x` hex, optionally negative.
struct Lexer {
    let chars: [Character]
    var index = 0

    init(_ text: String) { chars = Array(text) }

    static func tokens(_ text: String) throws(QueryError) -> [Token] {
        var lexer = Lexer(text)
        var out: [Token] = []
        while true {
            let token = try lexer.next()
            out.append(token)
            if case .end = token.kind { return out }
        }
    }

    mutating func next() throws(QueryError) -> Token {
        while index < chars.count, Lexer.isSpace(chars[index]) { index += 1 }
        let start = index
        guard index < chars.count else { return Token(kind: .end, position: start, text: "") }
        let c = chars[index]
        func single(_ kind: Token.Kind) -> Token {
            index += 1
            return Token(kind: kind, position: start, text: String(c))
        }
        switch c {
        case "(": return single(.lparen)
        case ")": return single(.rparen)
        case ",": return single(.comma)
        case "=": return single(.op(.eq))
        case "<", ">":
            index += 1
            let orEqual = index < chars.count && chars[index] == "="
            if orEqual { index += 1 }
            let op: QueryOp = c == "<" ? (orEqual ? .le : .lt) : (orEqual ? .ge : .gt)
            return Token(kind: .op(op), position: start, text: op.rawValue)
        case "!":
            guard index + 1 < chars.count, chars[index + 1] == "=" else {
                throw QueryError(.syntax, at: start, "unexpected character '!': write 'not' for negation or '!=' for inequality")
            }
            index += 2
            return Token(kind: .op(.ne), position: start, text: "!=")
        case "\"", "'": return try string(quote: c)
        default:
            if c == "-" || Lexer.isDigit(c) { return try number() }
            if Lexer.isNameStart(c) {
                while index < chars.count, Lexer.isNamePart(chars[index]) { index += 1 }
                let text = String(chars[start..<index])
                if let keyword = Token.Keyword(rawValue: text.lowercased()) {
                    return Token(kind: .keyword(keyword), position: start, text: text)
                }
                return Token(kind: .name(text), position: start, text: text)
            }
            throw QueryError(.syntax, at: start, "unexpected character '\(Lexer.visible(c))'")
        }
    }

    mutating func string(quote: Character) throws(QueryError) -> Token {
        let start = index
        index += 1
        var value = ""
        while index < chars.count {
            let c = chars[index]
            if c == quote {
                index += 1
                return Token(kind: .string(value), position: start, text: String(chars[start..<index]))
            }
            if c == "\\" {
                guard index + 1 < chars.count else { break }
                switch chars[index + 1] {
                case "\\": value.append("\\")
                case "\"": value.append("\"")
                case "'": value.append("'")
                case "n": value.append("\n")
                case "t": value.append("\t")
                default:
                    throw QueryError(.syntax, at: index, "unknown escape '\\\(Lexer.visible(chars[index + 1]))' in string (known: \\\\ \\\" \\' \\n \\t)")
                }
                index += 2
                continue
            }
            value.append(c)
            index += 1
        }
        throw QueryError(.syntax, at: start, "unterminated string: expected a closing \(quote) before end of input")
    }

    mutating func number() throws(QueryError) -> Token {
        let start = index
        let negative = chars[index] == "-"
        if negative { index += 1 }
        let hex = index + 1 < chars.count && chars[index] == "0" && (chars[index + 1] == "x" || chars[index + 1] == "X")
        if hex { index += 2 }
        let digitsStart = index
        while index < chars.count, hex ? chars[index].isHexDigit && chars[index].isASCII : Lexer.isDigit(chars[index]) { index += 1 }
        // A number runs into letters (`20abc`): one malformed token, not a number and a name.
        while index < chars.count, Lexer.isNamePart(chars[index]) { index += 1 }
        let text = String(chars[start..<index])
        let digits = String(chars[digitsStart..<index])
        let wellFormed = !digits.isEmpty && digits.allSatisfy { hex ? $0.isHexDigit && $0.isASCII : Lexer.isDigit($0) }
        guard wellFormed else {
            let hint = text.contains(".") ? " (kernel versions are quoted: \"\(text)\")" : ""
            throw QueryError(.syntax, at: start, "malformed number '\(text)': expected decimal digits or 0x and hex digits" + hint)
        }
        let limit = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        guard let magnitude = UInt64(digits, radix: hex ? 16 : 10), magnitude <= limit else {
            throw QueryError(.syntax, at: start, "number '\(text)' is outside the signed 64-bit range")
        }
        let value = negative ? (magnitude == limit ? Int64.min : -Int64(magnitude)) : Int64(magnitude)
        return Token(kind: .int(value), position: start, text: text)
    }

    // By ASCII value: Character's isLetter and isNumber look up Unicode properties, a tenth of a
    // request's parse, for characters that must be ASCII anyway.
    static func isDigit(_ c: Character) -> Bool { c.asciiValue.map(isDigit) ?? false }
    static func isDigit(_ a: UInt8) -> Bool { (0x30...0x39).contains(a) }
    static func isLetter(_ a: UInt8) -> Bool { (0x41...0x5A).contains(a) || (0x61...0x7A).contains(a) }
    static func isNameStart(_ c: Character) -> Bool { c.asciiValue.map { isLetter($0) || $0 == UInt8(ascii: "_") } ?? false }
    static func isNamePart(_ c: Character) -> Bool {
        guard let a = c.asciiValue else { return false }
        return isLetter(a) || isDigit(a) || a == UInt8(ascii: "_") || a == UInt8(ascii: ".") || a == UInt8(ascii: "-")
            || a == UInt8(ascii: "/")
    }
    /// ASCII space, tab, line feed, vertical tab, form feed and carriage return by value; other
    /// characters by their Unicode property (as before).
    static func isSpace(_ c: Character) -> Bool {
        if let a = c.asciiValue { return a == 0x20 || (0x09...0x0D).contains(a) }
        return c.isWhitespace
    }

    static func visible(_ c: Character) -> String {
        guard let ascii = c.asciiValue, ascii < 0x20 || ascii == 0x7f else { return String(c) }
        return "\\u{\(String(ascii, radix: 16))}"
    }
}
