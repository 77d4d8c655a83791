#!/usr/bin/env bats
# tests/e2e/completion.bats - the bash completion (completions/faultline.bash):
# sourced into this shell and driven as readline would, by setting COMP_WORDS
# and COMP_CWORD and calling _faultline / _faultlined; COMPREPLY is checked.
# Its option lists are static, so the last tests hold them to the --help of
# the built binaries, both ways: an option added to a command, or removed,
# fails here until the script follows. Creates no namespace and applies
# nothing; the bats shell's `set -e` also proves the functions never fail.

load ../lib/common

setup() {
	FAULTLINED=${FAULTLINED:-$(dirname "$FAULTLINE")/faultlined}
	# shellcheck source=completions/faultline.bash
	source "$BATS_TEST_DIRNAME/../../completions/faultline.bash"
}

# comp WORD...: complete the last WORD (give '' for an empty one) of the
# command line WORD...; the replies, one per line and sorted, in $reply.
comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	if [ "$1" = faultlined ]; then
		_faultlined
	else
		_faultline
	fi
	reply=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort)
}

# expect WORD...: $reply is exactly these words (in any order).
expect() {
	local want
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
	if [ "$reply" != "$want" ]; then
		echo "completion of: ${COMP_WORDS[*]}"
		diff <(echo "$want") <(echo "$reply") || true
		return 1
	fi
}

# has WORD... / lacks WORD...: $reply contains (does not contain) each WORD.
has() {
	local w
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$reply" || {
			echo "'$w' missing from: $(tr "\n" " " <<<"$reply")"
			return 1
		}
	done
}
lacks() {
	local w
	for w in "$@"; do
		! grep -qxF -- "$w" <<<"$reply" || {
			echo "'$w' offered in: $(tr "\n" " " <<<"$reply")"
			return 1
		}
	done
}

# help_options CMD: the long options the --help of CMD prints, sorted.
help_options() {
	if [ "$1" = faultlined ]; then
		"$FAULTLINED" --help
	else
		"$FAULTLINE" "$1" --help
	fi | grep -oE -- '--[a-z][a-z-]*' | sort -u
}

@test "the_subcommands_are_those_of_faultline_help" {
	comp faultline ''
	expect inject run validate plan doctor ls status stop schedule
	# and the list is the one `faultline --help` prints
	local listed
	listed=$("$FAULTLINE" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF && !/^Commands:/ { print $1 }' | sort)
	[ "$reply" = "$listed" ]
	comp faultline st
	expect status stop
	comp faultline -
	expect --help --version
}

@test "inject_offers_every_fault_word_and_then_those_not_yet_given" {
	comp faultline inject ''
	expect loss duplicate corrupt rate blackhole delay reorder refuse reset dns http
	comp faultline inject re
	expect reorder refuse reset
	# each fault at most once: after 'loss 5%' loss is not offered again
	comp faultline inject loss 5% ''
	expect duplicate corrupt rate blackhole delay reorder refuse reset dns http
	# a target option and its value in between change nothing
	comp faultline inject --dev lo loss 5% --protocol udp d
	expect duplicate delay dns
}

@test "inject_loss_offers_its_models_and_then_waits_for_a_number" {
	comp faultline inject loss ''
	expect random gemodel state
	comp faultline inject loss g
	expect gemodel
	comp faultline inject loss gemodel ''
	expect
	# a fault that needs a number first gets nothing
	comp faultline inject delay ''
	expect
}

@test "inject_dns_offers_the_rcodes" {
	comp faultline inject dns ''
	expect servfail nxdomain refused drop
	comp faultline inject dns n
	expect nxdomain
}

@test "inject_refuse_errno_offers_the_errnos" {
	comp faultline inject refuse --errno E
	expect ECONNREFUSED ETIMEDOUT ENETUNREACH EHOSTUNREACH EACCES
	comp faultline inject refuse --errno EH
	expect EHOSTUNREACH
}

@test "inject_option_prefixes_complete_to_the_options" {
	comp faultline inject --dir
	expect --direction
	comp faultline inject loss 1% --allow-
	expect --allow-management --allow-wide
}

@test "a_faults_own_options_are_offered_right_after_it_and_only_there" {
	comp faultline inject refuse --
	has --errno --percent --dev --for
	lacks --burst --status --correlation
	comp faultline inject http --status 503 --p
	expect --percent --path --port --pid --protocol
	comp faultline inject delay 10ms --distribution normal --l
	expect --limit --lease --local-port
	# a target option ends the fault's options
	comp faultline inject delay 10ms --for 30s --l
	expect --lease --local-port
	comp faultline inject --
	lacks --errno --percent --payload --burst --limit --gap --domain --status
}

@test "direction_protocol_attach_and_distribution_values" {
	comp faultline inject --direction ''
	expect egress ingress both
	comp faultline inject loss 1% --direction in
	expect ingress
	# --direction=VALUE, as bash splits it at "="
	comp faultline inject --direction = ''
	expect egress ingress both
	comp faultline inject --direction = e
	expect egress
	comp faultline inject --protocol ''
	expect tcp udp icmp any
	comp faultline inject --attach ''
	expect auto tcx clsact
	comp faultline inject delay 10ms 5ms --distribution p
	expect pareto paretonormal
}

@test "dev_offers_the_interfaces_of_sys_class_net" {
	local ifs
	ifs=$(for n in /sys/class/net/*; do echo "${n##*/}"; done | sort)
	comp faultline inject --dev ''
	[ "$reply" = "$ifs" ]
	has lo
	# IF[,IF...]: the part after the last comma
	comp faultline inject --dev lo,l
	has lo,lo
}

@test "run_validate_plan_and_schedule_add_offer_scenario_files" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p sub
	touch a.yaml b.yml c.json notes.txt
	comp faultline run ''
	expect a.yaml b.yml c.json sub
	comp faultline run --junit out.xml ''
	expect a.yaml b.yml c.json sub
	comp faultline validate a.yaml ''
	expect a.yaml b.yml c.json sub
	comp faultline plan --no-doctor c
	expect c.json
	comp faultline schedule ''
	expect add ls rm
	comp faultline schedule --h
	expect --help
	comp faultline schedule add ''
	expect a.yaml b.yml c.json sub
	# report files may be named anything
	comp faultline run --report-json n
	expect notes.txt
	# --user takes a user of this system, and then files again
	comp faultline run --user roo
	expect root
	comp faultline run --user root a
	expect a.yaml
}

