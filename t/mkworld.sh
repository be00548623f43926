#!/bin/sh
# zt-mkworld: the test-bed planets and moon of t/vectors/planet-testbed.txt
# rebuilt byte for byte, a fresh planet and key rotation, the update rule,
# keygen, show, and every broken description refused with its exact
# file:line:col message (fixtures in t/mkworld, "# expect:" lines first).
. "$srcdir/t/tap.sh"

MKWORLD=${MKWORLD:-$builddir/zt-mkworld}
IDTOOL=${IDTOOL:-$builddir/zt-idtool}
[ -x "$MKWORLD" ] || bail "no $MKWORLD"
[ -x "$IDTOOL" ] || bail "no $IDTOOL"
LC_ALL=C
export LC_ALL
tmp=$(mktemp -d) || bail "mktemp"
trap 'rm -rf "$tmp"' EXIT
umask 022

vec="$VECTORS/planet-testbed.txt"
[ -r "$vec" ] || vec="$srcdir/t/vectors/planet-testbed.txt"
field() { sed -n "s/^$1: //p" "$vec"; }
json_field() { field moon_json | sed -n "s/.*\"$1\": \"\([0-9a-f]*\)\".*/\1/p"; }

# Hex to a file of those bytes (POSIX printf octal escapes), and back.
unhex() {
	printf "$(printf '%s' "$1" | awk '{
		for (i = 1; i < length($0); i += 2)
			printf "\\%03o", (index("0123456789abcdef", substr($0, i, 1)) - 1) * 16 + \
				index("0123456789abcdef", substr($0, i + 1, 1)) - 1 }')" > "$2"
}
tohex() { od -An -v -tx1 "$1" | tr -d ' \n'; }
mode() { ls -l "$1" | cut -c1-10; }

