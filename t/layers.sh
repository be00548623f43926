# The kernel's layers call only downwards: no file of zt/base, zt/wire,
# zt/node or zt/daemon (nor a public header of one of them) includes a
# header of a layer above its own.  Inside the node, the send half
# (node/send.c, send.h) and the home directory (node/home.c) are below
# VL1 dispatch, the network layer, the workers and the core: they include
# none of their headers and call none of their functions.  Also: doc/architecture.md names every file of the
# layers, and each layer's size is printed.
. "$srcdir/t/tap.sh"

LAYERS="base wire node daemon"   # bottom up

# The layer of a public header in zt/include/zt/.  A new public header
# must be placed here, or the check fails naming it.
public_layer() {
	case "$1" in
	module.h | kernel.h | store.h | dptrace.h) echo base ;;
	identity.h | crypto.h | packet.h | fragment.h | inetaddr.h | dict.h | world.h | \
		credential.h | netconf.h | beacon.h) echo wire ;;
	node.h | nat.h) echo node ;;
	esac
}

rank() {
	r=0
	for l in $LAYERS; do
		[ "$l" = "$1" ] && { echo $r; return; }
		r=$((r + 1))
	done
	echo 99
}

# The layer of a quoted header included from a kernel file, empty if it
# is none of the kernel's (config.h).
quoted_layer() {
	for l in $LAYERS; do
		[ -f "$1/zt/$l/$2" ] && { echo "$l"; return; }
	done
}

# Every include of a layer above the file's own, as file:line: message.
violations() {
	root=$1
	{
		for l in $LAYERS; do
			for f in "$root"/zt/"$l"/*.[ch]; do
				[ -f "$f" ] && echo "$l $f"
			done
		done
		for f in "$root"/zt/include/zt/*.h; do
			echo "$(public_layer "${f##*/}") $f"
		done
	} | while read -r own f; do
		if [ "$(rank "$own")" = 99 ]; then
			echo "${f#"$root"/}: a public header of no known layer (add it to t/layers.sh)"
			continue
		fi
		grep -n '^[[:space:]]*#[[:space:]]*include' "$f" | while IFS= read -r line; do
			n=${line%%:*}
			hdr=$(printf '%s' "$line" | sed -n 's/.*include[[:space:]]*["<]\([^">]*\)[">].*/\1/p')
			case "$hdr" in
			zt/*) to=$(public_layer "${hdr#zt/}")
				[ -n "$to" ] || { echo "${f#"$root"/}:$n: <$hdr> is of no known layer"; continue; } ;;
			*) case "$line" in *'"'*) to=$(quoted_layer "$root" "$hdr") ;; *) to= ;; esac ;;
			esac
			[ -n "$to" ] || continue
			if [ "$(rank "$to")" -gt "$(rank "$own")" ]; then
				echo "${f#"$root"/}:$n: the $own layer includes $hdr of the $to layer above it"
			fi
		done
	done
}

# The node's lower files, those above them, and the headers only those have.
LOWER="send.c send.h home.c"
SEND_ABOVE="vl1.c network.c port.c worker.c core.c netcache.c"
SEND_ABOVE_H="network.h worker.h netcache.h"

# Every include of a header above the lower files in them, and every
# call of a function one of the files above it defines, as file:line:
# message.  Comment lines are not read.
send_violations() {
	root=$1
	names=$(for f in $SEND_ABOVE; do
		sed -n 's/^[a-z][a-z0-9_ *]*[ *]\(zt_[a-z0-9_]*\)(.*/\1/p' "$root/zt/node/$f"
	done | sort -u)
	for f in $LOWER; do
		rel=zt/node/$f
		f=$root/$rel
		for h in $SEND_ABOVE_H; do
			grep -n "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$h\"" "$f" |
				sed "s|^\([0-9]*\):.*|$rel:\1: includes $h of a file above it|"
		done
		for n in $names; do
			grep -n "\<$n\>" "$f" | grep -v '^[0-9]*:[[:space:]]*\(/\*\|\*\)' |
				sed "s|^\([0-9]*\):.*|$rel:\1: calls $n of a file above it|"
		done
	done
}

plan 8

out=$(violations "$srcdir")
is "$out" "" "no kernel file includes a header of a layer above its own"
[ -z "$out" ] || printf '# %s\n' "$out"

out=$(send_violations "$srcdir")
is "$out" "" "the send half and the home directory include no header of, and call no function of, a file above them"
[ -z "$out" ] || printf '# %s\n' "$out"

# The check itself finds a planted upward include (a base file reaching
# into the node) and an upward public include (a wire header using node.h).
tmp=$(mktemp -d) || bail "mktemp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/zt"
cp -R "$srcdir/zt/base" "$srcdir/zt/wire" "$srcdir/zt/node" "$srcdir/zt/daemon" "$srcdir/zt/include" "$tmp/zt/"
chmod -R u+w "$tmp"
printf '#include "core.h"\n' >> "$tmp/zt/base/log.c"
printf '#include <zt/node.h>\n' >> "$tmp/zt/include/zt/packet.h"
out=$(violations "$tmp")
like "$out" "zt/base/log.c:[0-9]+: the base layer includes core.h of the node layer" "an upward include in a base file is found"
like "$out" "zt/include/zt/packet.h:[0-9]+: the wire layer includes zt/node.h of the node layer" \
	"an upward include in a public header is found"
# ... and in the send half, a planted include of network.h and a call of
# VL1's dispatch.
printf '#include "network.h"\nstatic void up(struct zt_core *c) { zt_vl1_packet_in(c, NULL, 0, NULL, 0); }\n' \
	>> "$tmp/zt/node/send.c"
out=$(send_violations "$tmp")
like "$out" "zt/node/send.c:[0-9]+: includes network.h of a file above it" \
	"an include of a header above the send half is found"
like "$out" "zt/node/send.c:[0-9]+: calls zt_vl1_packet_in of a file above it" \
	"a call from the send half up to VL1 is found"

# doc/architecture.md describes the tree as it is: every file is named.
missing=
for l in $LAYERS; do
	for f in "$srcdir"/zt/"$l"/*.[ch]; do
		grep -qF "$l/${f##*/}" "$srcdir/doc/architecture.md" || missing="$missing zt/$l/${f##*/}"
	done
done
is "$missing" "" "doc/architecture.md names every file of the layers"

sizes=
for l in $LAYERS; do
	lines=$(cat "$srcdir"/zt/"$l"/*.[ch] | wc -l)
	sizes="$sizes $l=$lines"
	diag "zt/$l: $lines lines"
done
like "$sizes" "base=[0-9]+ wire=[0-9]+ node=[0-9]+ daemon=[0-9]+" "every layer has its files"

tap_done
