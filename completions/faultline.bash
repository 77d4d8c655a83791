# completions/faultline.bash - bash completion for faultline and faultlined.
#
# `make install` puts it in $(PREFIX)/share/bash-completion/completions/ (as
# faultline, with faultlined a link to it), where bash-completion loads it on
# first use; or source it from ~/.bashrc. It is self-contained: it needs none
# of bash-completion's helpers.
#
# The option lists below are static, written from each command's --help;
# tests/e2e/completion.bats checks them against the --help texts of the built
# binaries in both directions, so a new option must be added here (and an old
# one taken out) or that test fails.

# ---------------------------------------------------------------- the lists

_faultline_commands() {
	echo "inject run validate plan doctor ls status stop schedule"
}

# The faults of `inject`, in the order of `faultline inject --help`.
_faultline_faults() {
	echo "loss duplicate corrupt rate blackhole delay reorder refuse reset dns http"
}

# _faultline_fault_options FAULT: the options that belong right after FAULT.
_faultline_fault_options() {
	case $1 in
	loss | duplicate) echo "--correlation" ;;
	corrupt) echo "--payload" ;;
	rate) echo "--burst" ;;
	delay) echo "--distribution --limit" ;;
	reorder) echo "--gap" ;;
	refuse) echo "--errno --percent" ;;
	reset) echo "--percent --after-bytes --after" ;;
	dns) echo "--domain --percent" ;;
	http) echo "--status --percent --path --delay" ;;
	esac
	return 0
}

# _faultline_options CMD: every long option of CMD ("faultline" for the
# command itself, "faultlined" for the daemon). For inject: its target,
# timing and output options, then every fault's own options.
_faultline_options() {
	local ctl="--socket --url --token-file --json --help"
	case $1 in
	faultline) echo "--help --version" ;;
	inject)
		local f o all=" "
		for f in $(_faultline_options inject-general) $(_faultline_faults); do
			for o in $f $(_faultline_fault_options "$f"); do
				if [[ $o == --* && $all != *" $o "* ]]; then all+="$o "; fi
			done
		done
		all=${all# }
		echo "${all% }"
		;;
	inject-general) # inject's options but for the faults' own
		echo "--dev --direction --protocol --port --local-port --remote-port --host" \
			"--cidr --cgroup --pid --share --allow-management --allow-wide --seed" \
			"--for --lease --json --attach --detach --socket --help"
		;;
	run)
		echo "--report-json --junit --lease --grace --user --tcx --clsact --quiet" \
			"--detach --socket --url --token-file --help"
		;;
	validate) echo "--json --help" ;;
	plan) echo "--json --no-doctor --help" ;;
	doctor) echo "--json --help" ;;
	ls) echo "--state --limit $ctl" ;;
	status) echo "--wait $ctl" ;;
	stop) echo "--all $ctl" ;;
	schedule) echo "$ctl" ;;
	faultlined)
		echo "--socket --listen --token-file --state-dir --lease --foreground --help" \
			"--version --rate-limit --write-rate-limit --keep-history --keep-capabilities" \
			"--print-capabilities --print-startup-capabilities --allow-command-probes"
		;;
	esac
	return 0
}

# _faultline_takes_value OPTION: true when OPTION reads the next word as its
# value (any command's; the faults' own options included).
_faultline_takes_value() {
	case $1 in
	--dev | --direction | --protocol | --port | --local-port | --remote-port | --host | \
		--cidr | --cgroup | --pid | --share | --seed | --for | --lease | --attach | \
		--socket | --correlation | --burst | --distribution | --limit | --gap | --errno | \
		--percent | --after-bytes | --after | --domain | --status | --path | --delay | \
		--report-json | --junit | --grace | --url | --token-file | --state | --listen | \
		--state-dir | --rate-limit | --write-rate-limit | --keep-history | --user)
		return 0
		;;
	esac
	return 1
}

# ------------------------------------------------------------------ helpers

# _faultline_words WORD...: the WORDs that start with $cur, into COMPREPLY.
_faultline_words() {
	local IFS=$' \t\n'
	# shellcheck disable=SC2207
	COMPREPLY+=($(compgen -W "$*" -- "$cur")) || true
}

# Files (every one, or only scenarios: *.yaml, *.yml, *.json) and
# directories, starting with $cur. Directories are offered to descend into.
_faultline_files() {
	local want=${1:-all} f
	compopt -o filenames 2>/dev/null || true
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		if [ -d "$f" ]; then
			COMPREPLY+=("$f")
			continue
		fi
		case $want:$f in
		all:* | scenario:*.yaml | scenario:*.yml | scenario:*.json) COMPREPLY+=("$f") ;;
		esac
	done < <(compgen -f -- "$cur")
	return 0
}

