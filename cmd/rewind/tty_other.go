//go:build !unix

package main

import "os"

// ttyWidth is 0 where the terminal's width is not asked for.
func ttyWidth(*os.File) int { return 0 }
