package manifest

import (
	"fmt"
	"strconv"

	yaml3 "go.yaml.in/yaml/v3"
)

// duplicateFields parses one YAML (or JSON) document and reports every
// mapping key that appears twice, with its path written as the API
// server's strict decoder writes it (spec.containers[0].image). empty is
// true for a document that holds no value (only comments or blanks).
func duplicateFields(doc []byte) (dups []error, empty bool, err error) {
	var root yaml3.Node
	if err := yaml3.Unmarshal(doc, &root); err != nil {
		return nil, false, fmt.Errorf("error converting YAML to JSON: %w", err)
	}
	if root.Kind == 0 || (root.Kind == yaml3.DocumentNode && len(root.Content) == 0) {
		return nil, true, nil
	}
	if root.Kind == yaml3.DocumentNode && len(root.Content) == 1 {
		n := root.Content[0]
		if n.Kind == yaml3.ScalarNode && n.Tag == "!!null" {
			return nil, true, nil
		}
	}
	walkDuplicates(&root, "", &dups)
	return dups, false, nil
}

func walkDuplicates(n *yaml3.Node, path string, dups *[]error) {
	switch n.Kind {
	case yaml3.DocumentNode:
		for _, c := range n.Content {
			walkDuplicates(c, path, dups)
		}
	case yaml3.SequenceNode:
		for i, c := range n.Content {
			walkDuplicates(c, path+"["+strconv.Itoa(i)+"]", dups)
		}
	case yaml3.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := k.Value
			if path != "" {
				child = path + "." + k.Value
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				continue
			}
			if seen[k.Value] {
				*dups = append(*dups, fmt.Errorf("duplicate field %q", child))
				continue
			}
			seen[k.Value] = true
			walkDuplicates(v, child, dups)
		}
	}
}
