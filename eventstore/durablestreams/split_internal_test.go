package durablestreams

import (
	"bytes"
	"encoding/json"
	"testing"
)

// splitArray agrees with encoding/json on every array it is given.
func TestSplitArrayAgreesWithDecoding(t *testing.T) {
	for _, in := range []string{
		`[]`, ` [ ] `, `[1]`, `[1,2,3]`, `[ 1 , "a" , null ]`, `[[1,2],[3]]`, `[{"a":[1,{"b":"]"}]},2]`,
		`["a\"b", "c\\", "\\\""]`, `["],[", "{", "}"]`, "[\n {\"x\": 1}\n ,\n 2\n]", `[true,false,-1.5e3,{}]`,
	} {
		checkSplit(t, []byte(in))
	}
}

func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[1,2]`, `[[1],{"a":"]"}]`, `["\\\"",1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		t0 := bytes.TrimSpace(in)
		if !json.Valid(in) || len(t0) == 0 || t0[0] != '[' {
			return
		}
		checkSplit(t, in)
	})
}

func checkSplit(t *testing.T, in []byte) {
	t.Helper()
	var want []json.RawMessage
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatalf("%q: %v", in, err)
	}
	got := splitArray(bytes.TrimSpace(in))
	if len(got) != len(want) {
		t.Fatalf("%q: %d elements, want %d", in, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], bytes.TrimSpace(want[i])) {
			t.Fatalf("%q: element %d is %q, want %q", in, i, got[i], want[i])
		}
	}
}
