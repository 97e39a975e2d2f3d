package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"time"
)

func exportCommand() command {
	var to, out, pkg, def string
	var force bool
	return command{
		name:    "export",
		args:    "<stream> --to X [--out FILE] [--package P] [--def EXPR]",
		summary: "write an aggregate's events up to a point as a given/when/then test",
		help: `Writes the events of one aggregate instance up to a point (a version, or a
TIME) as a Go test of the aggregate: the events become aggregatetest.Given(...),
and a When and Then are left for you to complete. A production bug becomes a
test in one command. The file goes to stdout, or to --out (which is not
overwritten without --force).

` + timeHelpParagraph(),
		flags: func(f *flag.FlagSet) {
			f.StringVar(&to, "to", "", "the last point to include: a version or a time")
			f.StringVar(&out, "out", "", "write the test to this file instead of stdout")
			f.StringVar(&pkg, "package", "", "the Go package name of the test (default: the server's choice)")
			f.StringVar(&def, "def", "", "the Go expression of the aggregate's definition in that package (like Orders())")
			f.BoolVar(&force, "force", false, "overwrite --out if it exists")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if err := wantArgs(args, 1, 1, "stream (like orders/ord-0042/events)"); err != nil {
				return err
			}
			ref, err := parseAggregate(args[0])
			if err != nil {
				return err
			}
			if to == "" {
				return usageErr("usage: give --to, the last version or time to export")
			}
			point, err := parsePoint("--to", to, time.Now(), c.loc)
			if err != nil {
				return err
			}
			if pkg != "" && !isIdentifier(pkg) {
				return usageErr("--package %q is not a Go package name", pkg)
			}
			if out != "" && !force {
				if _, err := os.Stat(out); err == nil {
					return usageErr("%s exists: give --force to overwrite it", out)
				} else if !errors.Is(err, fs.ErrNotExist) {
					return usageErr("--out %s: %v", out, err)
				}
			}
			q := url.Values{"to": {point}}
			if pkg != "" {
				q.Set("package", pkg)
			}
			if def != "" {
				q.Set("def", def)
			}
			src, _, err := c.client.do(ctx, "GET", "/v1/export/"+ref.path(), q, nil, 0)
			if err != nil {
				return err
			}
			if out == "" {
				_, err = c.stdout.Write(src)
				return err
			}
			if err := os.WriteFile(out, src, 0o644); err != nil {
				return &exitError{code: exitServer, msg: fmt.Sprintf("write the test: %v", err)}
			}
			if c.json {
				return c.printJSONValue(map[string]any{"stream": ref.stream(), "to": point, "out": out, "bytes": len(src)})
			}
			_, err = fmt.Fprintf(c.stdout, "wrote %s: %s up to %s as a test; complete its When and Then\n", out, ref.stream(), describePoint(point))
			return err
		},
	}
}

// isIdentifier reports whether s is a Go identifier made of ASCII (what a
// package name is in practice).
func isIdentifier(s string) bool {
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}
