package app

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// YAML renders every key of the configuration in struct order, durations as "30s", so the output
// of --check-config is itself a valid config file that loads back to the same Config.
func (c Config) YAML() ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, l := range leaves(c) {
		parent := root
		parts := strings.Split(l.path, ".")
		for _, p := range parts[:len(parts)-1] {
			parent = child(parent, p)
		}
		var v yaml.Node
		if err := v.Encode(l.value); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", l.path, err)
		}
		if v.Kind == yaml.SequenceNode {
			v.Style = yaml.FlowStyle // [a, b] and [] read better than a block list here
		}
		parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: parts[len(parts)-1]}, &v)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	return buf.Bytes(), nil
}

// child returns the mapping under key in m, appending it when it is not there yet. Leaves come
// in struct order, so a section's keys are contiguous and this keeps their order.
func child(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	sub := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, sub)
	return sub
}
