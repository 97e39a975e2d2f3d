package main

import (
	"bytes"
	"fmt"
)

// msgSize is the size of every message, in bytes of JSON.
const msgSize = 100

// message is a JSON object of exactly msgSize bytes naming its writer and
// its number, padded with a string.
func message(writer, n int) []byte {
	head := fmt.Sprintf(`{"w":%d,"n":%d,"pad":"`, writer, n)
	pad := msgSize - len(head) - len(`"}`)
	b := make([]byte, 0, msgSize)
	b = append(b, head...)
	b = append(b, bytes.Repeat([]byte{'x'}, max(pad, 0))...)
	return append(b, `"}`...)
}

// batchBody is a JSON array of count messages, the body of one batched POST.
func batchBody(writer, first, count int) []byte {
	b := make([]byte, 0, count*(msgSize+1)+2)
	b = append(b, '[')
	for i := range count {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, message(writer, first+i)...)
	}
	return append(b, ']')
}

// countItems counts the elements of a JSON array without decoding them, so
// that the reader's cost does not hide the server's. It checks only the
// structure it needs: one top-level array, strings and nesting balanced.
func countItems(body []byte) (int, error) {
	i := skipSpace(body, 0)
	if i == len(body) {
		return 0, nil // an empty body: nothing read
	}
	if body[i] != '[' {
		return 0, fmt.Errorf("the body is not a JSON array: %.40q", body)
	}
	count := 1
	if j := skipSpace(body, i+1); j < len(body) && body[j] == ']' {
		count, i = 0, j
	}
	depth, inString := 0, false
	for ; i < len(body); i++ {
		if inString {
			switch body[i] {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch body[i] {
		case '"':
			inString = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth > 0 {
				continue
			}
			if j := skipSpace(body, i+1); j != len(body) {
				return 0, fmt.Errorf("data after the JSON array at byte %d", j)
			}
			return count, nil
		case ',':
			if depth == 1 {
				count++
			}
		}
	}
	return 0, fmt.Errorf("the JSON array is not closed")
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}
