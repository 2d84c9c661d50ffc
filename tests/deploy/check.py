"""Static and live checks of deploy/ (run by tests/deploy/run.sh with the tools it installs):

1. the Kubernetes manifests validate, strictly (no unknown field), against the official
   schema of Kubernetes 1.37 (kubernetes-validate), and a manifest with a misspelt field
   does not;
2. each container's --memory-limit equals its memory request and limit;
3. the Containerfile lints clean (hadolint), and one whose last USER is root does not;
4. the manifests' own command lines run: a scheduler and a worker started here with the
   args of the Deployments (certificate paths, addresses and ports mapped to this machine)
   answer their health endpoints — /health 200, the worker's /ready 200 once connected,
   503 while its scheduler is gone (killed) and it waits for it.

    python check.py ROOT LIBDASK_PROGRAM
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

root, program = sys.argv[1], sys.argv[2]
bin_dir = os.path.dirname(sys.executable)
manifests = [os.path.join(root, "deploy/kubernetes", f)
             for f in sorted(os.listdir(os.path.join(root, "deploy/kubernetes")))
             if f.endswith(".yaml")]
failures = []


def check(ok, what, detail=""):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        print(detail)
        failures.append(what)


def run(*args):
    return subprocess.run(args, capture_output=True, text=True)


# 1. Schema.
r = run(os.path.join(bin_dir, "kubernetes-validate"), "--strict", "--kubernetes-version", "1.37",
        *manifests)
check(r.returncode == 0, "manifests validate against Kubernetes 1.37 (strict)", r.stdout + r.stderr)
with tempfile.TemporaryDirectory() as tmp:
    bad = os.path.join(tmp, "bad.yaml")
    text = open(manifests[-1]).read().replace("replicas:", "replica:", 1)
    open(bad, "w").write(text)
    r = run(os.path.join(bin_dir, "kubernetes-validate"), "--strict", "--kubernetes-version", "1.37", bad)
    check(r.returncode != 0, "a misspelt field is refused by the validator")

# 2. Memory limits.
UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "Ki": 2**10, "Mi": 2**20,
         "Gi": 2**30, "Ti": 2**40, "kB": 10**3, "MB": 10**6, "GB": 10**9, "K": 10**3,
         "M": 10**6, "G": 10**9, "": 1}


def size(s):
    m = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]*)", str(s))
    return int(float(m.group(1)) * UNITS[m.group(2)])


containers = {}
for path in manifests:
    for doc in yaml.safe_load_all(open(path)):
        if doc and doc["kind"] == "Deployment":
            for c in doc["spec"]["template"]["spec"]["containers"]:
                containers[c["name"]] = c
                limit = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--memory-limit=")]
                res = c["resources"]
                if limit:
                    want = size(limit[0])
                    check(size(res["requests"]["memory"]) == want == size(res["limits"]["memory"]),
                          f"{c['name']}: --memory-limit {limit[0]} is its memory request and limit")
check(set(containers) == {"scheduler", "worker"}, "a scheduler and a worker Deployment")

# 3. The image recipe.
containerfile = os.path.join(root, "deploy/Containerfile")
r = run(os.path.join(bin_dir, "hadolint"), containerfile)
check(r.returncode == 0, "the Containerfile lints clean", r.stdout + r.stderr)
with tempfile.TemporaryDirectory() as tmp:
    bad = os.path.join(tmp, "Containerfile")
    open(bad, "w").write(open(containerfile).read().replace("USER 10001:10001", "USER root"))
    r = run(os.path.join(bin_dir, "hadolint"), bad)
    check(r.returncode != 0, "a Containerfile whose user is root does not")


# 4. The command lines, run here.
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def wait_status(port, path, want, seconds=20):
    deadline = time.time() + seconds
    got = None
    while time.time() < deadline:
        got = status(port, path)
        if got == want:
            return got
        time.sleep(0.1)
    return got


with tempfile.TemporaryDirectory() as tmp:
    certs = os.path.join(tmp, "certs")
    check(run(program, "certs", "--out", certs).returncode == 0, "libdask certs makes the Secret's files")
    comm, sched_health, worker_health = free_port(), free_port(), free_port()

    def local(args):
        out = []
        for a in args:
            a = a.replace("/etc/libdask/tls", certs).replace("$(POD_NAME)", "pod-0")
            a = a.replace("tls://libdask-scheduler:8786", f"tls://127.0.0.1:{comm}")
            a = a.replace("--port=8786", f"--port={comm}").replace("--spill-dir=/spill", f"--spill-dir={tmp}")
            out.append(a)
        return out

    sched_args = [a.replace("--health-port=8788", f"--health-port={sched_health}")
                  for a in local(containers["scheduler"]["args"])] + ["--host=127.0.0.1"]
    worker_args = [a.replace("--health-port=8788", f"--health-port={worker_health}")
                   for a in local(containers["worker"]["args"])] + ["--death-timeout=20"]
    logs = open(os.path.join(tmp, "log"), "w")
    sched = subprocess.Popen([program] + sched_args, stderr=logs)
    worker = subprocess.Popen([program] + worker_args, stderr=logs)
    try:
        check(wait_status(sched_health, "/health", 200) == 200, "the scheduler answers /health")
        check(wait_status(sched_health, "/ready", 200) == 200, "the scheduler answers /ready")
        check(wait_status(worker_health, "/ready", 200) == 200, "the worker is ready once connected")
        check(status(worker_health, "/health") == 200, "the worker answers /health")
        check(status(worker_health, "/nothing") == 404, "other paths are 404")
        # A scheduler that dies without a goodbye: the worker waits for it to come back.
        sched.kill()
        sched.wait(10)
        got = wait_status(worker_health, "/ready", 503, 10)
        check(got == 503, f"the worker is not ready while its scheduler is gone ({got})")
        check(status(worker_health, "/health") == 200, "but alive")
    finally:
        for p in (worker, sched):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        logs.close()
        if failures:
            print(open(os.path.join(tmp, "log")).read())

print(f"deploy: {'FAILED: ' + str(len(failures)) if failures else 'all checks passed'}")
sys.exit(1 if failures else 0)
