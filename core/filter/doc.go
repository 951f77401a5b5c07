// Package filter parses RocketMQ's SQL92 message selectors into an AST, with limits on the
// expression's length, nesting depth and IN-list size, and evaluates the AST over a message's
// properties with SQL's three-valued logic. The evaluator here is the reference: adapters that
// compile the AST to something faster (adapters/filter/sql92 lowers it onto expr) are checked
// against it by a differential fuzz test.
//
// # Grammar
//
// The grammar is RocketMQ 5.x's SelectorParser.jj (itself ActiveMQ's JMS selector grammar with
// arithmetic, LIKE and hex/octal literals removed, and CONTAINS, STARTSWITH and ENDSWITH added),
// from loosest to tightest binding:
//
//	or         = and { OR and }
//	and        = equality { AND equality }
//	equality   = comparison { ("=" | "<>") comparison | IS [NOT] NULL }
//	comparison = unary { (">" | ">=" | "<" | "<=") unary
//	                   | [NOT] (CONTAINS | STARTSWITH | ENDSWITH) string
//	                   | [NOT] BETWEEN unary AND unary
//	                   | [NOT] IN "(" string { "," string } ")" }
//	unary      = "+" unary | "-" unary | NOT unary | primary
//	primary    = literal | identifier | "(" or ")"
//	literal    = string | integer | decimal | TRUE | FALSE | NULL
//
// Keywords are case-insensitive; identifiers are [A-Za-z_$][A-Za-z0-9_$]* and name properties
// case-sensitively. Strings are single-quoted with ” for a quote. Integers are decimal without
// leading zeros, optionally ending in L, within int64; decimals are 1.5, 1., .5, 1e3 and the like.
// "-- comment" to the end of the line and "/* comment */" are skipped.
//
// As in RocketMQ, NOT binds tighter than comparisons: "NOT a = 1" is "(NOT a) = 1". Write
// "NOT (a = 1)" or "a <> 1". The same parse-time checks as RocketMQ's apply: <, >, BETWEEN take
// numbers or properties, not strings or booleans; = and <> refuse the NULL literal; IN needs a
// property on its left; BETWEEN with two literal bounds needs the lower one first; the whole
// expression, and the operands of AND, OR and NOT, must be boolean (a bare property counts).
//
// # Evaluation
//
// Property values are strings; a missing property is NULL. Literals are strings, int64, float64,
// booleans or NULL. Comparisons:
//
//   - Any comparison with a NULL operand is UNKNOWN, and so is IN, CONTAINS, STARTSWITH and
//     ENDSWITH on a missing property. IS NULL and IS NOT NULL are never UNKNOWN.
//   - A string compared with a number is read as a number (an integer if it is one and fits
//     int64, otherwise a decimal); a string that is not a number makes the comparison UNKNOWN.
//     <, <=, >, >= between two strings compare them as numbers likewise.
//   - A string compared with a boolean is TRUE when it is "true" in any case (Java's
//     Boolean.valueOf); a boolean is never equal to a number.
//   - IN compares strings exactly. CONTAINS and friends with an empty search string are FALSE.
//   - A bare property used as a condition is FALSE when present (a property is a string, never a
//     boolean) and UNKNOWN when missing.
//   - AND, OR and NOT follow Kleene's three-valued tables; only TRUE delivers a message.
//
// # Where this differs from RocketMQ's Java broker
//
// Java throws while evaluating in a few places, and a throw drops the message whatever the rest
// of the expression says. Here those places are UNKNOWN, so an OR can still deliver: a string
// that is not a number compared with a number ("a > 3" with a = "x"), and a decimal string
// compared with an integer literal, which Java cannot convert ("a > 3" with a = "3.5" is TRUE
// here and a throw in Java). Java also treats NULL asymmetrically in "=": 'x' = a with a missing
// is FALSE and a = b with both missing is TRUE; here both are UNKNOWN. CONTAINS, STARTSWITH and
// ENDSWITH on a missing property are FALSE in Java and UNKNOWN here (the same outcome unless NOT
// is applied to them). Numbers in properties are plain decimals: Java's Double.valueOf also
// accepts surrounding spaces, NaN, Infinity, hex floats and d/f suffixes. Java ignores whatever
// follows a complete expression ("a = 1 xyz" parses as "a = 1"); here that is an error. Java
// refuses the decimal literal 0.0 ("less than Double.MIN_VALUE"); here it is accepted.
package filter
