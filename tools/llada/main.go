// Command llada converts, runs, evaluates and benchmarks LLaDA models.
//
//	llada convert  --in DIR --out FILE [--dtype f32|q8] [--group N]
//	llada export   --model FILE --out DIR
//	llada logits   --model FILE --ids 1,2,3
//	llada generate --model FILE (--prompt TEXT | --prompt-file FILE | --ids 1,2,3) [options]
//	llada eval     --model FILE [--data DIR] [--sft] [options]
//	llada bench    --model FILE [--tokens N]
//
// Bad flags, missing files and impossible options print one line on stderr
// and exit with status 2.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"unmask/quant"
)

// command is one subcommand; each lives in its own file and registers
// itself in init.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// usageError marks errors that come from the command line rather than the
// work; both exit with status 2, but only usage errors print the usage.
type usageError struct{ error }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	// The fastest kernels this machine has: natively AVX2 when built with
	// GOEXPERIMENT=simd on a processor that has it, else the Go references.
	if _, err := quant.UseKernels("auto"); err != nil {
		fmt.Fprintf(stderr, "llada: %v\n", err)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "llada: unknown command %q (try: %s)\n", args[0], strings.Join(names(), ", "))
		return 2
	}
	if err := cmd.run(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "llada %s: %v\n", args[0], oneLine(err))
		return 2
	}
	return 0
}

func names() []string {
	var ns []string
	for n := range commands {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: llada <command> [flags]")
	for _, n := range names() {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
}

// newFlags makes a flag set that reports errors instead of exiting, and
// prints nothing itself: the error becomes llada's one line on stderr.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args and refuses positional arguments. -h and --help
// print the command's flags on stdout.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stdout, "usage: llada %s [flags]\n", fs.Name())
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
