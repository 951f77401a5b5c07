// Package filtercases holds the SQL92 semantics table that core/filter's reference evaluator and
// every SQL92 adapter are tested against, so that they are held to one list of expectations.
package filtercases

// Case is one expression over one property set (a nil map is a message without properties) and
// its truth value: "TRUE", "FALSE" or "UNKNOWN".
type Case struct {
	Src   string
	Props map[string]string
	Want  string
}

var (
	none = map[string]string{}
	abc  = map[string]string{"a": "5", "b": "red", "c": "3.5", "t": "TRUE", "e": "", "n": "-2", "big": "9223372036854775807"}
)

// Cases are expressions, property sets and the truth value RocketMQ's semantics (as core/filter
// defines them, see its package comment) give.
var Cases = []Case{
	// Missing properties make comparisons UNKNOWN, and only TRUE delivers.
	{Src: "a = '5'", Props: abc, Want: "TRUE"},
	{Src: "a = '5'", Props: none, Want: "UNKNOWN"},
	{Src: "a <> '5'", Props: none, Want: "UNKNOWN"},
	{Src: "NOT (a = '5')", Props: none, Want: "UNKNOWN"},
	{Src: "x > 1", Props: abc, Want: "UNKNOWN"},
	{Src: "x IN ('1')", Props: abc, Want: "UNKNOWN"},
	{Src: "x NOT IN ('1')", Props: abc, Want: "UNKNOWN"},
	{Src: "x BETWEEN 1 AND 2", Props: abc, Want: "UNKNOWN"},
	{Src: "x NOT BETWEEN 1 AND 2", Props: abc, Want: "UNKNOWN"},
	{Src: "x CONTAINS 'a'", Props: abc, Want: "UNKNOWN"},
	{Src: "x NOT CONTAINS 'a'", Props: abc, Want: "UNKNOWN"},
	{Src: "x", Props: abc, Want: "UNKNOWN"},
	{Src: "x IS NULL", Props: abc, Want: "TRUE"},
	{Src: "x IS NOT NULL", Props: abc, Want: "FALSE"},
	{Src: "a IS NULL", Props: abc, Want: "FALSE"},
	{Src: "a IS NOT NULL", Props: abc, Want: "TRUE"},
	{Src: "e IS NULL", Props: abc, Want: "FALSE"}, // an empty property is present
	// Kleene logic.
	{Src: "x = 1 AND a = 5", Props: abc, Want: "UNKNOWN"},
	{Src: "x = 1 AND a = 6", Props: abc, Want: "FALSE"},
	{Src: "x = 1 OR a = 5", Props: abc, Want: "TRUE"},
	{Src: "x = 1 OR a = 6", Props: abc, Want: "UNKNOWN"},
	{Src: "NOT (x = 1 OR a = 6)", Props: abc, Want: "UNKNOWN"},
	{Src: "NOT (x = 1 AND a = 6)", Props: abc, Want: "TRUE"},
	{Src: "TRUE AND NULL", Props: abc, Want: "UNKNOWN"},
	{Src: "FALSE AND NULL", Props: abc, Want: "FALSE"},
	{Src: "TRUE OR NULL", Props: abc, Want: "TRUE"},
	{Src: "NOT NULL", Props: abc, Want: "UNKNOWN"},
	{Src: "NULL", Props: abc, Want: "UNKNOWN"},
	{Src: "TRUE", Props: none, Want: "TRUE"},
	{Src: "FALSE", Props: none, Want: "FALSE"},
	// Strings against numbers are read as numbers.
	{Src: "a = 5", Props: abc, Want: "TRUE"},
	{Src: "a = 5.0", Props: abc, Want: "TRUE"},
	{Src: "a > 4", Props: abc, Want: "TRUE"},
	{Src: "a >= 5", Props: abc, Want: "TRUE"},
	{Src: "a < 5", Props: abc, Want: "FALSE"},
	{Src: "a <= 4.99", Props: abc, Want: "FALSE"},
	{Src: "c > 3", Props: abc, Want: "TRUE"}, // a throw in Java (Integer.valueOf("3.5")); TRUE here
	{Src: "c = 3.5", Props: abc, Want: "TRUE"},
	{Src: "c BETWEEN 3 AND 4", Props: abc, Want: "TRUE"},
	{Src: "n < 0", Props: abc, Want: "TRUE"},
	{Src: "n = -2", Props: abc, Want: "TRUE"},
	{Src: "a > -6", Props: abc, Want: "TRUE"},
	{Src: "big = 9223372036854775807", Props: abc, Want: "TRUE"},
	{Src: "big > 9223372036854775806", Props: abc, Want: "TRUE"}, // exact for integers, not through float64
	{Src: "b > 1", Props: abc, Want: "UNKNOWN"},                  // not a number: a throw in Java
	{Src: "b = 1", Props: abc, Want: "UNKNOWN"},
	{Src: "b = 1 OR a = 5", Props: abc, Want: "TRUE"}, // Java drops the message on the throw; here OR still delivers
	{Src: "e = 0", Props: abc, Want: "UNKNOWN"},
	{Src: "a > c", Props: abc, Want: "TRUE"}, // two strings under > compare as numbers
	{Src: "a = c", Props: abc, Want: "FALSE"},
	{Src: "b = 'red'", Props: abc, Want: "TRUE"},
	{Src: "a = '5.0'", Props: abc, Want: "FALSE"}, // two strings under = compare as strings
	// Booleans.
	{Src: "t = TRUE", Props: abc, Want: "TRUE"},
	{Src: "b = FALSE", Props: abc, Want: "TRUE"}, // Java's Boolean.valueOf("red") is false
	{Src: "a = TRUE", Props: abc, Want: "FALSE"},
	{Src: "(a = 5) = TRUE", Props: abc, Want: "TRUE"},
	{Src: "(a = 5) = FALSE", Props: abc, Want: "FALSE"},
	{Src: "(x = 5) = TRUE", Props: abc, Want: "UNKNOWN"},
	{Src: "(a = 5) = 1", Props: abc, Want: "FALSE"}, // a boolean never equals a number
	{Src: "(a = 5) = 'true'", Props: abc, Want: "TRUE"},
	{Src: "(a = 5) = (b = 'red')", Props: abc, Want: "TRUE"},
	{Src: "(a = 5) <> (b = 'red')", Props: abc, Want: "FALSE"},
	{Src: "(x = 5) IS NULL", Props: abc, Want: "TRUE"},
	{Src: "(a = 5) IS NULL", Props: abc, Want: "FALSE"},
	{Src: "NOT a = 1", Props: abc, Want: "FALSE"},  // (NOT a) = 1: a bare property is FALSE, NOT gives TRUE, TRUE <> 1
	{Src: "NOT a", Props: abc, Want: "TRUE"},       // a present property is FALSE as a condition
	{Src: "NOT x", Props: abc, Want: "UNKNOWN"},    // a missing one UNKNOWN
	{Src: "a AND TRUE", Props: abc, Want: "FALSE"}, //
	{Src: "-a > 1", Props: abc, Want: "UNKNOWN"},   // negating a string gives NULL
	{Src: "-(-5) = a", Props: abc, Want: "TRUE"},   //
	{Src: "-(a = 5) = 1", Props: abc, Want: "UNKNOWN"},
	// BETWEEN and IN.
	{Src: "a BETWEEN 3 AND 7", Props: abc, Want: "TRUE"},
	{Src: "a BETWEEN 5 AND 5", Props: abc, Want: "TRUE"},
	{Src: "a BETWEEN 6 AND 7", Props: abc, Want: "FALSE"},
	{Src: "a NOT BETWEEN 6 AND 7", Props: abc, Want: "TRUE"},
	{Src: "a NOT BETWEEN 3 AND 7", Props: abc, Want: "FALSE"},
	{Src: "a BETWEEN x AND 7", Props: abc, Want: "UNKNOWN"},
	{Src: "a BETWEEN x AND 4", Props: abc, Want: "FALSE"}, // FALSE AND UNKNOWN
	{Src: "a NOT BETWEEN x AND 4", Props: abc, Want: "TRUE"},
	{Src: "b IN ('red', 'blue')", Props: abc, Want: "TRUE"},
	{Src: "b IN ('Red')", Props: abc, Want: "FALSE"},
	{Src: "b NOT IN ('red')", Props: abc, Want: "FALSE"},
	{Src: "b NOT IN ('blue')", Props: abc, Want: "TRUE"},
	{Src: "a IN ('5.0')", Props: abc, Want: "FALSE"},
	// String tests.
	{Src: "b CONTAINS 'e'", Props: abc, Want: "TRUE"},
	{Src: "b CONTAINS 'x'", Props: abc, Want: "FALSE"},
	{Src: "b NOT CONTAINS 'x'", Props: abc, Want: "TRUE"},
	{Src: "b STARTSWITH 're'", Props: abc, Want: "TRUE"},
	{Src: "b NOT STARTSWITH 're'", Props: abc, Want: "FALSE"},
	{Src: "b ENDSWITH 'ed'", Props: abc, Want: "TRUE"},
	{Src: "b ENDSWITH 'e'", Props: abc, Want: "FALSE"},
	{Src: "b CONTAINS ''", Props: abc, Want: "FALSE"},
	{Src: "b NOT CONTAINS ''", Props: abc, Want: "FALSE"},
	{Src: "x CONTAINS ''", Props: abc, Want: "FALSE"},
	{Src: "'abc' CONTAINS 'b'", Props: abc, Want: "TRUE"},
	{Src: "5 CONTAINS '5'", Props: abc, Want: "FALSE"},
	{Src: "5 NOT CONTAINS '5'", Props: abc, Want: "FALSE"},
	{Src: "(a = 5) CONTAINS 'x'", Props: abc, Want: "FALSE"},
	// A nil map is a message without properties.
	{Src: "a IS NULL", Props: nil, Want: "TRUE"},
	{Src: "a = 1", Props: nil, Want: "UNKNOWN"},
}
