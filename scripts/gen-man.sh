#!/bin/sh
# Write strata's man pages, strata(1) and strata-VERB(1), from the binary's own --help texts,
# so they never drift from what the command says.
#   scripts/gen-man.sh path/to/strata OUTDIR
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 STRATA_BIN OUTDIR" >&2
	exit 2
fi
bin=$1
out=$2
mkdir -p "$out"
version=$("$bin" version | sed 's/^strata version //')

# Turn one --help text (stdin) into a man page. The texts share one layout: a "Usage:" line,
# a description, "Options:" with "  -f, --flag type   what it does" lines, maybe notes after.
to_man() { # NAME (strata-build) TITLE (one line)
	awk -v name="$1" -v title="$2" -v version="$version" '
	function esc(s) {
		gsub(/\\/, "\\e", s)
		gsub(/-/, "\\-", s)
		if (s ~ /^[.\047]/)
			s = "\\&" s
		return s
	}
	BEGIN {
		up = toupper(name)
		printf ".TH %s 1 \"\" \"strata %s\" \"strata Manual\"\n", up, version
		printf ".SH NAME\n%s \\- %s\n", esc(name), esc(title)
		section = ""
	}
	/^Usage: / {
		sub(/^Usage: /, "")
		printf ".SH SYNOPSIS\n.nf\n%s\n", esc($0)
		section = "synopsis"
		next
	}
	section == "synopsis" && /^       strata / {
		sub(/^ +/, "")
		print esc($0)
		next
	}
	section == "synopsis" {
		print ".fi\n.SH DESCRIPTION"
		section = "description"
	}
	/^(Options|Commands):$/ {
		printf ".SH %s\n", toupper(substr($0, 1, length($0) - 1))
		section = "options"
		next
	}
	section == "options" && /^  +-/ {
		# "  -f, --file string   Name ..." : the flag part, then two spaces, then the text
		line = $0
		sub(/^ +/, "", line)
		split(line, parts, /   */)
		printf ".TP\n.B %s\n", esc(parts[1])
		rest = line
		sub(/^[^ ]+( [^ ]+)*(  +|$)/, "", rest)
		if (rest != "")
			print esc(rest)
		next
	}
	section == "options" && /^  [a-z]/ {
		# a command list: "  name words      what it does"
		line = $0
		sub(/^  /, "", line)
		cmd = line
		sub(/  +.*/, "", cmd)
		what = line
		sub(/^[^ ]+( [^ ]+)?  +/, "", what)
		page = cmd
		gsub(/ /, "-", page)
		printf ".TP\n.BR strata\\-%s (1)\n%s\n", esc(page), esc(what)
		next
	}
	section == "options" && /^ {6,}/ {
		sub(/^ +/, "")
		print esc($0)
		next
	}
	section == "options" && /^$/ {
		section = "notes"
		print ".SH NOTES"
		next
	}
	/^$/ { print ".PP"; next }
	{ sub(/^ +/, ""); print esc($0) }
	END {
		if (section == "synopsis")
			print ".fi"
		if (name != "strata")
			print ".SH SEE ALSO\n.BR strata (1)"
	}'
}

"$bin" --help | to_man strata "a daemonless container image builder and image toolkit" >"$out/strata.1"

# The verbs: the command list of strata --help, one or two words, then the summary.
"$bin" --help | awk '/^Commands:$/ { on = 1; next } on && /^$/ { exit } on' |
	while IFS= read -r line; do
		words=$(printf '%s\n' "$line" | sed -E 's/^  ([a-z]+( [a-z]+)?)  +.*/\1/')
		title=$(printf '%s\n' "$line" | sed -E 's/^  [a-z]+( [a-z]+)?  +//')
		page=strata-$(printf '%s' "$words" | tr ' ' '-')
		# shellcheck disable=SC2086 # the verb's words are separate arguments
		"$bin" $words --help | to_man "$page" "$title" >"$out/$page.1"
	done
