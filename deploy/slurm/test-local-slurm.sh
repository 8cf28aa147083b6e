#!/usr/bin/env bash
# Runs samengine's batch on a real Slurm: a one-node cluster on localhost from Debian's slurm-wlm and munge
# (installed with apt-get when missing; run as root), a dozen images (one corrupt) in three shards of an
# array job (samengine-array.sbatch) with the tiny fixture model, then merge, and checks that the merged
# dataset equals a single-process run: coco.json byte for byte, and every image's status.
#
#   sudo deploy/slurm/test-local-slurm.sh            # prints "slurm: PASS ..." and exits 0, or says what differs
#
# Everything it starts (munged, slurmctld, slurmd) runs from a scratch folder with its own config, socket and
# pid files, and is stopped at the end; /etc/slurm is not touched. SAMENGINE_DLL skips the publish step.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/samengine-slurm.XXXXXX)
chmod 755 "$work"
log() { echo "slurm-test: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then echo "slurm-test: run as root (it installs packages and starts slurmd)" >&2; exit 2; fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  log "installing slurm-wlm and munge"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

pids=()
cleanup() {
  for pidfile in "$work"/slurmd.pid "$work"/slurmctld.pid "$work"/munged.pid; do
    [[ -s $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 1
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$work"; else log "kept $work"; fi
}
trap cleanup EXIT

# munge: a key and a daemon of our own, on our own socket.
mkdir -p "$work/munge" "$work/munge-socket"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$work/munge" "$work/munge-socket"
chmod 700 "$work/munge" && chmod 400 "$work/munge/munge.key" && chmod 755 "$work/munge-socket"
runuser -u munge -- /usr/sbin/munged --key-file="$work/munge/munge.key" --socket="$work/munge-socket/munge.socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"
sleep 1
cp "$work/munge/munged.pid" "$work/munged.pid"

# A one-node cluster: this host, all its CPUs, no cgroups, no accounting.
host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$work/ctld" "$work/slurmd"
cat > "$work/slurm.conf" <<CONF
ClusterName=samengine-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$work/munge-socket/munge.socket
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/ctld
SlurmdSpoolDir=$work/slurmd
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  state=$(sinfo -h -N -o %t 2>/dev/null || true)
  [[ $state == idle* ]] && break
  sleep 1
done
[[ $state == idle* ]] || { log "the node did not come up (state '$state')"; tail -5 "$work"/slurm*.log >&2; exit 1; }
log "slurm up: node $host, $cpus CPUs"

# samengine, published as a user would deploy it.
if [[ -n ${SAMENGINE_DLL:-} ]]; then dll=$SAMENGINE_DLL; else
  log "publishing samengine"
  dotnet publish "$repo/src/SamEngine.Cli/SamEngine.Cli.csproj" -c Release -o "$work/samengine" -v quiet -nologo >/dev/null
  dll="$work/samengine/SamEngine.Cli.dll"
fi

# A dozen images: eleven pictures of rectangles (BMP) in two folders, one corrupt JPEG.
python3 - "$work/images" <<'PY'
import os, random, struct, sys
root = sys.argv[1]
for i in range(11):
    w, h = 48 + 8 * (i % 4), 40 + 6 * (i % 3)
    rnd = random.Random(i)
    px = [[(20, 20, 20)] * w for _ in range(h)]
    for _ in range(4):
        x0, y0 = rnd.randrange(w - 8), rnd.randrange(h - 8)
        x1, y1 = rnd.randrange(x0 + 6, w + 1), rnd.randrange(y0 + 6, h + 1)
        c = tuple(rnd.randrange(256) for _ in range(3))
        for y in range(y0, y1):
            for x in range(x0, x1): px[y][x] = c
    row = (w * 3 + 3) // 4 * 4
    data = b"".join(bytes(v for p in px[y] for v in p[::-1]).ljust(row, b"\0") for y in reversed(range(h)))
    path = os.path.join(root, "set%d" % (i % 2), "img%02d.bmp" % i)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54))
        f.write(struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0) + data)
with open(os.path.join(root, "set0", "corrupt.jpg"), "wb") as f:
    f.write(b"\xff\xd8\xff\xe0 not a jpeg")
PY


model=(--model "$repo/tests/fixtures/tiny/model.safetensors" --arch "$repo/tests/fixtures/tiny/cases.json")
amg_args="--points-per-side 4 --pred-iou-thresh 0 --stability-score-thresh 0"
log "submitting the array job: 3 shards"
set +e
sbatch --wait --parsable --array=0-2 --cpus-per-task=1 --output="$work/task-%a.log" \
  --export=ALL,MODEL="${model[1]}",IMAGES="$work/images",OUT="$work/out",SAMENGINE="dotnet $dll",ARGS="--arch ${model[3]} $amg_args" \
  "$repo/deploy/slurm/samengine-array.sbatch" > "$work/jobid"
sbatch_status=$?
set -e
log "array job $(cat "$work/jobid") ended (sbatch --wait: $sbatch_status; the shard with the corrupt image exits 1)"
for i in 0 1 2; do
  [[ -f $work/out/shard-$i/manifest.jsonl ]] || { log "shard $i wrote no manifest"; cat "$work/task-$i.log" >&2; exit 1; }
  tail -1 "$work/task-$i.log" >&2
done

set +e
dotnet "$dll" merge "$work"/out/shard-* --out "$work/merged" > "$work/merge.txt"
merge_status=$?
dotnet "$dll" amg "${model[@]}" $amg_args --images "$work/images" --out "$work/single" --format coco > "$work/single.txt" 2> "$work/single.err"
single_status=$?
set -e
cat "$work/merge.txt" >&2

fail=0
[[ $merge_status == 1 && $single_status == 1 ]] || { log "merge exited $merge_status, the single run $single_status (both should be 1: one corrupt image)"; fail=1; }
grep -q "^skipped set0/corrupt.jpg (shard " "$work/merge.txt" || { log "merge did not list the corrupt image"; fail=1; }
cmp "$work/merged/coco.json" "$work/single/coco.json" || { log "merged coco.json differs from the single run's"; fail=1; }
statuses() { python3 -c 'import json,sys
last = {}
for line in open(sys.argv[1]): e = json.loads(line); last[e["image"]] = (e["status"], e["masks"])
print("\n".join("%s %s %s" % (k, *v) for k, v in sorted(last.items())))' "$1"; }
diff <(statuses "$work/merged/manifest.jsonl") <(statuses "$work/single/manifest.jsonl") || { log "manifests differ"; fail=1; }
images=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["images"]), len(d["annotations"]))' "$work/merged/coco.json")
if [[ $fail == 0 ]]; then
  echo "slurm: PASS: 12 images (1 corrupt) in 3 array tasks on slurm $(sinfo -V | cut -d' ' -f2); merged coco.json ($images images/annotations) equals the single-process run byte for byte"
else
  KEEP=1
  exit 1
fi
