package aggregatehttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
)

// diffJSON lists the fields that differ between two JSON values: a walk of
// both trees that descends into objects (by key, in key order) and arrays
// (by index), and reports a Change wherever two leaves differ, a field is
// added or removed, or a value changes kind. An added field (or array
// element) is one Change with From null and its whole value as To; a
// removed one has To null.
func diffJSON(a, b json.RawMessage) ([]Change, error) {
	va, err := decodeTree(a)
	if err != nil {
		return nil, err
	}
	vb, err := decodeTree(b)
	if err != nil {
		return nil, err
	}
	out := []Change{}
	walkDiff("", va, vb, true, true, &out)
	return out, nil
}

// differ lists the changes of a sequence of states, one after another:
// each state's JSON is decoded once (as the "after" of one step, then kept
// as the "before" of the next), where diffJSON on each pair would decode
// every state twice. A state whose JSON is byte for byte its
// predecessor's changed nothing and is not decoded.
type differ struct {
	prev     json.RawMessage
	prevTree any
	decoded  bool
}

func newDiffer(start json.RawMessage) *differ { return &differ{prev: start} }

// next answers the changes from the previous state to next, and makes
// next the previous state.
func (d *differ) next(next json.RawMessage) ([]Change, error) {
	if bytes.Equal(d.prev, next) {
		return []Change{}, nil
	}
	if !d.decoded {
		tree, err := decodeTree(d.prev)
		if err != nil {
			return nil, err
		}
		d.prevTree, d.decoded = tree, true
	}
	tree, err := decodeTree(next)
	if err != nil {
		return nil, err
	}
	out := []Change{}
	walkDiff("", d.prevTree, tree, true, true, &out)
	d.prev, d.prevTree = next, tree
	return out, nil
}

// decodeTree decodes JSON keeping numbers as written, so that large
// integers compare and print exactly.
func decodeTree(b json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode a state's JSON: %w", err)
	}
	return v, nil
}

func walkDiff(path string, a, b any, hasA, hasB bool, out *[]Change) {
	if hasA && hasB {
		switch ta := a.(type) {
		case map[string]any:
			if tb, ok := b.(map[string]any); ok {
				keys := make([]string, 0, len(ta)+len(tb))
				for k := range ta {
					keys = append(keys, k)
				}
				for k := range tb {
					if _, ok := ta[k]; !ok {
						keys = append(keys, k)
					}
				}
				slices.Sort(keys)
				for _, k := range keys {
					va, okA := ta[k]
					vb, okB := tb[k]
					walkDiff(join(path, k), va, vb, okA, okB, out)
				}
				return
			}
		case []any:
			if tb, ok := b.([]any); ok {
				for i := range max(len(ta), len(tb)) {
					var va, vb any
					if i < len(ta) {
						va = ta[i]
					}
					if i < len(tb) {
						vb = tb[i]
					}
					walkDiff(join(path, strconv.Itoa(i)), va, vb, i < len(ta), i < len(tb), out)
				}
				return
			}
		}
		if reflect.DeepEqual(a, b) {
			return
		}
	}
	*out = append(*out, Change{Path: path, From: encodeLeaf(a, hasA), To: encodeLeaf(b, hasB)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func encodeLeaf(v any, present bool) json.RawMessage {
	if !present {
		return json.RawMessage("null")
	}
	b, err := marshalJSON(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}
