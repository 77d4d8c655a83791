#!/usr/bin/env bats
# tests/e2e/man.bats - the man pages faultline(1), faultlined(8) and
# faultline-scenario(5) (make man: docs/*.md through pandoc and docs/man.lua):
# they build, groff finds nothing to warn about, they have the sections a man
# page needs, and they say what the programs say. Drift is checked both ways:
# every long option of every --help is in the page (for faultline, in the
# section of that command), and every long option a page names exists. The
# pages' roff is read with \- turned back into -, so hyphenation and fonts
# play no part. Needs pandoc and man-db; applies nothing, needs no root.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

: "${FAULTLINE:?FAULTLINE must point at the faultline binary}"

setup_file() {
	# the pages of the build under test (tests/run.sh: FL_BUILD=build/san)
	export FL_BUILD=${FL_BUILD:-$(dirname "$FAULTLINE")}
	export FL_TOP="$BATS_TEST_DIRNAME/../.."
	make --no-print-directory -C "$FL_TOP" BUILD="$FL_BUILD" man >"$BATS_FILE_TMPDIR/make.log" 2>&1 ||
		{
			cat "$BATS_FILE_TMPDIR/make.log" >&3
			return 1
		}
}

setup() {
	FAULTLINED=${FAULTLINED:-$(dirname "$FAULTLINE")/faultlined}
	MAN="$FL_BUILD/man"
	PAGES=("$MAN/faultline.1" "$MAN/faultlined.8" "$MAN/faultline-scenario.5")
}

# roff PAGE: the page's roff source with "\-" as "-"
roff() { sed 's/\\-/-/g' "$1"; }

# long_options: the --xxx words of standard input, sorted, unique
long_options() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }

# section PAGE NAME: the roff of section .SH NAME of PAGE
section() { roff "$1" | awk -v want="$2" '/^\.SH / { s = $0; sub(/^\.SH +"?/, "", s); sub(/"$/, "", s); on = (s == want); next } on'; }