@test "run_after_its_file_offers_the_separator_then_commands" {
	cd "$BATS_TEST_TMPDIR"
	touch a.yaml
	comp faultline run a.yaml ''
	expect --
	comp faultline run --lease 2s a.yaml -- bas
	has bash
	# after the command's name: files, and never faultline's own values
	comp faultline run a.yaml -- make --direction ''
	lacks egress
	comp faultline run --g
	expect --grace
}

@test "daemon_client_commands_offer_their_options_and_ls_its_states" {
	comp faultline ls --state ''
	expect pending running completed aborted failed
	comp faultline status e-1 --w
	expect --wait
	comp faultline stop --a
	expect --all
	comp faultline doctor --
	expect --json --help
	# ids would need the daemon: nothing is offered
	comp faultline status ''
	expect
}

@test "faultlined_completes_its_options" {
	comp faultlined ''
	expect --socket --listen --token-file --state-dir --lease --foreground --help --version \
		--rate-limit --write-rate-limit --keep-history --keep-capabilities --print-capabilities \
		--print-startup-capabilities --allow-command-probes
	comp faultlined --st
	expect --state-dir
	comp faultlined --foreground --l
	expect --listen --lease
	cd "$BATS_TEST_TMPDIR"
	mkdir -p state.d
	touch token
	comp faultlined --state-dir st
	expect state.d
	comp faultlined --token-file to
	expect token
}

@test "every_long_option_of_every_help_is_in_the_script_and_nothing_else" {
	local cmd bad=0 from_help listed m
	# Long options a --help prints that are not options of that command: it
	# names another command's option in a sentence (each is refused below).
	local -A mentioned=(
		[run]="--wait"      # "'faultline status ID --wait' waits for its end"
		[doctor]="--cgroup" # "on which side ... the --cgroup target means what it says"
	)
	for cmd in inject run validate plan doctor ls status stop schedule faultlined; do
		from_help=$(help_options "$cmd")
		[ -n "$from_help" ]
		for m in ${mentioned[$cmd]:-}; do
			# a mention, not an option: the command refuses it
			run "$FAULTLINE" "$cmd" "$m" x
			[ "$status" -eq 2 ] || {
				echo "$cmd accepts $m: move it to the completion's list"
				bad=1
			}
			from_help=$(grep -vxF -- "$m" <<<"$from_help")
		done
		listed=$(_faultline_options "$cmd" | tr ' ' '\n' | sed '/^$/d' | sort -u)
		if [ "$from_help" != "$listed" ]; then
			echo "$cmd: --help (<) and completions/faultline.bash (>) differ:"
			diff <(echo "$from_help") <(echo "$listed") || true
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "every_option_the_script_lists_is_offered_for_its_command" {
	local cmd o
	for cmd in inject run validate plan doctor ls status stop schedule; do
		for o in $(_faultline_options "$cmd"); do
			case $o in
			--correlation | --payload | --burst | --distribution | --limit | --gap | \
				--errno | --percent | --after-bytes | --after | --domain | --status | \
				--path | --delay)
				continue # a fault's own: checked after its fault below
				;;
			esac
			if [ "$cmd" = schedule ]; then
				comp faultline schedule ls "$o" # its options follow add, ls or rm
			else
				comp faultline "$cmd" "$o"
			fi
			has "$o"
		done
	done
	local f
	for f in $(_faultline_faults); do
		for o in $(_faultline_fault_options "$f"); do
			comp faultline inject "$f" "$o"
			has "$o"
		done
	done
}