# The fixtures and the files they name, in one directory w/.
w="$tmp/w"
mkdir "$w" && cp "$srcdir"/t/mkworld-fixtures/*.yaml "$w"/ || bail "cannot copy fixtures"
unhex "$(field mkworld_previous_c25519_hex)" "$w/previous.c25519"
unhex "$(field mkworld_current_c25519_hex)" "$w/current.c25519"
unhex "$(json_field signingKey)$(json_field signingKey_SECRET)" "$w/moon.c25519"
printf '%s' "$(field root_identity_public)" > "$w/root.public"
printf '%s' "$(field root_identity_secret)" > "$w/root.secret"
head -c 100 "$w/previous.c25519" > "$w/short.c25519"
{ head -c 64 "$w/previous.c25519"; tail -c 64 "$w/moon.c25519"; } > "$w/mismatched.c25519"
[ "$(wc -c < "$w/moon.c25519")" -eq 128 ] || bail "moon key not found in $vec"

cd "$w" || bail "no $w"
set -- bad-*.yaml
plan $(( $# * 3 + 63 ))

# ---- the vectors, byte for byte; run from outside w/ so paths are relative to the YAML ----
cd "$tmp" || bail "no $tmp"
for v in v1 v2 moon; do
	case $v in
	moon) want=$(field moon_hex) ;;
	*) want=$(field planet_${v}_hex) ;;
	esac
	out=$("$MKWORLD" make w/testbed-$v.yaml $v.world 2>&1)
	ok $? "make testbed-$v.yaml"
	is "$(tohex $v.world)" "$want" "testbed $v is the vector byte for byte"
done
like "$out" "^moon.world written" "make names the file written"
like "$out" "id: 312248415706 \(0x00000048b374b5da\)" "a moon's id defaults to its first root's address"
like "$out" "file name: moons.d/00000048b374b5da.moon" "a moon's file name is given"
is "$(mode moon.world)" "-rw-r--r--" "a world is written mode 0644"
ok $(ls | grep -c '\.world\.') "no temporary file left behind"
out=$("$MKWORLD" make w/testbed-v1.yaml v1.world)
ok $? "make replaces an existing world"
is "$(tohex v1.world)" "$(field planet_v1_hex)" "and the replacement is identical"
ok $(printf '%s\n' "$out" | grep -c '5439[0-9a-f]*:') "the secret half of a root is never printed"
ok $(tohex moon.world | grep -c "$(field root_identity_secret | cut -d: -f4)") "the secret half of a root is not written"

# ---- show ----
out=$("$MKWORLD" show v1.world)
ok $? "show v1"
like "$out" "^type: planet \(1\)" "show: type"
like "$out" "id: 1234567890 \(0x00000000499602d2\)" "show: id"
like "$out" "timestamp: 1700000000000 \(2023-11-14T22:13:20.000Z\)" "show: timestamp"
like "$out" "updates-must-be-signed-by: $(field planet_v1_updates_must_be_signed_by)" "show: update key"
like "$out" "signature: $(field planet_v1_signature)" "show: signature"
like "$out" "identity: $(field root_identity_public)" "show: root identity"
like "$out" "      - 198.18.0.1/9993" "show: endpoint"
like "$out" "size: 257 bytes" "show: size"
like "$out" "signature check: verifies with its own" "show: v1 verifies with its own key"
out=$("$MKWORLD" show --json moon.world)
ok $? "show --json"
like "$out" '^\{"type": "moon", "typeCode": 127, "id": "00000048b374b5da", ' "show --json: type and id"
like "$out" '"stableEndpoints": \["198.18.0.1/9993"\]\}\], "size": 259, "signatureValid": true\}$' "show --json: roots and verdict"
head -c 200 v1.world > trunc.world
out=$("$MKWORLD" show trunc.world 2>&1)
is "$?:$out" "1:zt-mkworld: trunc.world: not a world: truncated" "show refuses a truncated world"
cat v1.world v1.world > double.world
out=$("$MKWORLD" show double.world 2>&1)
is "$?:$out" "1:zt-mkworld: double.world: not a world: 257 trailing bytes after 257" "show refuses trailing bytes"

# ---- check-update with the vectors ----
out=$("$MKWORLD" check-update v1.world v2.world)
is "$?:$out" "0:accepted: same planet id 1234567890, timestamp 1700000001000 > 1700000000000, signed with the old world's updates-must-be-signed-by key" "v2 over v1 accepted"
out=$("$MKWORLD" check-update v2.world v1.world)
is "$?:$out" "1:refused: timestamp 1700000000000 is not newer than the old world's 1700000001000" "v1 over v2 refused"
out=$("$MKWORLD" check-update v1.world v1.world)
is "$?" 1 "a world does not update itself"
out=$("$MKWORLD" check-update v1.world moon.world)
ok $(( $? != 1 )) "a moon does not replace a planet"
like "$out" "refused: world id 312248415706 is not the old world's 1234567890" "  different id named"
like "$out" "refused: a moon cannot replace a planet" "  different type named"
like "$out" "refused: the signature does not verify" "  wrong key named"

# same id and a newer timestamp, but another id or another key
sed 's/^id: .*/id: 42/; s/^timestamp: .*/timestamp: 1700000002000/' w/testbed-v1.yaml > w/other-id.yaml
"$MKWORLD" make w/other-id.yaml other-id.world > /dev/null
out=$("$MKWORLD" check-update v1.world other-id.world)
is "$?:$out" "1:refused: world id 42 is not the old world's 1234567890" "a different id refused"
"$MKWORLD" keygen w/stranger.c25519 > /dev/null
sed 's/^signing-key: .*/signing-key: stranger.c25519/; s/^timestamp: .*/timestamp: 1700000002000/' w/testbed-v1.yaml > w/stranger.yaml
"$MKWORLD" make w/stranger.yaml stranger.world > /dev/null
out=$("$MKWORLD" check-update v2.world stranger.world)
is "$?:$out" "1:refused: the signature does not verify with the old world's updates-must-be-signed-by key" "a wrong key refused"

# ---- keygen ----
out=$("$MKWORLD" keygen k1.c25519)
ok $? "keygen"
like "$out" "^k1.c25519 written
public key: [0-9a-f]{128}$" "keygen prints the public key"
is "$(wc -c < k1.c25519 | tr -d ' ')" 128 "a key pair file is 128 bytes"
is "$(mode k1.c25519)" "-rw-------" "a key pair file is mode 0600"
is "$(tohex k1.c25519 | cut -c1-128)" "$(printf '%s\n' "$out" | sed -n 's/^public key: //p')" "the public key printed is the file's first half"
cp k1.c25519 k1.copy
out=$("$MKWORLD" keygen k1.c25519 2>&1)
is "$?:$out" "1:zt-mkworld: k1.c25519: File exists (refusing to overwrite a key)" "keygen refuses to overwrite"
cmp -s k1.c25519 k1.copy
ok $? "and leaves the key alone"

