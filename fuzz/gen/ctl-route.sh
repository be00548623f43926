#!/bin/sh
# Seeds of fuzz/ctl-route: the methods and paths the controller's tests
# send (t/controller-api.sh, t/ctl-api.sh), "METHOD PATH" each, with the
# network and member ids of t/vectors/identities.txt.
# Usage: fuzz/gen/ctl-route.sh [OUTDIR]
set -e
out=${1:-$(dirname "$0")/../seeds/ctl-route}
mkdir -p "$out"
seed() { printf '%s' "$2" > "$out/$1"; }

nw=eb17d0df38000001 m=a9e4a5e4c5
seed status 'GET /controller'
seed status-delete 'DELETE /controller'
seed networks 'GET /controller/network'
seed network-new 'POST /controller/network'
seed network-new-by-address 'POST /controller/network/eb17d0df38______'
seed network-get "GET /controller/network/$nw"
seed network-put "PUT /controller/network/$nw"
seed network-delete "DELETE /controller/network/$nw"
seed network-bad-id 'GET /controller/network/xyz'
seed members "GET /controller/network/$nw/member"
seed member-get "GET /controller/network/$nw/member/$m"
seed member-post "POST /controller/network/$nw/member/$m"
seed member-delete "DELETE /controller/network/$nw/member/$m"
seed member-head "HEAD /controller/network/$nw/member/$m"
seed unstable-networks 'GET /unstable/controller/network'
seed unstable-members "GET /unstable/controller/network/$nw/member"
seed unstable-dns-service "POST /unstable/controller/network/$nw/dns-service"
seed slashes-query "GET //controller//network/$nw//member/?a=/b"
seed too-deep "GET /controller/network/$nw/member/$m/x"
seed other 'GET /status'