# faultline's commands, as `faultline --help` lists them
commands() { "$FAULTLINE" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF && !/^Commands:/ { print $1 }'; }

# all_help: the long options every faultline --help prints (top level and
# every command), and --version, which the top level takes without listing
all_help() {
	local c
	{
		"$FAULTLINE" --help
		for c in $(commands); do "$FAULTLINE" "$c" --help; done
		echo --version
	} | long_options
}

@test "the_pages_have_their_title_section_date_version_and_manual" {
	local p
	for p in "${PAGES[@]}"; do
		[ -s "$p" ] || {
			echo "missing: $p"
			return 1
		}
		# standalone, with the title line make man writes: name, section,
		# date, "faultline VERSION", "faultline manual"
		run grep -m1 '^\.TH ' "$p"
		assert_success
		local name=${p##*/}
		assert_output --regexp "^\.TH \"$(tr a-z- A-Z- <<<"${name%.*}")\" \"${name##*.}\" \"[0-9]{4}-[0-9]{2}-[0-9]{2}\" \"faultline [0-9.]+\" \"faultline manual\"$"
	done
	# the footer's version is the program's
	local v
	v=$("$FAULTLINE" --version | awk '{ print $2 }')
	grep -q "\"faultline $v\" \"faultline manual\"" "$MAN/faultline.1"
	grep -q "\"faultline $v\" \"faultline manual\"" "$MAN/faultlined.8"
}

@test "groff_and_man_find_nothing_to_warn_about" {
	local p bad=0 out
	for p in "${PAGES[@]}"; do
		out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$p" 2>&1 >/dev/null)
		[ -z "$out" ] || {
			echo "man --warnings $p:"
			echo "$out"
			bad=1
		}
		out=$(groff -t -man -ww -z "$p" 2>&1)
		[ -z "$out" ] || {
			echo "groff -ww $p:"
			echo "$out"
			bad=1
		}
	done
	[ "$bad" -eq 0 ]
}

@test "each_page_has_the_sections_of_a_man_page_and_a_whatis_line" {
	local p s bad=0
	for p in "${PAGES[@]}"; do
		for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
			grep -qxE "\.SH \"?$s\"?" "$p" || {
				echo "$p: no $s section"
				bad=1
			}
		done
		# NAME is "name - what", so that man -k / whatis find it
		run lexgrog "$p"
		echo "$output"
		[[ "$output" == *": \"$(basename "${p%.*}") - "* ]] || bad=1
	done
	for s in OPTIONS "EXIT STATUS" FILES ENVIRONMENT EXAMPLES; do
		grep -qx "\.SH \"\?$s\"\?" "$MAN/faultlined.8" || {
			echo "faultlined.8: no $s section"
			bad=1
		}
	done
	for s in COMMANDS "EXIT STATUS" FILES ENVIRONMENT EXAMPLES; do
		grep -qx "\.SH \"\?$s\"\?" "$MAN/faultline.1" || {
			echo "faultline.1: no $s section"
			bad=1
		}
	done
	[ "$bad" -eq 0 ]
}

@test "every_faultline_command_has_its_section_in_faultline_1" {
	local c bad=0
	for c in $(commands); do
		roff "$MAN/faultline.1" | grep -qE "^\.SS \"?([a-z]+, )*$c[ ,:]" || {
			echo "faultline.1: no .SS section for command $c"
			bad=1
		}
	done
	[ "$bad" -eq 0 ]
}

@test "every_option_of_every_faultline_help_is_in_the_section_of_its_command" {
	local c o bad=0 cmds text
	cmds=$(commands | paste -sd' ')
	[ -n "$cmds" ]
	# the page's COMMANDS section split at the .SS headings that name
	# commands ("ls, status, stop, schedule: ..." names four); headings such
	# as "Target options" belong to the command before them, the text before
	# the first to every command (-h, --help)
	text=$(section "$MAN/faultline.1" COMMANDS | awk -v cmds="$cmds" '
		BEGIN { n = split(cmds, a, " "); for (i = 1; i <= n; i++) is[a[i]] = 1; now = cmds }
		/^\.SS / {
			h = $0; sub(/^\.SS +"?/, "", h); k = split(h, w, /[ ,:]+/); cur = ""
			for (i = 1; i <= k && is[w[i]]; i++) cur = cur " " w[i]
			if (cur != "") { now = cur }
			next
		}
		{ m = split(now, c, " "); for (i = 1; i <= m; i++) print c[i] "\t" $0 }')
	[ -n "$text" ]
	for c in $(commands); do
		for o in $("$FAULTLINE" "$c" --help | long_options); do
			# in bold, as the page writes an option it describes
			grep -P "^$c\t" <<<"$text" | grep -qF -- "\f[B]$o\f[R]" || {
				echo "faultline $c --help prints $o; faultline.1's section of $c does not describe it"
				bad=1
			}
		done
	done
	# and the top level's
	for o in $("$FAULTLINE" --help | long_options) --version; do
		roff "$MAN/faultline.1" | grep -qF -- "$o" || {
			echo "faultline --help prints $o; faultline.1 does not"
			bad=1
		}
	done
	[ "$bad" -eq 0 ]
}

# only_help_options PAGE: every long option PAGE names is printed by some
# faultline --help (says which are not)
only_help_options() {
	local o bad=0 known
	known=$(all_help)
	for o in $(roff "$MAN/$1" | long_options); do
		grep -qxF -- "$o" <<<"$known" || {
			echo "$1 names $o, which no faultline --help prints"
			bad=1
		}
	done
	[ "$bad" -eq 0 ]
}

@test "every_option_faultline_1_names_is_printed_by_some_faultline_help" {
	only_help_options faultline.1
}

@test "faultlined_8_and_faultlined_help_name_the_same_options" {
	local o bad=0 help known terms
	help=$("$FAULTLINED" --help | long_options)
	[ -n "$help" ]
	# the terms of the OPTIONS list: "\f[B]-h\f[R], \f[B]--help\f[R]"
	terms=$(section "$MAN/faultlined.8" OPTIONS | awk 'prev ~ /^\.TP/ { print } { prev = $0 }')
	for o in $help; do
		grep -qF -- "\f[B]$o\f[R]" <<<"$terms" || {
			echo "faultlined --help prints $o; faultlined.8's OPTIONS do not describe it"
			bad=1
		}
	done
	# what OPTIONS and SYNOPSIS name is the daemon's; elsewhere the page may
	# also name faultline's (faultline run --detach)
	for o in $({
		section "$MAN/faultlined.8" OPTIONS
		section "$MAN/faultlined.8" SYNOPSIS
	} | long_options); do
		grep -qxF -- "$o" <<<"$help" || {
			echo "faultlined.8 describes $o, which faultlined --help does not print"
			bad=1
		}
	done
	# other programs' options in the examples
	known=$({
		echo "$help"
		all_help
		echo --unix-socket # curl
		echo --now         # systemctl enable --now
	} | sort -u)
	for o in $(roff "$MAN/faultlined.8" | long_options); do
		grep -qxF -- "$o" <<<"$known" || {
			echo "faultlined.8 names $o, which neither faultlined --help nor faultline's print"
			bad=1
		}
	done
	[ "$bad" -eq 0 ]
}

@test "the_capabilities_faultlined_8_lists_are_those_it_keeps" {
	local caps
	caps=$("$FAULTLINED" --print-capabilities)
	[ -n "$caps" ]
	# the --print-capabilities item of OPTIONS names each, and no other
	local item
	item=$(section "$MAN/faultlined.8" OPTIONS | awk '/^\.TP/ { on = 0; tp = 1; next } tp && /^\\f\[B\]--print-capabilities/ { on = 1 } { tp = 0 } on' | tr -d '\n')
	[ -n "$item" ]
	local c
	for c in $caps; do
		[[ "$item" == *"$c"* ]] || {
			echo "faultlined keeps $c; faultlined.8 does not list it: $item"
			return 1
		}
	done
	local listed
	listed=$(grep -oE '\(([A-Z_]+, )+[A-Z_]+\)' <<<"$item" | tr -d '()' | tr -s ', ' '\n' | sort)
	[ "$listed" = "$(sort <<<"$caps")" ] || {
		echo "faultlined.8 lists: $listed"
		echo "faultlined keeps: $caps"
		return 1
	}
}

@test "the_top_level_scenario_keys_of_scenario_md_validate_and_scenario_5_agree" {
	local md=$FL_TOP/docs/scenario.md keys k bad=0 terms
	# the keys of the table under "## Top level"
	keys=$(awk '/^## / { on = ($0 == "## Top level"); next } on && /^\| `/' "$md" |
		sed -E 's/^\| `([a-z_]+)`.*/\1/' | sort -u)
	[ "$(wc -l <<<"$keys")" -ge 8 ]
	# the terms of the list under "Top level" in the page
	terms=$(awk '/^\.S[SH] / { on = ($0 ~ /^\.SS "?Top level"?$/); next } on && prev ~ /^\.TP/ { print } { prev = $0 }' \
		"$MAN/faultline-scenario.5" | sed -E 's/\\f\[[A-Z]+\]//g' | sort -u)
	for k in $keys; do
		grep -qxF -- "$k" <<<"$terms" || {
			echo "scenario.md documents top-level key $k; faultline-scenario.5 does not"
			bad=1
		}
	done
	[ "$keys" = "$terms" ] || {
		diff <(echo "$keys") <(echo "$terms")
		bad=1
	}
	# and they are the keys faultline validate accepts (its message for an
	# unknown key lists them)
	local accepted
	printf 'version: 1\nname: x\nduration: 1s\nno_such_key: 1\n' >"$BATS_TEST_TMPDIR/k.yaml"
	run "$FAULTLINE" validate "$BATS_TEST_TMPDIR/k.yaml"
	[ "$status" -eq 2 ]
	accepted=$(sed -n 's/.*no_such_key: unknown key (expected \(.*\))$/\1/p' <<<"$output" |
		sed 's/ or /, /' | tr ',' '\n' | tr -d ' ' | sed '/^$/d' | sort -u)
	[ -n "$accepted" ] || {
		echo "cannot read the keys from: $output"
		bad=1
	}
	[ "$accepted" = "$keys" ] || {
		echo "top-level keys: faultline validate accepts (<), scenario.md documents (>):"
		diff <(echo "$accepted") <(echo "$keys")
		bad=1
	}
	# and the sections of scenario.md are there, each as a subsection
	local h
	while IFS= read -r h; do
		grep -qxE "\.SS \"?${h}\"?" "$MAN/faultline-scenario.5" || {
			echo "scenario.md's section \"$h\" is not in faultline-scenario.5"
			bad=1
		}
	done < <(sed -n 's/^## //p' "$md")
	[ "$bad" -eq 0 ]
}

@test "the_options_faultline_scenario_5_names_are_faultline_options" {
	only_help_options faultline-scenario.5
}

@test "man_finds_each_page_by_name_and_section_in_a_man_tree" {
	local tree=$BATS_TEST_TMPDIR/man p name sec
	for p in "${PAGES[@]}"; do
		name=$(basename "$p")
		sec=${name##*.}
		mkdir -p "$tree/man$sec"
		cp "$p" "$tree/man$sec/"
		run env MANWIDTH=80 man -M "$tree" -P cat "$sec" "${name%.*}"
		assert_success
		assert_line --index 0 --regexp "^$(tr a-z A-Z <<<"${name%.*}")\($sec\) "
	done
}
