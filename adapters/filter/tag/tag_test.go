package tag_test

import (
	"testing"

	"github.com/rocketgo/rocketgo/adapters/filter/tag"
	"github.com/rocketgo/rocketgo/core/message"
	"github.com/rocketgo/rocketgo/ports/filter"
	"github.com/rocketgo/rocketgo/ports/filter/filtertest"
)

func msgs(tags ...string) []message.Properties {
	out := make([]message.Properties, len(tags))
	for i, t := range tags {
		if t != "-" {
			out[i] = message.Properties{message.PropertyTags: t, "k": "v"}
		}
	}
	return out
}

func TestConformance(t *testing.T) {
	filtertest.Run(t, filtertest.Suite{
		Compiler: tag.New(),
		Cases: []filtertest.Case{
			{Expr: "*", Messages: msgs("A", "B", "-", ""), Want: []bool{true, true, true, true}},
			{Expr: "", Messages: msgs("A", "-"), Want: []bool{true, true}},
			{Expr: " || ", Messages: msgs("A", "-"), Want: []bool{true, true}},
			{Expr: "A", Messages: msgs("A", "B", "-", "AA"), Want: []bool{true, false, false, false}},
			{Expr: "A || B", Messages: msgs("A", "B", "C", "-"), Want: []bool{true, true, false, false}},
			{Expr: " TagA ||TagB|| TagA ", Messages: msgs("TagA", "TagB", "TagC"), Want: []bool{true, true, false}},
			// "Aa" and "BB" share Java's String.hashCode: the unit matches, the TAGS property settles it.
			{Expr: "Aa", Messages: msgs("Aa", "BB"), Want: []bool{true, false}},
			// Hashes follow Java's UTF-16 rule, so non-ASCII tags match as Java brokers do.
			{Expr: "標籤 || 😀", Messages: msgs("標籤", "😀", "x"), Want: []bool{true, true, false}},
		},
	})
}

func TestCollisionPassesTheUnitStep(t *testing.T) {
	f, _ := tag.New().Compile("Aa")
	if !f.MatchUnit(message.TagsCode("BB")) || filter.IsExact(f) {
		t.Fatal("a colliding hash must pass MatchUnit and leave the decision to MatchBatch")
	}
	if f.MatchUnit(message.TagsCode("Ab")) {
		t.Fatal("a different hash passed MatchUnit")
	}
}
