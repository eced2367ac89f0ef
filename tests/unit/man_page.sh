#!/bin/bash
# The man page, as man(1) shows it, says what --help says: every option
# with its argument and its text, and every exit status with its meaning,
# none more; and it has the sections a man page needs. No root needed.
# Usage: man_page.sh DEPTRACE MAN_PAGE
set -euo pipefail
deptrace=$1 page=$2

fail() { echo "FAIL: $*" >&2; exit 1; }

command -v man >/dev/null || fail "man is not installed: run scripts/setup-deps (man-db)"
scratch=$(mktemp -d /tmp/deptrace-man.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

"$deptrace" --help > "$scratch/help"
# plain ASCII, and no hyphenation to undo (the page turns it off)
MANWIDTH=80 LC_ALL=C man --warnings -l "$page" > "$scratch/man" 2> "$scratch/man.err" ||
	fail "man -l $page failed: $(cat "$scratch/man.err")"
[[ ! -s $scratch/man.err ]] || fail "man -l $page warns: $(cat "$scratch/man.err")"
tr -s ' \n' '  ' < "$scratch/man" > "$scratch/man.flat"

# --help's entries whose first line matches START, with their
# continuation lines (TEXT_COLUMN spaces, then the text), one a line as
# "LABEL<tab>TEXT", white space squeezed. The label is what stands in the
# first TEXT_COLUMN columns of the first line.
help_entries() {
	awk -v start="$1" -v col="$2" '
		function trim(s) { gsub(/^ +| +$/, "", s); gsub(/ +/, " ", s); return s }
		function flush() { if (label != "") print label "\t" trim(text); label = "" }
		$0 ~ start {
			flush()
			label = trim(substr($0, 1, col)); text = substr($0, col + 1)
			next
		}
		label != "" && substr($0, 1, col) ~ /^ *$/ && substr($0, col + 1, 1) ~ /[^ ]/ {
			text = text " " $0
			next
		}
		{ flush() }
		END { flush() }' "$scratch/help"
}
help_entries '^  (-[A-Za-z], )?--|^      --' 26 > "$scratch/options"
help_entries '^  [0-9]+ ' 7 > "$scratch/exits"
options=$(wc -l < "$scratch/options") exits=$(wc -l < "$scratch/exits")
((options >= 20)) || fail "found only $options options in --help"
((exits >= 10)) || fail "found only $exits exit statuses in --help"

cat "$scratch/options" "$scratch/exits" > "$scratch/entries"
while IFS=$'\t' read -r label text; do
	grep -qF -- " $label $text " "$scratch/man.flat" ||
		fail "not in the man page as in --help: $label $text"
done < "$scratch/entries"

# and the page has none that --help lacks
section() { sed -n "/^$1\$/,/^[A-Z]/p" "$scratch/man"; }
section OPTIONS | grep -E '^       -' | sed 's/^ *//; s/  .*//' | sort > "$scratch/man.labels"
cut -f1 "$scratch/options" | sort > "$scratch/help.labels"
diff -u "$scratch/help.labels" "$scratch/man.labels" >&2 || fail "the options differ (above)"
man_exits=$(section 'EXIT STATUS' | grep -cE '^       [0-9]+ ')
((man_exits == exits)) || fail "the page has $man_exits exit statuses, --help $exits"

for name in NAME SYNOPSIS DESCRIPTION OPTIONS 'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
	grep -qx "$name" "$scratch/man" || fail "no $name section"
done
echo "PASS: $options options and $exits exit statuses read the same in --help and $page"
