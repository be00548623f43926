#!/bin/sh
# t/net-private.sh with every data-path technique off (see ZT_FASTPATH in
# t/netns.sh): correctness must not depend on them.
ZT_FASTPATH=off
export ZT_FASTPATH
. "$srcdir/t/net-private.sh"
