#!/bin/sh
# Seeds of fuzz/conf-pipeline: every example config of conf/, and configs
# that reach each part of the pipeline layer: node keys and orbit,
# modules.path, every section, networks with named and inline policies,
# joined templates, and their usual mistakes.
# Usage: fuzz/gen/conf-pipeline.sh [SRCDIR [OUTDIR]]
set -e
src=${1:-$(dirname "$0")/../..}
out=${2:-$src/fuzz/seeds/conf-pipeline}
mkdir -p "$out"
cp "$src"/conf/*.yaml "$out"/

cat > "$out/x-every-node-key.yaml" <<'YAML'
node:
  home: /var/lib/zt
  planet: /etc/zt/planet
  orbit: [ { id: "000000eb17d0df38", seed: "eb17d0df38" }, { id: eb17d0df39, seed: eb17d0df39 } ]
  log-level: debug
  syslog: false
  cipher: salsa2012
  workers: 2
  busy-poll: 50
  nat-probe: false
  dns-backend: file
  max-members: 1000
modules: { path: [ modules, /usr/lib/zt/modules ] }
transports: [ { use: udp, listen: ["0.0.0.0:9993"] } ]
YAML
cat > "$out/x-sections.yaml" <<'YAML'
stores: [ { use: sqlite, path: /var/lib/zt/controller.db } ]
transports: [ { use: udp }, { use: tcp, instance: tcp-fallback } ]
nat: [ { use: upnp }, { use: pcp } ]
policies: [ { use: rules, instance: strict } ]
services: [ { use: api }, { use: controller, store: sqlite } ]
networks:
  - id: eb17d0df38000001
    iface: { use: tap, name: zt0 }
    ingress: [ strict, { use: rules } ]
    egress: [ strict ]
    allow-managed: true
    allow-global: false
    allow-default: false
    allow-dns: true
  - id: eb17d0df38000002
    iface: { use: utun }
joined:
  iface: { use: tap }
  ingress: [ { use: rules } ]
  egress: []
YAML
cat > "$out/x-mistakes.yaml" <<'YAML'
node: { orbit: [ { id: xyz, seed: 0 } ], workers: 0, busy-poll: 1s, log-level: loud, colour: red }
modules: { path: [], other: 1 }
transports: { use: udp }
policies: [ { use: tap }, { use: rules }, { use: rules } ]
networks:
  - id: eb17d0df38000001
    iface: { use: rules }
    ingress: [ no-such-policy, udp ]
  - id: eb17d0df38000001
    iface: { use: tap, instance: "" }
  - { iface: { use: tap } }
  - id: EB17D0DF3800000G
    sideways: true
joined:
  iface: { use: tap, name: zt9, instance: mine }
  ingress: [ rules, { use: rules }, { use: rules } ]
  extra: []
wrong: 1
YAML
cat > "$out/x-joined-no-node.yaml" <<'YAML'
joined: { iface: { use: pcap } }
networks: [ { id: eb17d0df38000001, iface: { use: tap } } ]
YAML
cat > "$out/x-module-file.yaml" <<'YAML'
transports: [ { use: ./udp.so }, { use: /usr/lib/zt/modules/udp.so }, { use: "No Such" } ]
YAML
printf '[ not, a, mapping ]\n' > "$out/x-not-a-mapping.yaml"
