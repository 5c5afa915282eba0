package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/urfave/cli/v2"
)

// The reference part of the docs is generated from the command tree, so it
// can never disagree with what devbox accepts: docs/reference/devbox-CMD.md
// (flags, environment variables, defaults of every command) and a man page
// per command, docs/man/devbox-CMD.1. `make docs` writes them; a test fails
// when the committed files differ from what the tree generates.

// referenceDocs returns the generated files, by path relative to the
// repository root.
func referenceDocs(root *cli.App) map[string][]byte {
	files := map[string][]byte{}
	for _, c := range root.Commands {
		if c.Hidden || c.Name == "help" {
			continue
		}
		name := "devbox-" + c.Name
		md := commandMarkdown(c)
		files["docs/reference/"+name+".md"] = md
		files["docs/man/"+name+".1"] = manPage(name, c.Usage, md)
	}
	return files
}

func commandMarkdown(top *cli.Command) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# devbox %s\n\n", top.Name)
	b.WriteString("<!-- Generated from the command tree by `make docs`; do not edit. -->\n\n")
	fmt.Fprintf(&b, "%s.\n\n", strings.TrimSuffix(top.Usage, "."))
	var walk func(c *cli.Command, path []string)
	walk = func(c *cli.Command, path []string) {
		if c.Hidden {
			return
		}
		path = append(slices.Clone(path), c.Name)
		visibleSubs := slices.DeleteFunc(slices.Clone(c.Subcommands), hidden)
		if c.Action != nil && (len(visibleSubs) == 0 || len(path) == 1 && c.Name != top.Name || c.ArgsUsage != "") || len(visibleSubs) == 0 {
			commandSection(&b, c, path)
		}
		for _, s := range visibleSubs {
			walk(s, path)
		}
	}
	walk(top, nil)
	return b.Bytes()
}

func commandSection(b *bytes.Buffer, c *cli.Command, path []string) {
	full := "devbox " + strings.Join(path, " ")
	fmt.Fprintf(b, "## %s\n\n", full)
	usage := full
	if flags := visibleFlags(c.Flags); len(flags) > 0 {
		usage += " [flags]"
	}
	if c.ArgsUsage != "" {
		usage += " " + c.ArgsUsage
	}
	fmt.Fprintf(b, "```\n%s\n```\n\n", usage)
	if c.Usage != "" {
		fmt.Fprintf(b, "%s.\n\n", strings.TrimSuffix(c.Usage, "."))
	}
	if c.Description != "" {
		fmt.Fprintf(b, "```\n%s\n```\n\n", strings.TrimRight(c.Description, "\n"))
	}
	flags := visibleFlags(c.Flags)
	if len(flags) == 0 {
		return
	}
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	for _, f := range flags {
		d, _ := f.(cli.DocGenerationFlag)
		var names []string
		for _, n := range f.Names() {
			names = append(names, "`"+dashed(n)+"`")
		}
		var envs []string
		def, usage := "", ""
		if d != nil {
			for _, e := range d.GetEnvVars() {
				envs = append(envs, "`"+e+"`")
			}
			def = d.GetDefaultText()
			if def == "" && d.TakesValue() {
				def = d.GetValue()
			}
			usage = d.GetUsage()
		}
		if def != "" && def != `""` {
			def = "`" + strings.Trim(def, `"`) + "`"
		} else {
			def = ""
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", strings.Join(names, ", "), strings.Join(envs, ", "), def, tableCell(usage))
	}
	b.WriteString("\n")
}

func visibleFlags(flags []cli.Flag) []cli.Flag {
	return slices.DeleteFunc(slices.Clone(flags), func(f cli.Flag) bool {
		v, ok := f.(cli.VisibleFlag)
		return ok && !v.IsVisible()
	})
}

func tableCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// manPage renders the reference page as roff, with the header man needs.
func manPage(name, usage string, md []byte) []byte {
	head := fmt.Sprintf("%% %s 1 \"\" devbox \"devbox manual\"\n\n# NAME\n\n%s - %s\n\n", strings.ToUpper(name), name, usage)
	body := md[bytes.IndexByte(md, '\n')+1:] // the title is in NAME
	return md2man.Render(append([]byte(head), body...))
}