_faultline_dirs() {
	local f
	compopt -o filenames 2>/dev/null || true
	while IFS= read -r f; do
		[ -n "$f" ] && COMPREPLY+=("$f")
	done < <(compgen -d -- "$cur")
	return 0
}

# Interface names from /sys/class/net; --dev takes IF[,IF...], so the part
# after the last comma is completed.
_faultline_interfaces() {
	local head="" part=$cur n names=()
	if [[ $cur == *,* ]]; then
		head=${cur%,*},
		part=${cur##*,}
	fi
	for n in /sys/class/net/*; do
		[ -e "$n" ] || continue
		n=${n##*/}
		[[ $n == "$part"* ]] && names+=("$head$n")
	done
	COMPREPLY+=("${names[@]}")
	return 0
}

# cgroup v2 paths as /proc/PID/cgroup shows them (/system.slice/x.service),
# from the cgroup v2 mount (found in mountinfo); or plain directories when
# $cur is relative or a path to or in the mount itself.
_faultline_cgroups() {
	local mnt d
	mnt=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
		/proc/self/mountinfo 2>/dev/null)
	# relative, on the way to the mount (/sys) or in it: plain directories
	if [ -z "$mnt" ] || [[ $cur != /* ]] || [[ $cur == "$mnt"* ]] ||
		[[ $cur != / && $mnt == "$cur"* ]]; then
		_faultline_dirs
		return 0
	fi
	compopt -o filenames 2>/dev/null || true
	while IFS= read -r d; do
		[ -n "$d" ] && COMPREPLY+=("${d#"$mnt"}")
	done < <(compgen -d -- "$mnt$cur")
	return 0
}

_faultline_pids() {
	local p pids=()
	for p in /proc/[0-9]*; do
		p=${p##*/}
		[[ $p == "$cur"* ]] && pids+=("$p")
	done
	COMPREPLY+=("${pids[@]}")
	return 0
}

# _faultline_value OPTION: complete the value of OPTION. Options whose value
# is free text (durations, ports, addresses, percentages) get nothing.
_faultline_value() {
	case $1 in
	--dev) _faultline_interfaces ;;
	--direction) _faultline_words egress ingress both ;;
	--protocol) _faultline_words tcp udp icmp any ;;
	--attach) _faultline_words auto tcx clsact ;;
	--distribution) _faultline_words uniform normal pareto paretonormal ;;
	--errno) _faultline_words ECONNREFUSED ETIMEDOUT ENETUNREACH EHOSTUNREACH EACCES ;;
	--state) _faultline_words pending running completed aborted failed ;;
	--cgroup) _faultline_cgroups ;;
	--pid) _faultline_pids ;;
	--socket | --token-file | --report-json | --junit) _faultline_files all ;;
	--state-dir) _faultline_dirs ;;
	--user) _faultline_words "$(compgen -u)" ;;
	esac
	return 0
}

# ------------------------------------------------------------ per command

# In a walk over words (index i, below cword): step over the value of the
# option words[i], written "--opt VALUE" or, split by bash, "--opt" "=" "VALUE".
_faultline_skip_value() {
	if [ "${words[i + 1]}" = = ]; then
		i=$((i + 2))
	else
		i=$((i + 1))
	fi
	return 0
}

# inject: fault words, each fault's sub-words, and the options; the options
# of a fault are offered right after it (where inject accepts them).
_faultline_inject() {
	local i w fault="" pos=0 used=" " last=""
	for ((i = 2; i < cword; i++)); do
		w=${words[i]}
		case $w in
		--*=*) [[ " $(_faultline_fault_options "$fault") " == *" ${w%%=*} "* ]] || fault="" ;;
		-*)
			[[ " $(_faultline_fault_options "$fault") " == *" $w "* ]] || fault=""
			_faultline_takes_value "$w" && _faultline_skip_value
			;;
		*)
			if [[ " $(_faultline_faults) " == *" $w "* ]]; then
				fault=$w pos=0 used+="$w "
			elif [ -n "$fault" ]; then
				pos=$((pos + 1))
				last=$w
			fi
			;;
		esac
	done
	if [[ $cur == -* ]]; then
		# shellcheck disable=SC2046
		_faultline_words "$(_faultline_options inject-general)" \
			"$(_faultline_fault_options "$fault")"
		return 0
	fi
	case $fault:$pos in
	loss:0)
		_faultline_words random gemodel state
		return 0
		;;
	loss:1)
		case $last in random | gemodel | state) return 0 ;; esac
		;;
	dns:0)
		_faultline_words servfail nxdomain refused drop
		return 0
		;;
	duplicate:0 | corrupt:0 | rate:0 | delay:0 | reorder:0) return 0 ;; # a number comes first
	esac
	local f left=()
	for f in $(_faultline_faults); do
		[[ $used == *" $f "* ]] || left+=("$f")
	done
	_faultline_words "${left[@]}"
	return 0
}

