#!/usr/bin/env bash
# `make slurm-test` (part of `make test`): a one-node Slurm cluster on this machine, from Debian's
# slurmctld, slurmd, slurm-client and munge, started and torn down here, runs
# scripts/slurm/sweep.sbatch as a 4-task array job; the merge then finds nothing missing, and every
# image is byte-identical to an unsharded run's.
#
# Nothing outside a temporary folder is touched: munged runs on its own key and socket, the
# daemons on their own ports, state and logs (so a real cluster on the machine is left alone), all
# on 127.0.0.1 (no lookup of the host name needed).
# The daemons run as root (SlurmUser=root), so this needs root, or sudo without a password.
#
#   scripts/slurm/test_slurm.sh BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
ddim=$(realpath "${1:-.build/release/ddim}")

if [ "$(id -u)" != 0 ]; then
    if sudo -n true 2>/dev/null; then exec sudo -n "$0" "$ddim"; fi
    echo "slurm-test: SKIPPED — starting munged, slurmctld and slurmd needs root or sudo without a password" >&2
    exit 0
fi
for c in munged slurmctld slurmd sbatch sinfo; do
    command -v "$c" >/dev/null || { echo "slurm-test: $c not found (make slurm-test installs slurmctld slurmd slurm-client munge)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/ddim-slurm.XXXXXX)
chmod 700 "$tmp"
pids=()
cleanup() {
    rc=$?
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    if [ "$rc" != 0 ]; then
        echo "slurm-test: FAILED; the daemons' logs:" >&2
        for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -20 "$f" >&2; }; done
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# munge: its own key and socket
head -c 1024 /dev/urandom > "$tmp/munge.key"
chmod 400 "$tmp/munge.key"
mkdir -m 700 "$tmp/munge"
munged --force --foreground --key-file="$tmp/munge.key" --socket="$tmp/munge/socket" \
    --pid-file="$tmp/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munge.seed" >"$tmp/munged.out.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$tmp/munge/socket" ] && break; sleep 0.1; done
[ -S "$tmp/munge/socket" ] || { echo "slurm-test: munged did not start" >&2; exit 1; }

host=$(hostname -s)
cpus=$(nproc)
# free ports near 16817 (the default 6817/6818 may belong to a real cluster)
port=$((16817 + RANDOM % 2000 * 2))
mkdir -p "$tmp/state" "$tmp/spool"
cat > "$tmp/slurm.conf" <<CONF
ClusterName=ddimtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=2000 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$tmp/slurm.conf
slurmctld -D -f "$SLURM_CONF" >"$tmp/slurmctld.out.log" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$tmp/slurmd.out.log" 2>&1 &
pids+=($!)
state=""
for _ in $(seq 100); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -1 || true)
    [ "$state" = idle ] && break
    sleep 0.2
done
[ "$state" = idle ] || { echo "slurm-test: the node is '$state', not idle, after 20 s" >&2; exit 1; }

# the sweep: the embedded digits model, 4 cells of 24 samples in batches of 4
grid=(--steps 5,10 --eta 0,1 --n 24 --batch 4)
"$ddim" sweep "${grid[@]}" --out-dir "$tmp/whole" -q
mkdir "$tmp/jobs"
start=$(date +%s)
(cd "$tmp/jobs" && DDIM="$ddim" timeout 300 sbatch --wait --quiet --array=0-3 --cpus-per-task=1 \
    "$OLDPWD/scripts/slurm/sweep.sbatch" "$tmp/split" "${grid[@]}")
echo "slurm-test: the 4-task array job ran in $(( $(date +%s) - start )) s"
for f in "$tmp"/jobs/ddim-sweep-*.out; do
    if [ -s "$f" ]; then echo "slurm-test: a task wrote to $f:" >&2; cat "$f" >&2; exit 1; fi
done
records=$(ls "$tmp/split/shards")
[ "$(echo "$records" | wc -l)" = 4 ] || { echo "slurm-test: expected 4 shard records, found: $records" >&2; exit 1; }
grep -q '"finished" : true' "$tmp"/split/shards/shard-0003-of-0004.json

# the merge finds nothing missing and lists the four shards
merge=$("$ddim" sweep "${grid[@]}" --out-dir "$tmp/split")
echo "$merge"
if echo "$merge" | grep -v ' (0 new) ' | grep -q .; then
    echo "slurm-test: the merge drew samples the shards should have" >&2
    exit 1
fi
[ "$(grep -c '"shard" : "' "$tmp/split/sweep.json")" = 4 ] || { echo "slurm-test: sweep.json does not list 4 shards" >&2; exit 1; }
# byte for byte the unsharded run's images
diff -r -x sweep.json -x shards "$tmp/whole" "$tmp/split"
echo "slurm-test: 96 images from 4 array tasks, byte-identical to an unsharded run"
