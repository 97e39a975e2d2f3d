package aggregatehttp

import (
	"encoding/json"
	"testing"
)

// TestIdempotencyFingerprint: the fingerprint of a command under an
// Idempotency-Key does not count whitespace, key order at any depth, or
// how a string is escaped, and counts everything else (numbers as
// written). The old form sorted only the top level's keys and kept
// strings as written.
func TestIdempotencyFingerprint(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{`{"item":{"sku":"mug","qty":2}}`, `{"item":{"qty":2,"sku":"mug"}}`, true},
		{`{"item":{"sku":"mug","qty":2}}`, `{ "item" : { "sku" : "mug" , "qty" : 2 } }`, true},
		{`{"a":[{"y":1,"x":{"q":null,"p":true}}]}`, `{"a":[{"x":{"p":true,"q":null},"y":1}]}`, true},
		{`{"sku":"café"}`, `{"sku":"caf\u00e9"}`, true},
		{`{"item":{"sku":"café"}}`, `{"item":{"sku":"caf\u00e9"}}`, true},
		{`{"s":"a/b<c>"}`, `{"s":"a\/b\u003cc\u003e"}`, true},
		{`{"a\u0062":1}`, `{"ab":1}`, true},
		{`{"item":{"qty":2}}`, `{"item":{"qty":2.0}}`, false},
		{`{"n":9007199254740993}`, `{"n":9007199254740992}`, false},
		{`{"item":{"sku":"mug"}}`, `{"item":{"sku":"cup"}}`, false},
		{`{"a":[1,2]}`, `{"a":[2,1]}`, false},
		{`{"a":{"b":1}}`, `{"a":{"b":1,"c":1}}`, false},
		{`{"a":"1"}`, `{"a":1}`, false},
	} {
		fa, err := fingerprintOf(tc.a)
		if err != nil {
			t.Fatalf("%s: %v", tc.a, err)
		}
		fb, err := fingerprintOf(tc.b)
		if err != nil {
			t.Fatalf("%s: %v", tc.b, err)
		}
		if (string(fa) == string(fb)) != tc.same {
			t.Errorf("%s and %s: same fingerprint %v, want %v (%s | %s)", tc.a, tc.b, !tc.same, tc.same, fa, fb)
		}
	}
}

func fingerprintOf(body string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &fields); err != nil {
		return nil, err
	}
	k, err := idempotency("k", "T", fields)
	return k.fingerprint, err
}