# run FILE [-- CMD...]: one scenario file, then "--", then a command.
_faultline_run() {
	local i w file=""
	for ((i = 2; i < cword; i++)); do
		w=${words[i]}
		case $w in
		--)
			if ((i + 1 == cword)); then
				compopt -o filenames 2>/dev/null || true
				local IFS=$'\n'
				# shellcheck disable=SC2207
				COMPREPLY=($(compgen -c -- "$cur")) || true
			else
				_faultline_files all
			fi
			return 0
			;;
		--*=*) ;;
		-*) _faultline_takes_value "$w" && _faultline_skip_value ;;
		*) file=$w ;;
		esac
	done
	if [[ $cur == -* ]]; then
		# shellcheck disable=SC2046
		_faultline_words "$(_faultline_options run)"
		[ -n "$file" ] && [ "$cur" = - ] && COMPREPLY+=(--)
	elif [ -n "$file" ]; then
		[ -z "$cur" ] && COMPREPLY=(--)
	else
		_faultline_files scenario
	fi
	return 0
}

# ------------------------------------------------------------ entry points

_faultline() {
	local cur prev words cword cmd i
	COMPREPLY=()
	words=("${COMP_WORDS[@]}")
	cword=$COMP_CWORD
	cur=${words[cword]}
	prev=""
	((cword > 0)) && prev=${words[cword - 1]}
	# "--opt=value": bash splits it at "=" (COMP_WORDBREAKS) into "--opt" "="
	# "value"; without "=" in COMP_WORDBREAKS it stays one word.
	if [ "$cur" = = ]; then
		cur=""
	elif [ "$prev" = = ] && ((cword > 1)); then
		prev=${words[cword - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		cur=${cur#*=}
		_faultline_value "$prev"
		for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]="$prev=${COMPREPLY[i]}"; done
		return 0
	fi

	if ((cword == 1)); then
		if [[ $cur == -* ]]; then
			_faultline_words "$(_faultline_options faultline)"
		else
			_faultline_words "$(_faultline_commands)"
		fi
		return 0
	fi
	cmd=${words[1]}
	# the value of an option
	if [[ $prev == --* ]] && _faultline_takes_value "$prev"; then
		# `run ... -- CMD`: what follows "--" belongs to CMD
		if ! [[ $cmd == run && " ${words[*]:2:cword-3} " == *" -- "* ]]; then
			_faultline_value "$prev"
			return 0
		fi
	fi
	case $cmd in
	inject) _faultline_inject ;;
	run) _faultline_run ;;
	validate | plan)
		if [[ $cur == -* ]]; then
			_faultline_words "$(_faultline_options "$cmd")"
		else
			_faultline_files scenario
		fi
		;;
	schedule)
		if ((cword == 2)); then
			# its options follow the subcommand; only --help comes first
			if [[ $cur == -* ]]; then
				_faultline_words --help
			else
				_faultline_words add ls rm
			fi
		elif [[ $cur == -* ]]; then
			_faultline_words "$(_faultline_options schedule)"
		elif [ "${words[2]}" = add ]; then
			_faultline_files scenario
		fi
		;;
	doctor | ls | status | stop)
		# experiment ids would need the daemon: only options
		[[ $cur == -* ]] && _faultline_words "$(_faultline_options "$cmd")"
		;;
	esac
	return 0
}

_faultlined() {
	local cur prev words cword
	COMPREPLY=()
	words=("${COMP_WORDS[@]}")
	cword=$COMP_CWORD
	cur=${words[cword]}
	prev=""
	((cword > 0)) && prev=${words[cword - 1]}
	if [ "$cur" = = ]; then
		cur=""
	elif [ "$prev" = = ] && ((cword > 1)); then
		prev=${words[cword - 2]}
	fi
	case $prev in
	--socket | --token-file) _faultline_files all ;;
	--state-dir) _faultline_dirs ;;
	--listen | --lease | --rate-limit | --write-rate-limit) ;;
	*) _faultline_words "$(_faultline_options faultlined)" ;;
	esac
	return 0
}

complete -F _faultline faultline
complete -F _faultlined faultlined
