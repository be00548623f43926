#!/bin/sh
# t/net-private.sh with three data-path loops on every node (see
# ZT_WORKERS in t/netns.sh): the protocol must not depend on which lane
# a packet or frame takes.
ZT_WORKERS=3
export ZT_WORKERS
. "$srcdir/t/net-private.sh"
