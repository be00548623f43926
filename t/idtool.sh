# zt-idtool against the oracle lines of t/vectors (zerotier-idtool 1.14.1)
# and through a generate, sign, verify cycle.
. "$srcdir/t/tap.sh"

IDTOOL=${IDTOOL:-$builddir/zt-idtool}
[ -x "$IDTOOL" ] || bail "no $IDTOOL"
tmp=$(mktemp -d) || bail "mktemp"
trap 'rm -rf "$tmp"' EXIT

# Blocks of a vector file as lines of the named fields joined by '|'.
fields() {
	awk -v want="$2" 'BEGIN { n = split(want, w, " ") }
		/^#/ { next }
		/^$/ { flush(); next }
		{ k = $0; sub(/:.*/, "", k); v = $0; sub(/^[^:]*: ?/, "", v); f[k] = v; any = 1 }
		END { flush() }
		function flush(  i, line) {
			if (!any) return
			line = f[w[1]]
			for (i = 2; i <= n; i++) line = line "|" f[w[i]]
			print line; delete f; any = 0
		}' "$VECTORS/$1"
}

# Hex to a file of those bytes, with POSIX printf octal escapes.
unhex() {
	printf "$(printf '%s' "$1" | awk '{
		for (i = 1; i < length($0); i += 2)
			printf "\\%03o", (index("0123456789abcdef", substr($0, i, 1)) - 1) * 16 + \
				index("0123456789abcdef", substr($0, i + 1, 1)) - 1 }')" > "$2"
}

# "rc=N out='...'" as the vector files write the oracle's verdicts.
run() {
	out=$("$IDTOOL" "$@" 2>&1)
	echo "rc=$? out='$out'"
}

fields identities.txt "kind public oracle_validate secret" > "$tmp/ids"
fields signatures.txt "signer_secret signer_public message_hex signature oracle_verify tampered_message_hex tampered_message_oracle_verify tampered_signature tampered_signature_oracle_verify" | grep -v '^|' > "$tmp/sigs"
nids=$(grep -c '^valid|' "$tmp/ids")
nbad=$(grep -c '^invalid|' "$tmp/ids")
nsigs=$(wc -l < "$tmp/sigs")
plan $((nids * 2 + nbad + nsigs * 4 + 15))

while IFS='|' read -r kind pub oracle sec; do
	case $kind in valid|invalid) ;; *) continue ;; esac
	want=$(printf '%s' "$oracle" | sed "s|<public>|$pub|")
	is "$(run validate "$pub")" "$want" "validate ${pub%%:*} ($kind)"
	[ "$kind" = valid ] && is "$(run getpublic "$sec")" "rc=0 out='$pub'" "getpublic ${pub%%:*}"
done < "$tmp/ids"

n=0
while IFS='|' read -r sec pub msg sig oracle tmsg toracle tsig tsoracle; do
	n=$((n + 1))
	unhex "$msg" "$tmp/m$n"
	unhex "$tmsg" "$tmp/t$n"
	is "$(run sign "$sec" "$tmp/m$n")" "rc=0 out='$sig'" "signature $n reproduced"
	is "$(run verify "$pub" "$tmp/m$n" "$sig" | sed "s|$tmp/m$n|<file>|")" "$oracle" "signature $n verifies"
	is "$(run verify "$pub" "$tmp/t$n" "$sig" | sed "s|$tmp/t$n|<file>|")" "$toracle" \
		"signature $n: tampered message"
	is "$(run verify "$pub" "$tmp/m$n" "$tsig" | sed "s|$tmp/m$n|<file>|")" "$tsoracle" \
		"signature $n: tampered signature"
done < "$tmp/sigs"

# generate into files, then use them
cd "$tmp" || bail "cd $tmp"
is "$(run generate id.secret id.public)" "rc=0 out='id.secret written
id.public written'" "generate writes both files"
is "$(ls -l id.secret | cut -c1-10)" "-rw-------" "secret file has mode 0600"
is "$(wc -c < id.secret | tr -d ' ')" 270 "secret file is 270 bytes, no newline"
is "$(wc -c < id.public | tr -d ' ')" 141 "public file is 141 bytes, no newline"
is "$(run validate id.public)" "rc=0 out='id.public is a valid identity'" "generated identity validates"
is "$(run getpublic id.secret)" "rc=0 out='$(cat id.public)'" "getpublic from the secret file"
printf 'a message\n' > msg
"$IDTOOL" sign id.secret msg > sig
is "$(wc -c < sig | tr -d ' ')" 192 "sign prints 192 hex digits"
is "$(run verify id.public msg "$(cat sig)")" "rc=0 out='msg signature valid'" "verify with the public file"
is "$(run sign id.public msg)" "rc=1 out='id.public does not contain a private key (must use private to sign)'" \
	"signing needs the private key"
is "$(run verify id.public nosuchfile "$(cat sig)")" "rc=1 out='nosuchfile is not readable'" \
	"unreadable message"
is "$(run verify id.public msg "$(cat sig)0")" "rc=1 out='msg signature check FAILED'" \
	"odd-length signature hex fails"
secret=$("$IDTOOL" generate 2>/dev/null)
is "$(run validate "$secret" | sed 's/:[^ ]* is/ is/')" "rc=0 out='${secret%%:*} is a valid identity'" \
	"generate to stdout prints a valid secret identity"
is "$(run nosuchcommand | head -1)" "rc=1 out='Usage: zt-idtool <command> [<args>]" "unknown command"
like "$("$IDTOOL" --help; echo "rc=$?")" "rc=0" "--help exits 0"
like "$("$IDTOOL" --version)" "^zt-idtool [0-9]" "--version"
tap_done
