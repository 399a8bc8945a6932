import Testing
@testable import StorePostgres

/// Placeholder numbering and script splitting: pure text, no server.
@Suite struct SQLTextTests {
    func numbered(_ sql: String) throws -> String { try PostgresSQLText.numberingPlaceholders(sql) }

    @Test func plainPlaceholdersAreNumberedInOrder() throws {
        #expect(try numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") == "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)")
        #expect(try numbered("SELECT 1") == "SELECT 1")
        #expect(try numbered("x=?") == "x=$1")
    }

    @Test func numberedPlaceholdersKeepTheirNumbers() throws {
        #expect(try numbered("SELECT ?1, ?2, ?1, ?12") == "SELECT $1, $2, $1, $12")
    }

    @Test func castsAfterAPlaceholderStay() throws {
        #expect(try numbered("SELECT value FROM json_array_elements_text(?::json) AS e(value) WHERE x = ?")
                == "SELECT value FROM json_array_elements_text($1::json) AS e(value) WHERE x = $2")
    }

    @Test func stringsIdentifiersAndCommentsAreLeftAlone() throws {
        #expect(try numbered("SELECT '?', 'it''s ?', \"a?b\", \"q\"\"?\", ? -- ? here\n, ?")
                == "SELECT '?', 'it''s ?', \"a?b\", \"q\"\"?\", $1 -- ? here\n, $2")
        #expect(try numbered("SELECT /* ? /* nested ? */ still ? */ ?") == "SELECT /* ? /* nested ? */ still ? */ $1")
        #expect(try numbered(#"SELECT E'\'?', ?"#) == #"SELECT E'\'?', $1"#)
        // Outside E'…' a backslash is an ordinary character: the string ends at the next quote.
        #expect(try numbered(#"SELECT '\', ?"#) == #"SELECT '\', $1"#)
    }

    @Test func dollarQuotedBodiesAreLeftAlone() throws {
        #expect(try numbered("SELECT $$ ? ; $$, ?") == "SELECT $$ ? ; $$, $1")
        #expect(try numbered("SELECT $fn$ ? $$ ? $fn$, ?") == "SELECT $fn$ ? $$ ? $fn$, $1")
        // $1 and a$b are not dollar quotes.
        #expect(try numbered("SELECT a$b, ?") == "SELECT a$b, $1")
    }

    @Test func mixedStylesAreRefused() {
        #expect(throws: PostgresSQLText.Failure.mixedPlaceholders) { try numbered("SELECT ?, ?2") }
    }

    @Test func scriptsSplitOnTopLevelSemicolons() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE t (a TEXT DEFAULT ';');
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$
            BEGIN
                RETURN 1;
            END
            $$;
            /* ; */ INSERT INTO t VALUES ('x;y') ;
            -- trailing comment only
            """
        let statements = PostgresSQLText.statements(script)
        #expect(statements.count == 3)
        #expect(statements[0].hasSuffix("CREATE TABLE t (a TEXT DEFAULT ';')"))
        #expect(statements[1].contains("RETURN 1;"))
        #expect(statements[2].contains("INSERT INTO t VALUES ('x;y')"))
    }

    @Test func cacheAnswersTheSameTranslation() throws {
        let cache = PlaceholderCache(capacity: 2)
        for _ in 0..<3 {
            #expect(try cache.translated("SELECT ?") == "SELECT $1")
            #expect(try cache.translated("SELECT ?, ?") == "SELECT $1, $2")
            #expect(try cache.translated("SELECT ?3") == "SELECT $3")
        }
    }
}
