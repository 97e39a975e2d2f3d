package durablestreams

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// scanJSON agrees with encoding/json on what is JSON and, for an array, on
// its elements, except that it refuses what is not UTF-8 (RFC 8259), which
// json.Valid takes inside a string.
func TestScanJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`[]`, ` [ ] `, `[1]`, `[1,2,3]`, `[ 1 , "a" , null ]`, `[[1,2],[3]]`, `[{"a":[1,{"b":"]"}]},2]`,
		`["a\"b", "c\\", "\\\""]`, `["],[", "{", "}"]`, "[\n {\"x\": 1}\n ,\n 2\n]", `[true,false,-1.5e3,{}]`,
		`1`, ` "x" `, `{"a":1}`, `-0`, `0.5`, `1e5`, `1E+5`, `-1.0e-5`, `"\u00e9\ud83d\ude00"`, "\"\xff\xfe\"", `["é", "😀"]`, "[\"\xe9\"]", "[\"\xf0\x9f\x98\"]", "\"a\xc3\"",
		``, ` `, `[`, `]`, `[1,]`, `[,1]`, `[1 2]`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1,}`, `01`, `1.`, `.5`, `1e`,
		`-`, `+1`, `tru`, `nul`, `"\x"`, `"\u12"`, "\"a\nb\"", `"abc`, `[1]]`, `[1] x`, `NaN`, `[1,2`, `{"a":1`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		checkScan(t, []byte(in))
	}
}

func FuzzScanJSON(f *testing.F) {
	for _, s := range []string{`[1,2]`, `[[1],{"a":"]"}]`, `["\\\"",1]`, `{"a":[true,null]}`, `-1.5e+3`, `"\u0041"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkScan(t, in) })
}

func checkScan(t *testing.T, in []byte) {
	t.Helper()
	elems, array, ok := scanJSON(in, math.MaxInt)
	if want := json.Valid(in) && utf8.Valid(in); ok != want {
		t.Fatalf("%.80q: scanJSON says %v, json.Valid and utf8.Valid %v", in, ok, want)
	}
	trimmed := bytes.TrimSpace(in)
	if !ok {
		return
	}
	if isArr := trimmed[0] == '['; array != isArr {
		t.Fatalf("%.80q: array %v", in, array)
	}
	if !array {
		return
	}
	var want []json.RawMessage
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatalf("%.80q: %v", in, err)
	}
	if len(elems) != len(want) {
		t.Fatalf("%.80q: %d elements, want %d", in, len(elems), len(want))
	}
	for i := range elems {
		if !bytes.Equal(elems[i], bytes.TrimSpace(want[i])) {
			t.Fatalf("%.80q: element %d is %q, want %q", in, i, elems[i], want[i])
		}
	}
}

// batchOf100 is a body like dsbench's batched POSTs: 100 JSON objects of
// 100 bytes, most of each a string.
func batchOf100() []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		head := `{"w":3,"n":` + strings.Repeat("7", 1+i%3) + `,"pad":"`
		b.WriteString(head + strings.Repeat("x", 100-len(head)-2) + `"}`)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// BenchmarkScanJSON checks and splits a 100-message batch; its sibling
// BenchmarkScanJSONEncodingJSON only checks it, with encoding/json.Valid.
func BenchmarkScanJSON(b *testing.B) {
	body := batchOf100()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, ok := scanJSON(body, math.MaxInt); !ok {
			b.Fatal("not JSON")
		}
	}
}

func BenchmarkScanJSONEncodingJSON(b *testing.B) {
	body := batchOf100()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !json.Valid(body) {
			b.Fatal("not JSON")
		}
	}
}
