package topic

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateTopic(t *testing.T) {
	good := []string{"TopicTest", "%RETRY%cg", "%DLQ%cg", "a|b", "A-b_9", strings.Repeat("x", MaxTopicLen)}
	for _, n := range good {
		if err := ValidateTopic(n); err != nil {
			t.Errorf("ValidateTopic(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", "..", "a/b", "a\x00b", "a.b", "a b", `a\b`, strings.Repeat("x", MaxTopicLen+1), "tópico"}
	for _, n := range bad {
		if err := ValidateTopic(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateTopic(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}

func TestValidateGroup(t *testing.T) {
	if err := ValidateGroup(strings.Repeat("g", MaxGroupLen)); err != nil {
		t.Fatal(err)
	}
	if err := ValidateGroup(strings.Repeat("g", MaxGroupLen+1)); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("long group: %v", err)
	}
	if err := ValidateGroup("../etc"); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("path group: %v", err)
	}
}