# ---- a fresh planet, then an update that rotates the key ----
"$IDTOOL" generate root.secret root.public > /dev/null || bail "zt-idtool generate failed"
"$MKWORLD" keygen k2.c25519 > /dev/null
# planet KEY [NEXT-KEY TIMESTAMP]: a description of the fresh planet
planet() {
	printf 'type: planet\nid: 0x7a7a000000000001\nsigning-key: %s\n' "$1"
	[ $# -gt 1 ] && printf 'next-key: %s\ntimestamp: %s\n' "$2" "$3"
	printf 'roots:\n  - identity: root.public\n'
	printf '    endpoints: ["198.18.0.9/9993", "2001:db8::9/9993"]\n'
}
planet k1.c25519 > fresh.yaml
out=$("$MKWORLD" make fresh.yaml fresh.world)
ok $? "make a fresh planet"
ts=$(printf '%s\n' "$out" | sed -n 's/^timestamp: \([0-9]*\) .*/\1/p')
ok $(( ts < 1700000000000 )) "the default timestamp is now, in ms ($ts)"
out=$("$MKWORLD" show fresh.world)
like "$out" "signature check: verifies with its own" "the fresh planet verifies"
like "$out" "      - 198.18.0.9/9993
      - 2001:db8::9/9993" "both endpoints in order"
planet k1.c25519 k2.c25519 $((ts + 1)) > rotate.yaml
"$MKWORLD" make rotate.yaml rotate.world > /dev/null
out=$("$MKWORLD" check-update fresh.world rotate.world)
ok $? "an update naming a new key is accepted"
out=$("$MKWORLD" show rotate.world)
like "$out" "signature check: does NOT verify with its own" "which does not verify with the key it names"
planet k1.c25519 k2.c25519 $((ts + 2)) > again.yaml
"$MKWORLD" make again.yaml again.world > /dev/null
out=$("$MKWORLD" check-update rotate.world again.world)
is "$?:$out" "1:refused: the signature does not verify with the old world's updates-must-be-signed-by key" "after rotation the old key is refused"
planet k2.c25519 k2.c25519 $((ts + 2)) > after.yaml
"$MKWORLD" make after.yaml after.world > /dev/null
"$MKWORLD" check-update rotate.world after.world > /dev/null
ok $? "and the new key is accepted"

# ---- an identity file that is no regular file is refused, not waited on ----
mkfifo fifo.public || bail "mkfifo"
sed 's/identity: root.public/identity: fifo.public/' fresh.yaml > fifo.yaml
out=$(timeout 10 "$MKWORLD" make fifo.yaml fifo.world 2>&1)
is "$?:$(printf '%s\n' "$out" | head -1)" "1:fifo.yaml:5:15: roots[0].identity: fifo.public: not a regular file" \
	"a FIFO as a root's identity file is refused at once"

# ---- usage ----
"$MKWORLD" --help | grep -q '^Usage: zt-mkworld'
ok $? "--help"
like "$("$MKWORLD" --version)" "^zt-mkworld [0-9]" "--version"
for args in "" "frob" "make only-one.yaml" "show --yaml v1.world" "keygen" "check-update v1.world"; do
	# shellcheck disable=SC2086
	"$MKWORLD" $args > /dev/null 2>&1
	is "$?" 2 "usage error: zt-mkworld $args"
done

# ---- broken descriptions ----
cd "$w" || bail "no $w"
for f; do
	rm -f out.world
	out=$("$MKWORLD" make "$f" out.world 2>&1; echo "rc=$?")
	rc=${out##*rc=}
	out=${out%rc=*}
	is "$(printf '%s\n' "$out" | grep -v '^zt-mkworld: ' | sed '/^$/d')" "$(sed -n 's/^# expect: //p' "$f")" "$f: message"
	is "$rc" 1 "$f: refused"
	ok $([ ! -e out.world ]; echo $?) "$f: nothing written"
done
tap_done
