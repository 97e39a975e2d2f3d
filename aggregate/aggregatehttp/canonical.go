package aggregatehttp

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
)

// The fingerprint of a command under an Idempotency-Key is taken of its
// fields in a canonical JSON form, so that a retry is told from another
// command by what it says, not by how it is spelt: object keys are sorted
// at every depth, whitespace is dropped, and strings are written again
// from their values, so "café" and "caf\u00e9" are the same string. Numbers
// are kept as written: 2 and 2.0 may decode differently (2.0 is no
// integer), and reading them as floats would make 2^53+1 equal to 2^53.
// The body is already bounded (1 MiB, and the JSON decoder's nesting
// limit), so the form is too.

// canonicalFields writes fields, a command's body without its "type", in
// the canonical form.
func canonicalFields(fields map[string]json.RawMessage) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(fields)) {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, k)
		b.WriteByte(':')
		if err := canonicalValue(&b, fields[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// canonicalValue writes the JSON value raw in the canonical form.
func canonicalValue(b *bytes.Buffer, raw json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	writeCanonical(b, v)
	return nil
}

// writeCanonical writes v, as decoded with UseNumber, in the canonical
// form. Its depth is the decoder's, which bounds it.
func writeCanonical(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case string:
		writeString(b, v)
	case json.Number:
		b.WriteString(v.String())
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	default: // nil: the decoder gives nothing else
		b.WriteString("null")
	}
}

// writeString writes s as encoding/json does (which the form used before
// nested values were canonical did too, so a flat command's fingerprint
// is the one it had).
func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always encodes
	b.Write(q)
}
